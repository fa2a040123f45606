// Helpers shared by the v3 and v2 matcher builders: name spellings, argument checks.

#include <algorithm>
#include <array>
#include <re2/re2.h>

#include "core/strings.h"
#include "router/go_regexp.h"
#include "router/matcher_factory.h"

namespace causeway::router::detail {

namespace {

constexpr std::array<std::string_view, 12> kV3Names = {
    "ClientIP",   "Method", "Host",         "HostRegexp", "Path",       "PathRegexp",
    "PathPrefix", "Header", "HeaderRegexp", "Query",      "QueryRegexp", "Model"};
constexpr std::array<std::string_view, 10> kV2Names = {
    "Host",       "HostHeader", "HostRegexp", "ClientIP",      "Path",
    "PathPrefix", "Method",     "Headers",    "HeadersRegexp", "Query"};

std::string titleCase(std::string_view canonical) {
  std::string title = toLower(canonical);
  if (!title.empty()) title[0] = asciiUpper(title[0]);
  return title;
}

// "Host, host, HOST or Host" style list of the accepted spellings, without repeats.
std::string spellings(std::string_view canonical) {
  std::string upper(canonical);
  for (char& c : upper)
    c = asciiUpper(c);
  std::vector<std::string> forms;
  for (const std::string& form :
       {std::string(canonical), toLower(canonical), upper, titleCase(canonical)})
    if (std::find(forms.begin(), forms.end(), form) == forms.end()) forms.push_back(form);
  std::string out;
  for (size_t i = 0; i < forms.size(); ++i) {
    if (i > 0) out += i + 1 == forms.size() ? " or " : ", ";
    out += forms[i];
  }
  return out;
}

template <size_t N>
std::string_view findIgnoringCase(const std::array<std::string_view, N>& names,
                                  std::string_view name) {
  for (auto known : names)
    if (iequals(known, name)) return known;
  return {};
}

} // namespace

bool isMatcherSpelling(std::string_view written, std::string_view canonical) {
  if (written.size() != canonical.size() || written.empty()) return false;
  if (written == canonical) return true;
  bool lower = true;
  bool upper = true;
  bool title = asciiUpper(canonical[0]) == written[0];
  for (size_t i = 0; i < written.size(); ++i) {
    lower = lower && written[i] == asciiLower(canonical[i]);
    upper = upper && written[i] == asciiUpper(canonical[i]);
    if (i > 0) title = title && written[i] == asciiLower(canonical[i]);
  }
  return lower || upper || title;
}

RuleError unknownMatcherMessage(const RuleCall& call, RuleSyntax syntax);

RuleError unknownMatcherError(const RuleCall& call, RuleSyntax syntax) {
  RuleError error = unknownMatcherMessage(call, syntax);
  error.traefik = "unsupported function: " + std::string(call.name);
  return error;
}

RuleError unknownMatcherMessage(const RuleCall& call, RuleSyntax syntax) {
  std::string name(call.name);
  bool v3 = syntax == RuleSyntax::V3;
  std::string_view same = v3 ? findIgnoringCase(kV3Names, name) : findIgnoringCase(kV2Names, name);
  if (!same.empty())
    return {call.nameOffset, "unknown matcher " + name + ": write it " + spellings(same)};
  std::string_view other = v3 ? findIgnoringCase(kV2Names, name) : findIgnoringCase(kV3Names, name);
  if (!other.empty()) {
    if (v3) {
      std::string_view replacement = other == "Headers"         ? "Header"
                                     : other == "HeadersRegexp" ? "HeaderRegexp"
                                                                : "Host";
      return {call.nameOffset, "unknown matcher " + name +
                                   ": it belongs to the deprecated v2 rule syntax; use " +
                                   std::string(replacement) + " (or set ruleSyntax: v2)"};
    }
    return {call.nameOffset,
            "unknown matcher " + name + ": it exists only in the v3 rule syntax (ruleSyntax: v3)"};
  }
  return {call.nameOffset, "unknown matcher " + name};
}

std::optional<RuleError> checkNoEmptyArgument(const RuleCall& call, std::string_view name) {
  for (const auto& arg : call.args)
    if (arg.value.empty()) return RuleError{arg.offset, "empty argument for " + std::string(name)};
  return std::nullopt;
}

std::optional<RuleError> checkAsciiHost(const RuleArgument& arg, std::string_view name) {
  for (char c : arg.value)
    if (uint8_t(c) >= 0x80)
      return RuleError{arg.offset, "non-ASCII characters are not allowed in " + std::string(name) +
                                       ": write the domain in punycode (xn--...)"};
  return std::nullopt;
}

std::optional<RuleError> checkPathArgument(const RuleArgument& arg, std::string_view name) {
  if (!arg.value.starts_with('/'))
    return RuleError{arg.offset, "the path of " + std::string(name) + " must start with '/'"};
  return std::nullopt;
}

std::optional<RuleError> compileRegexArgument(const RuleArgument& arg, std::string_view name,
                                              Matcher& matcher) {
  std::string error;
  matcher.more().regex = compileGoRegex(arg.value, error);
  if (!matcher.extra->regex)
    return RuleError{arg.offset,
                     "invalid regular expression in " + std::string(name) + ": " + error};
  return std::nullopt;
}

std::optional<RuleError> parseClientIpArgument(const RuleArgument& arg, Matcher& matcher) {
  // Go's net.ParseCIDR / net.ParseIP take neither brackets nor zones.
  std::optional<net::IpNetwork> network;
  if (arg.value.find_first_of("[]%") == std::string::npos)
    network = net::IpNetwork::parse(arg.value);
  if (!network)
    return RuleError{arg.offset, "invalid IP address or CIDR in ClientIP: " + arg.value};
  matcher.kind = MatcherKind::ClientIp;
  matcher.more().network = *network;
  return std::nullopt;
}

} // namespace causeway::router::detail
