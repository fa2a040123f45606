// A Go `regexp.Regexp` on RE2 with the methods Traefik's rewrite and redirect middlewares
// call: MatchString, FindString (first match) and ReplaceAllString with Go's template
// expansion ($1, ${1}, $name, ${name}, $$; `$1x` names the group "1x", as in Go).
// Immutable after construction; safe to share between workers.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace re2 {
class RE2;
}

namespace causeway::router {

// Compiles a Go `regexp` pattern (what Traefik's *Regexp matchers and middlewares accept)
// with RE2. Go's syntax is RE2's with one later addition, the `(?<name>...)` group spelling
// (Go 1.22), which is rewritten to RE2's `(?P<name>...)`. Patterns are unanchored unless
// they say otherwise.
// The compiled regex, or nullptr with `error` set to RE2's explanation. Never throws; nothing
// is logged.
std::unique_ptr<const re2::RE2> compileGoRegex(std::string_view pattern, std::string& error);

// Case-insensitive variant (a leading "(?i)"), used for gorilla/mux host templates.
std::unique_ptr<const re2::RE2> compileGoRegexIgnoreCase(std::string_view pattern,
                                                         std::string& error);

// True when the compiled regex finds a match in the empty string.
bool matchesEmpty(const re2::RE2& regex);

class GoRegexp {
 public:
  // nullptr with `error` set when the pattern does not compile.
  static std::unique_ptr<GoRegexp> compile(std::string_view pattern, std::string& error);
  ~GoRegexp();

  bool matchString(std::string_view s) const;
  // The leftmost match, or nullopt.
  std::optional<std::string_view> findString(std::string_view s) const;
  // Replaces every non-overlapping match with `templ` expanded against it.
  std::string replaceAllString(std::string_view src, std::string_view templ) const;

 private:
  explicit GoRegexp(std::unique_ptr<const re2::RE2> re);
  void expand(std::string& out, std::string_view templ,
              const std::vector<std::string_view>& groups) const;

  std::unique_ptr<const re2::RE2> re_;
  std::vector<std::string> names_;  // names_[i]: name of group i ("" when unnamed; [0] = "")
};

}  // namespace causeway::router
