// The static configuration's keys as flags see them, read from the same `describe` lists the
// decoder uses (so a new option is known here without another table):
//  - flagKind(): whether `--a.b.c` alone means "true" (a boolean, or a section enabled with its
//    defaults), takes the next argument as its value, or collects repeated values (a list), as
//    Traefik's flag parser decides from the option's Go type;
//  - listStaticKeys(): every option with its default, for `causeway --help`.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::config {

enum class FlagKind { Unknown, Value, Bool, Section, List };

// The kind of the static option at `path` (case-insensitive names; map entries such as an
// entryPoint name and list indexes take one segment each).
FlagKind flagKind(std::span<const std::string> path);

struct StaticKey {
  std::string flag;          // "--entryPoints.<name>.address"
  std::string defaultValue;  // as the user would write it; empty when there is none
  bool section = false;      // enables a section (its options follow, indented by the printer)
  bool notYet = false;       // accepted, not implemented yet (a warning names it)
};
std::vector<StaticKey> listStaticKeys();

}  // namespace causeway::config
