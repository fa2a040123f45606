#include "router/go_regexp.h"

#include <re2/re2.h>

namespace causeway::router {

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

}  // namespace causeway::router

namespace causeway::router {
namespace {

bool isNameChar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c >= 0x80;
}

// Go's extract(): a group reference after '$'. `num` is -1 for a named reference.
bool extract(std::string_view s, std::string_view& name, int& num, std::string_view& rest) {
  if (s.empty()) return false;
  bool brace = false;
  if (s[0] == '{') {
    brace = true;
    s.remove_prefix(1);
  }
  size_t i = 0;
  while (i < s.size() && isNameChar(static_cast<unsigned char>(s[i])))
    ++i;
  if (i == 0) return false;
  name = s.substr(0, i);
  if (brace) {
    if (i >= s.size() || s[i] != '}') return false;
    ++i;
  }
  num = 0;
  for (char c : name) {
    if (c < '0' || c > '9' || num >= 100000000) {
      num = -1;
      break;
    }
    num = num * 10 + (c - '0');
  }
  if (name[0] == '0' && name.size() > 1) num = -1;
  rest = s.substr(i);
  return true;
}

size_t utf8Width(std::string_view s, size_t pos) {
  if (pos >= s.size()) return 0;
  unsigned char c = static_cast<unsigned char>(s[pos]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
  if (pos + n > s.size()) return 1;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[pos + k]) & 0xC0) != 0x80) return 1;
  return n;
}

}  // namespace

std::unique_ptr<GoRegexp> GoRegexp::compile(std::string_view pattern, std::string& error) {
  auto re = compileGoRegex(pattern, error);
  if (!re) return nullptr;
  return std::unique_ptr<GoRegexp>(new GoRegexp(std::move(re)));
}

GoRegexp::GoRegexp(std::unique_ptr<const re2::RE2> re) : re_(std::move(re)) {
  names_.assign(size_t(re_->NumberOfCapturingGroups()) + 1, std::string());
  for (const auto& [name, index] : re_->NamedCapturingGroups())
    if (index >= 0 && size_t(index) < names_.size()) names_[size_t(index)] = name;
}

GoRegexp::~GoRegexp() = default;

bool GoRegexp::matchString(std::string_view s) const {
  return re_->Match(re2::StringPiece(s.data(), s.size()), 0, s.size(), re2::RE2::UNANCHORED,
                    nullptr, 0);
}

std::optional<std::string_view> GoRegexp::findString(std::string_view s) const {
  re2::StringPiece match;
  if (!re_->Match(re2::StringPiece(s.data(), s.size()), 0, s.size(), re2::RE2::UNANCHORED, &match,
                  1))
    return std::nullopt;
  return std::string_view(match.data(), match.size());
}

void GoRegexp::expand(std::string& out, std::string_view templ,
                      const std::vector<std::string_view>& groups) const {
  while (!templ.empty()) {
    size_t dollar = templ.find('$');
    if (dollar == std::string_view::npos) break;
    out.append(templ.substr(0, dollar));
    templ.remove_prefix(dollar + 1);
    if (!templ.empty() && templ[0] == '$') {
      out += '$';
      templ.remove_prefix(1);
      continue;
    }
    std::string_view name, rest;
    int num = -1;
    if (!extract(templ, name, num, rest)) {
      out += '$';  // malformed: the '$' is literal text
      continue;
    }
    templ = rest;
    if (num >= 0) {
      if (size_t(num) < groups.size() && groups[size_t(num)].data())
        out.append(groups[size_t(num)]);
    } else {
      for (size_t i = 0; i < names_.size(); ++i) {
        if (!names_[i].empty() && names_[i] == name && i < groups.size() && groups[i].data()) {
          out.append(groups[i]);
          break;
        }
      }
    }
  }
  out.append(templ);
}

std::string GoRegexp::replaceAllString(std::string_view src, std::string_view templ) const {
  std::string out;
  size_t ngroups = names_.size();
  std::vector<re2::StringPiece> pieces(ngroups);
  std::vector<std::string_view> groups(ngroups);
  re2::StringPiece text(src.data(), src.size());
  size_t lastMatchEnd = 0;
  size_t searchPos = 0;
  while (searchPos <= src.size()) {
    if (!re_->Match(text, searchPos, src.size(), re2::RE2::UNANCHORED, pieces.data(), int(ngroups)))
      break;
    size_t a0 = size_t(pieces[0].data() - src.data());
    size_t a1 = a0 + pieces[0].size();
    out.append(src.substr(lastMatchEnd, a0 - lastMatchEnd));
    // No replacement for an empty match right after the previous match.
    if (a1 > lastMatchEnd || a0 == 0) {
      for (size_t i = 0; i < ngroups; ++i)
        groups[i] = pieces[i].data() ? std::string_view(pieces[i].data(), pieces[i].size())
                                     : std::string_view();
      expand(out, templ, groups);
    }
    lastMatchEnd = a1;
    size_t width = utf8Width(src, searchPos);
    if (searchPos + width > a1)
      searchPos += width;
    else if (searchPos + 1 > a1)
      searchPos += 1;
    else
      searchPos = a1;
  }
  out.append(src.substr(lastMatchEnd));
  return out;
}

}  // namespace causeway::router
