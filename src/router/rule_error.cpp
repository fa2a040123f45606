// RuleError::describe() and parseRuleSyntax().

#include <algorithm>

#include "core/strings.h"
#include "router/rule.h"

namespace causeway::router {

std::optional<RuleSyntax> parseRuleSyntax(std::string_view text) {
  if (iequals(text, "v3")) return RuleSyntax::V3;
  if (iequals(text, "v2")) return RuleSyntax::V2;
  return std::nullopt;
}

std::string RuleError::describe(std::string_view rule) const {
  size_t at = std::min(offset, rule.size());
  size_t newline = rule.substr(0, at).rfind('\n');
  size_t lineStart = newline == std::string_view::npos ? 0 : newline + 1;
  size_t lineEnd = rule.find('\n', at);
  std::string_view line = rule.substr(
      lineStart, lineEnd == std::string_view::npos ? std::string_view::npos : lineEnd - lineStart);
  if (line.ends_with('\r')) line.remove_suffix(1);
  size_t lineNumber = size_t(std::count(rule.begin(), rule.begin() + long(at), '\n')) + 1;
  bool multiLine = rule.find('\n') != std::string_view::npos;

  std::string out = message;
  out += " (at offset " + std::to_string(offset);
  if (multiLine)
    out +=
        ", line " + std::to_string(lineNumber) + ", column " + std::to_string(at - lineStart + 1);
  out += ")\n  ";
  out += line;
  out += "\n  ";
  // Keep tabs so the caret lines up; count a UTF-8 sequence as one column.
  for (size_t i = lineStart; i < at && i - lineStart < line.size(); ++i) {
    char c = rule[i];
    if ((uint8_t(c) & 0xC0) == 0x80) continue;
    out.push_back(c == '\t' ? '\t' : ' ');
  }
  out += "^";
  return out;
}

std::string RuleError::routerError(std::string_view rule) const {
  std::string out = "invalid rule: ";
  if (!traefik.empty()) {
    out += matcher.empty() ? "error while parsing rule " + std::string(rule) : "error while adding rule " + matcher;
    out += ": " + traefik + "; ";
  }
  return out + describe(rule);
}

} // namespace causeway::router
