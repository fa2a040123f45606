// The TCP router matchers (Traefik pkg/muxer/tcp/matcher.go; reference §3.5, docs/tcp-udp.md):
// HostSNI, HostSNIRegexp, ClientIP and ALPN, looked up in MatchInput::host (the SNI),
// clientIp and alpn. v3 takes one argument each; the deprecated v2 syntax takes several,
// compiled as an Or of single-value leaves.

#include <array>
#include <re2/re2.h>

#include "core/strings.h"
#include "router/rule_parser.h"
#include "router/matcher_factory.h"

namespace causeway::router::detail {

namespace {

using BuildResult = std::variant<uint32_t, RuleError>;

// Traefik accepts letters, digits, '.', '-' and a leading "*." (one-label wildcard).
bool validSniArgument(std::string_view host) {
  if (host.starts_with("*.")) host.remove_prefix(2);
  if (host.empty()) return false;
  for (char c : host)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_')) return false;
  return true;
}

BuildResult buildHostSni(const RuleArgument& arg, MatcherSink sink) {
  std::string host = toLower(arg.value);
  if (host.ends_with('.') && host.size() > 1) host.pop_back();
  sink.hosts.push_back(host);
  Matcher m;
  if (host == "*") return sink.program.addLeaf(std::move(m));  // Always: any SNI, or none
  if (!validSniArgument(host))
    return RuleError{arg.offset, "invalid value for HostSNI matcher, \"" + arg.value + "\" is not a valid hostname"};
  if (host.starts_with('*')) {
    m.kind = MatcherKind::HostWildcard;
    m.value = host.substr(1);
  } else {
    m.kind = MatcherKind::HostExact;
    m.value = std::move(host);
  }
  return sink.program.addLeaf(std::move(m));
}

BuildResult buildHostSniRegexp(const RuleArgument& arg, MatcherSink sink) {
  Matcher m;
  if (auto error = compileRegexArgument(arg, "HostSNIRegexp", m)) return *error;
  m.kind = MatcherKind::HostPattern;
  return sink.program.addLeaf(std::move(m));
}

BuildResult buildClientIp(const RuleArgument& arg, MatcherSink sink) {
  Matcher m;
  if (auto error = parseClientIpArgument(arg, m)) return *error;
  return sink.program.addLeaf(std::move(m));
}

BuildResult buildAlpn(const RuleArgument& arg, MatcherSink sink) {
  // The TLS-ALPN-01 challenge protocol belongs to the ACME client (Traefik refuses it too).
  if (arg.value == "acme-tls/1")
    return RuleError{arg.offset, "invalid protocol value for ALPN matcher, \"acme-tls/1\" is not allowed"};
  Matcher m;
  m.kind = MatcherKind::Alpn;
  m.value = arg.value;
  return sink.program.addLeaf(std::move(m));
}

struct Spec {
  std::string_view name;
  BuildResult (*build)(const RuleArgument&, MatcherSink);
};

constexpr std::array<Spec, 4> kSpecs = {{
    {"HostSNI", buildHostSni},
    {"HostSNIRegexp", buildHostSniRegexp},
    {"ClientIP", buildClientIp},
    {"ALPN", buildAlpn},
}};

}  // namespace

std::variant<uint32_t, RuleError> buildMatcherTcp(const RuleCall& call, MatcherSink sink, RuleSyntax syntax) {
  for (const Spec& spec : kSpecs) {
    if (!isMatcherSpelling(call.name, spec.name)) continue;
    size_t count = call.args.size();
    bool several = syntax == RuleSyntax::V2;
    if (count == 0 || (!several && count > 1)) {
      size_t offset = count > 1 ? call.args[1].offset : call.closeOffset;
      RuleError error{offset, std::string(spec.name) + " expects 1 argument, got " + std::to_string(count)};
      error.traefik = "unexpected number of parameters; got " + std::to_string(count) + ", expected one of [1]";
      error.matcher = spec.name;
      return error;
    }
    if (auto error = checkNoEmptyArgument(call, spec.name)) return *error;
    std::vector<uint32_t> leaves;
    for (const RuleArgument& arg : call.args) {
      auto built = spec.build(arg, sink);
      if (std::holds_alternative<RuleError>(built)) return built;
      leaves.push_back(std::get<uint32_t>(built));
    }
    return sink.program.addList(Op::Or, leaves);
  }
  std::string known;
  for (const Spec& spec : kSpecs) known += (known.empty() ? "" : ", ") + std::string(spec.name);
  RuleError error{call.nameOffset, "unknown TCP matcher " + std::string(call.name) + "; expected one of " + known};
  error.traefik = "unsupported function: " + std::string(call.name);
  return error;
}

}  // namespace causeway::router::detail
