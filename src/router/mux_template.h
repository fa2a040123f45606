// gorilla/mux route templates, as Traefik's deprecated v2 rule syntax uses them in Host /
// HostRegexp, Path, PathPrefix and Query: literal text with `{name}` or `{name:regex}`
// placeholders. A template becomes one anchored regex, exactly as gorilla/mux builds it:
// literal text quoted, `{name}` = `[^.]+` in hosts, `[^/]+` in paths, `.*` in queries.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::router::detail {

enum class MuxTemplateKind {
  Host,       // case-insensitive, anchored at both ends
  Path,       // anchored at both ends
  PathPrefix, // anchored at the start only
  Query,      // "key=value" template, anchored at both ends; an empty value matches any
};

struct MuxTemplate {
  std::string pattern;                // RE2 pattern
  std::vector<std::string> variables; // placeholder names, in order
};

// True when `tpl` holds a '{' or '}' (so it is more than literal text).
bool hasMuxPlaceholders(std::string_view tpl);

// The regex for `tpl`, or std::nullopt with `error` set (unbalanced braces, a placeholder
// with an empty name or pattern). The pattern itself is not compiled here.
std::optional<MuxTemplate> buildMuxTemplate(std::string_view tpl, MuxTemplateKind kind,
                                            std::string& error);

} // namespace causeway::router::detail
