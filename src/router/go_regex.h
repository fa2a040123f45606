// Compiles a Go `regexp` pattern (what Traefik's *Regexp matchers accept) with RE2. Go's syntax
// is RE2's with one later addition, the `(?<name>...)` group spelling (Go 1.22), which is
// rewritten to RE2's `(?P<name>...)`. Patterns are unanchored unless they say otherwise.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace re2 {
class RE2;
}

namespace causeway::router::detail {

// The compiled regex, or nullptr with `error` set to RE2's explanation. Never throws; nothing
// is logged.
std::unique_ptr<const re2::RE2> compileGoRegex(std::string_view pattern, std::string& error);

// Case-insensitive variant (a leading "(?i)"), used for gorilla/mux host templates.
std::unique_ptr<const re2::RE2> compileGoRegexIgnoreCase(std::string_view pattern,
                                                         std::string& error);

// True when the compiled regex finds a match in the empty string.
bool matchesEmpty(const re2::RE2& regex);

} // namespace causeway::router::detail
