// Turns one parsed matcher call into leaves of a Program, per rule syntax. v3 matchers
// (pkg/muxer/http/matcher.go) take fixed argument counts; v2 matchers (matcher_v2.go) take
// several values, compiled as an Or (or, for key/value pairs, an And) of single-value leaves.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "router/rule.h"
#include "router/rule_parser.h"
#include "router/rule_program.h"

namespace causeway::router::detail {

// Where a matcher call's leaves go. `hosts` collects literal Host() arguments (see
// CompiledRule::hosts()).
struct MatcherSink {
  Program& program;
  std::vector<std::string>& hosts;
};

// The node index of the call's compiled form, or an error pointing into the rule.
std::variant<uint32_t, RuleError> buildMatcherV3(const RuleCall& call, MatcherSink sink);
std::variant<uint32_t, RuleError> buildMatcherV2(const RuleCall& call, MatcherSink sink);
// TCP routers' matchers (matcher_tcp.cpp); v2 takes several values per call.
std::variant<uint32_t, RuleError> buildMatcherTcp(const RuleCall& call, MatcherSink sink, RuleSyntax syntax);

// True when `written` is one of the spellings Traefik accepts for `canonical`: exact, lower,
// UPPER, or Title (first letter upper, the rest lower).
bool isMatcherSpelling(std::string_view written, std::string_view canonical);

// The error for a call whose name is no matcher of `syntax`, with a hint when the name is a
// matcher of the other syntax or differs only in case. `known` lists `syntax`'s matchers.
RuleError unknownMatcherError(const RuleCall& call, RuleSyntax syntax);

// Checks shared by both syntaxes.
std::optional<RuleError> checkNoEmptyArgument(const RuleCall& call, std::string_view name);
std::optional<RuleError> checkAsciiHost(const RuleArgument& arg, std::string_view name);
std::optional<RuleError> checkPathArgument(const RuleArgument& arg, std::string_view name);
// Compiles a regex argument into `matcher.regex`, or returns the error.
std::optional<RuleError> compileRegexArgument(const RuleArgument& arg, std::string_view name,
                                              Matcher& matcher);
// Parses a ClientIP argument (IPv4/IPv6 address or CIDR, as Go's net.ParseCIDR/ParseIP).
std::optional<RuleError> parseClientIpArgument(const RuleArgument& arg, Matcher& matcher);

} // namespace causeway::router::detail
