#include "router/go_regex.h"

#include <re2/re2.h>

namespace causeway::router::detail {

namespace {

// Rewrites "(?<name>" to "(?P<name>" outside character classes and \Q...\E quotes.
std::string rewriteNamedGroups(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 8);
  bool inClass = false;
  size_t i = 0;
  while (i < pattern.size()) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      if (pattern[i + 1] == 'Q') {
        size_t end = pattern.find("\\E", i + 2);
        size_t stop = end == std::string_view::npos ? pattern.size() : end + 2;
        out.append(pattern.substr(i, stop - i));
        i = stop;
        continue;
      }
      out.append(pattern.substr(i, 2));
      i += 2;
      continue;
    }
    if (inClass) {
      if (c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {
        size_t end = pattern.find(":]", i + 2);
        if (end != std::string_view::npos) {
          out.append(pattern.substr(i, end + 2 - i));
          i = end + 2;
          continue;
        }
      }
      if (c == ']') inClass = false;
      out.push_back(c);
      ++i;
      continue;
    }
    if (c == '[') {
      inClass = true;
      out.push_back(c);
      ++i;
      // A ']' right after '[' or '[^' is a literal member of the class.
      if (i < pattern.size() && pattern[i] == '^') out.push_back(pattern[i++]);
      if (i < pattern.size() && pattern[i] == ']') out.push_back(pattern[i++]);
      continue;
    }
    if (pattern.substr(i, 3) == "(?<" && i + 3 < pattern.size() && pattern[i + 3] != '=' &&
        pattern[i + 3] != '!') {
      out.append("(?P<");
      i += 3;
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

std::unique_ptr<const re2::RE2> compile(const std::string& pattern, std::string& error) {
  RE2::Options options;
  options.set_log_errors(false);
  auto regex = std::make_unique<const re2::RE2>(pattern, options);
  if (!regex->ok()) {
    error = regex->error();
    return nullptr;
  }
  return regex;
}

} // namespace

std::unique_ptr<const re2::RE2> compileGoRegex(std::string_view pattern, std::string& error) {
  return compile(rewriteNamedGroups(pattern), error);
}

std::unique_ptr<const re2::RE2> compileGoRegexIgnoreCase(std::string_view pattern,
                                                         std::string& error) {
  return compile("(?i)" + rewriteNamedGroups(pattern), error);
}

bool matchesEmpty(const re2::RE2& regex) {
  return re2::RE2::PartialMatch(re2::StringPiece(), regex);
}

} // namespace causeway::router::detail
