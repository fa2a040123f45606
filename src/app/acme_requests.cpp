#include "app/acme_requests.h"

#include <algorithm>

#include "config/dynamic_config.h"
#include "router/rule.h"

namespace causeway::app {
namespace {

// A wildcard only as a leading "*." (ordered with DNS-01); "*" alone (HostSNI's catch-all)
// names nothing.
void addNames(std::vector<std::string>& out, const std::vector<std::string>& names) {
  for (const std::string& name : names)
    if (!name.empty() && name.find('*', name.starts_with("*.") ? 1 : 0) == std::string::npos &&
        std::find(out.begin(), out.end(), name) == out.end())
      out.push_back(name);
}

void addRequests(std::vector<provider::CertificateRequest>& out, const std::string& resolver,
                 const std::vector<config::Domain>& domains, const std::vector<std::string>& ruleHosts) {
  if (resolver.empty()) return;
  if (!domains.empty()) {
    for (const config::Domain& domain : domains) {
      provider::CertificateRequest request{resolver, {}};
      addNames(request.names, {domain.main});
      addNames(request.names, domain.sans);
      if (!request.names.empty()) out.push_back(std::move(request));
    }
    return;
  }
  provider::CertificateRequest request{resolver, {}};
  addNames(request.names, ruleHosts);
  if (!request.names.empty()) out.push_back(std::move(request));
}

std::vector<std::string> hostsOf(const std::string& rule, const std::string& ruleSyntax, bool tcp) {
  router::RuleSyntax syntax = router::parseRuleSyntax(ruleSyntax).value_or(router::RuleSyntax::V3);
  auto compiled = tcp ? router::compileTcpRule(rule, syntax) : router::compileRule(rule, syntax);
  if (auto* ok = std::get_if<router::CompiledRulePtr>(&compiled)) return (*ok)->hosts();
  return {};
}

}  // namespace

std::vector<provider::CertificateRequest> certificateRequests(const runtime::Snapshot& snapshot,
                                                              const config::StaticConfig& config) {
  std::vector<provider::CertificateRequest> out;
  for (const auto& [provider, dynamic] : snapshot.configs) {
    if (!dynamic) continue;
    for (const auto& [name, element] : dynamic->http.routers) {
      if (!element.ok()) continue;
      const config::Router& r = element.value;
      std::string resolver = r.tls ? r.tls->certResolver : std::string();
      std::vector<config::Domain> domains = r.tls ? r.tls->domains : std::vector<config::Domain>();
      if (resolver.empty()) {
        // The entryPoints' http.tls defaults (the router's own, else every default one).
        for (const auto& [epName, ep] : config.entryPoints) {
          bool listed = r.entryPoints.empty() ||
                        std::find(r.entryPoints.begin(), r.entryPoints.end(), epName) != r.entryPoints.end();
          if (!listed || !ep.http.tls || ep.http.tls->certResolver.empty()) continue;
          resolver = ep.http.tls->certResolver;
          if (domains.empty()) domains = ep.http.tls->domains;
          break;
        }
      }
      if (resolver.empty()) continue;
      const std::string syntax = r.ruleSyntax.value_or(config.core.defaultRuleSyntax);
      addRequests(out, resolver, domains,
                  domains.empty() ? hostsOf(r.rule, syntax, false) : std::vector<std::string>());
    }
    for (const auto& [name, element] : dynamic->tcp.routers) {
      if (!element.ok()) continue;
      const config::TcpRouter& r = element.value;
      if (!r.tls || r.tls->passthrough || r.tls->certResolver.empty()) continue;
      const std::string syntax = r.ruleSyntax.value_or(config.core.defaultRuleSyntax);
      addRequests(out, r.tls->certResolver, r.tls->domains,
                  r.tls->domains.empty() ? hostsOf(r.rule, syntax, true) : std::vector<std::string>());
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace causeway::app
