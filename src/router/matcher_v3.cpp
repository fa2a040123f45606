// The v3 matchers (Traefik pkg/muxer/http/matcher.go): fixed argument counts, Go regexps.

#include <algorithm>
#include <array>
#include <re2/re2.h>

#include "core/strings.h"
#include "router/go_regexp.h"
#include "router/matcher_factory.h"

namespace causeway::router::detail {

namespace {

using BuildResult = std::variant<uint32_t, RuleError>;

BuildResult leaf(MatcherSink sink, Matcher matcher) {
  return sink.program.addLeaf(std::move(matcher));
}

BuildResult buildHost(const RuleCall& call, MatcherSink sink) {
  const RuleArgument& arg = call.args[0];
  Matcher m;
  // Hosts are recorded as matched: lower case, without a trailing dot (the TLS options bound
  // to them are looked up by SNI and Host, which never carry one; docs/security.md, T08).
  std::string expression = toLower(arg.value);
  if (expression.ends_with('.')) expression.pop_back();
  sink.hosts.push_back(expression);
  if (arg.value == "*") return leaf(sink, std::move(m)); // Always: every host, even none
  if (auto error = checkAsciiHost(arg, "Host")) return *error;
  if (expression.starts_with('*')) {
    // One-label wildcard: "*.example.com" matches "a.example.com" only.
    m.kind = MatcherKind::HostWildcard;
    m.value = expression.substr(1);
  } else {
    m.kind = MatcherKind::HostExact;
    m.value = std::move(expression);
  }
  return leaf(sink, std::move(m));
}

BuildResult buildHostRegexp(const RuleCall& call, MatcherSink sink) {
  const RuleArgument& arg = call.args[0];
  if (auto error = checkAsciiHost(arg, "HostRegexp")) return *error;
  Matcher m;
  if (auto error = compileRegexArgument(arg, "HostRegexp", m)) return *error;
  // Traefik also tests the regexp against the CNAME-flattened host, which is "" unless CNAME
  // flattening is on; so a regexp that matches the empty string matches every request.
  if (matchesEmpty(m.regex())) return leaf(sink, Matcher());
  m.kind = MatcherKind::HostPattern;
  return leaf(sink, std::move(m));
}

BuildResult buildPath(const RuleCall& call, MatcherSink sink, MatcherKind kind,
                      std::string_view name) {
  if (auto error = checkPathArgument(call.args[0], name)) return *error;
  Matcher m;
  m.kind = kind;
  m.value = call.args[0].value;
  return leaf(sink, std::move(m));
}

BuildResult buildExactPath(const RuleCall& call, MatcherSink sink) {
  return buildPath(call, sink, MatcherKind::Path, "Path");
}

BuildResult buildPathPrefix(const RuleCall& call, MatcherSink sink) {
  return buildPath(call, sink, MatcherKind::PathPrefix, "PathPrefix");
}

BuildResult buildPathRegexp(const RuleCall& call, MatcherSink sink) {
  Matcher m;
  if (auto error = compileRegexArgument(call.args[0], "PathRegexp", m)) return *error;
  m.kind = MatcherKind::PathPattern;
  return leaf(sink, std::move(m));
}

BuildResult buildMethod(const RuleCall& call, MatcherSink sink) {
  Matcher m;
  m.kind = MatcherKind::Method;
  m.value = call.args[0].value;
  for (char& c : m.value)
    c = asciiUpper(c);
  return leaf(sink, std::move(m));
}

BuildResult buildHeader(const RuleCall& call, MatcherSink sink) {
  Matcher m;
  m.kind = MatcherKind::Header;
  m.more().key = call.args[0].value;
  m.value = call.args[1].value;
  return leaf(sink, std::move(m));
}

BuildResult buildHeaderRegexp(const RuleCall& call, MatcherSink sink) {
  Matcher m;
  if (auto error = compileRegexArgument(call.args[1], "HeaderRegexp", m)) return *error;
  m.kind = MatcherKind::HeaderPattern;
  m.more().key = call.args[0].value;
  return leaf(sink, std::move(m));
}

// Query(`k`) means: k present with an empty value (`?k` or `?k=`).
BuildResult buildQuery(const RuleCall& call, MatcherSink sink) {
  Matcher m;
  m.kind = MatcherKind::Query;
  m.more().key = call.args[0].value;
  if (call.args.size() == 2) m.value = call.args[1].value;
  return leaf(sink, std::move(m));
}

BuildResult buildQueryRegexp(const RuleCall& call, MatcherSink sink) {
  if (call.args.size() == 1) return buildQuery(call, sink);
  Matcher m;
  if (auto error = compileRegexArgument(call.args[1], "QueryRegexp", m)) return *error;
  m.kind = MatcherKind::QueryPattern;
  m.more().key = call.args[0].value;
  return leaf(sink, std::move(m));
}

BuildResult buildClientIp(const RuleCall& call, MatcherSink sink) {
  Matcher m;
  if (auto error = parseClientIpArgument(call.args[0], m)) return *error;
  return leaf(sink, std::move(m));
}

// Model(`pattern`): the AI gateway's matcher on the JSON body's "model" ('*' globs).
BuildResult buildModel(const RuleCall& call, MatcherSink sink) {
  Matcher m;
  m.kind = MatcherKind::Model;
  m.value = call.args[0].value;
  if (m.value.empty()) return RuleError{call.args[0].offset, "empty model pattern in Model"};
  return leaf(sink, std::move(m));
}

struct Spec {
  std::string_view name;
  size_t minArgs;
  size_t maxArgs;
  BuildResult (*build)(const RuleCall&, MatcherSink);
};

constexpr std::array<Spec, 12> kSpecs = {{
    {"Host", 1, 1, buildHost},
    {"HostRegexp", 1, 1, buildHostRegexp},
    {"Path", 1, 1, buildExactPath},
    {"PathPrefix", 1, 1, buildPathPrefix},
    {"PathRegexp", 1, 1, buildPathRegexp},
    {"Method", 1, 1, buildMethod},
    {"Header", 2, 2, buildHeader},
    {"HeaderRegexp", 2, 2, buildHeaderRegexp},
    {"Query", 1, 2, buildQuery},
    {"QueryRegexp", 1, 2, buildQueryRegexp},
    {"ClientIP", 1, 1, buildClientIp},
    {"Model", 1, 1, buildModel},
}};

std::string expectedCount(const Spec& spec) {
  std::string count = std::to_string(spec.minArgs);
  if (spec.maxArgs != spec.minArgs) count += " or " + std::to_string(spec.maxArgs);
  return count + (spec.maxArgs == 1 ? " argument" : " arguments");
}

} // namespace

std::variant<uint32_t, RuleError> buildMatcherV3(const RuleCall& call, MatcherSink sink) {
  for (const Spec& spec : kSpecs) {
    if (!isMatcherSpelling(call.name, spec.name)) continue;
    size_t count = call.args.size();
    if (count < spec.minArgs || count > spec.maxArgs) {
      size_t offset = count > spec.maxArgs ? call.args[spec.maxArgs].offset : call.closeOffset;
      RuleError error{offset, std::string(spec.name) + " expects " + expectedCount(spec) + ", got " +
                                  std::to_string(count)};
      std::string allowed;
      for (size_t n = spec.minArgs; n <= spec.maxArgs; ++n) allowed += (allowed.empty() ? "" : " ") + std::to_string(n);
      error.traefik = "unexpected number of parameters; got " + std::to_string(count) + ", expected one of [" + allowed + "]";
      error.matcher = spec.name;
      return error;
    }
    if (auto error = checkNoEmptyArgument(call, spec.name)) return *error;
    return spec.build(call, sink);
  }
  return unknownMatcherError(call, RuleSyntax::V3);
}

} // namespace causeway::router::detail
