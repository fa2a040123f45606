// Where a configuration value came from, and what was wrong with it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::config {

// The origin of a value. Every node of the generic tree carries one; copying is cheap (the
// source name is shared by all nodes of one file).
struct Location {
  // File path, or "command line --log.level", or "environment TRAEFIK_LOG_LEVEL" (a flag's or
  // variable's name is part of its source); null when unknown (e.g. built in code).
  std::shared_ptr<const std::string> source;
  int line = 0, column = 0; // 1-based; 0 when the source has no lines.

  bool known() const { return source != nullptr; }
  // "conf/dyn.yml:12:5", "conf/dyn.yml:12", "command line --log.level",
  // "environment TRAEFIK_LOG_LEVEL", or "" when unknown.
  std::string toString() const;
};

// Convenience for building locations: the shared source name.
std::shared_ptr<const std::string> sourceName(std::string name);

struct ConfigError {
  Location location;
  std::string element; // dotted path of the element at fault, e.g. "http.routers.api"
  std::string message; // what was wrong and what was expected
  bool warning = false;
  // A warning about something Traefik supports and causeway ignores for now: `causeway check`
  // exits with a distinct status when one is present (docs/compatibility.md).
  bool unsupported = false;

  // "conf/dyn.yml:12:5: http.routers.api: unknown key 'rul'; expected one of: rule, ..."
  // Empty parts are left out. The severity is not included: printers prefix it themselves.
  std::string toString() const;
};

// True when `errors` holds at least one entry that is not a warning.
bool hasErrors(const std::vector<ConfigError>& errors);

// The expected name closest to `key` (case-insensitive edit distance of at most a third of its
// length, and 2 at most), for "did you mean" hints; empty when none is close.
std::string_view closestName(std::string_view key, const std::vector<std::string_view>& expected);

} // namespace causeway::config
