// The tcp section of a snapshot (docs/tcp-udp.md): serversTransports, middlewares, services
// and routers, each with its runtime state (runtime_.tcp*), in the order they depend on
// each other. Runs after the HTTP routers, before the TLS hosts are bound (terminated TCP
// routers bind their HostSNI domains to their TLS options as HTTPS routers bind their hosts).
#include <algorithm>

#include "control/snapshot_build.h"
#include "service/tcp_service.h"
#include "tls/tls_stream.h"
#include "upstream/health/registry.h"

namespace causeway::control {

namespace {

std::string firstError(const std::vector<config::ConfigError>& errors) {
  for (const auto& e : errors)
    if (!e.warning) return e.toString();
  return {};
}

// A tcp serversTransport (or the static tcpServersTransport) as the dialer uses it.
std::shared_ptr<upstream::TcpTransport> tcpTransportFrom(std::string name, const config::TcpServersTransport& t,
                                                        std::string& error) {
  auto out = std::make_shared<upstream::TcpTransport>();
  out->name = std::move(name);
  out->dialTimeout = t.dialTimeout.value;
  out->dialKeepAlive = t.dialKeepAlive.value;
  out->terminationDelay = t.terminationDelay.value;
  if (t.proxyProtocol) out->proxyProtocolVersion = t.proxyProtocol->version;
  if (t.tls) {
    std::vector<std::pair<std::string, std::string>> pairs;
    for (const auto& c : t.tls->certificates) pairs.emplace_back(c.certFile, c.keyFile);
    if (t.tls->rootCAs.empty() && pairs.empty()) {
      out->tls.sharedDefault = true;
    } else {
      out->tls.context = tls::makeClientContext(t.tls->rootCAs, pairs, "", "", {}, error);
      if (!out->tls.context) return nullptr;
    }
    out->tls.serverName = t.tls->serverName;
    out->tls.verify = !t.tls->insecureSkipVerify;
  } else {
    out->tls.sharedDefault = true;
  }
  return out;
}

}  // namespace

void SnapshotBuild::buildTcp() {
  buildTcpTransports();
  buildTcpMiddlewares();
  buildTcpServices();
  buildTcpRouters();
}

void SnapshotBuild::buildTcpTransports() {
  std::string error;
  config::TcpServersTransport defaults;
  if (in_.staticConfig->tcpServersTransport) defaults = *in_.staticConfig->tcpServersTransport;
  if (auto t = tcpTransportFrom("default@internal", defaults, error)) tcpTransports_["default@internal"] = std::move(t);
  else runtime_.globalErrors.push_back("tcpServersTransport: " + error);
  for (const auto& [provider, config] : in_.providers) {
    for (const auto& [name, element] : config->tcp.serversTransports) {
      std::string qualified = qualify(name, provider);
      if (!element.ok()) {
        tcpTransportErrors_[qualified] = firstError(element.errors);
        continue;
      }
      error.clear();
      if (auto t = tcpTransportFrom(qualified, element.value, error)) tcpTransports_[qualified] = std::move(t);
      else tcpTransportErrors_[qualified] = locationPrefix(element.location) + error;
    }
  }
}

void SnapshotBuild::buildTcpMiddlewares() {
  const auto& registry = exchange::TcpMiddlewareRegistry::instance();
  for (const auto& [provider, config] : in_.providers) {
    for (const auto& [name, element] : config->tcp.middlewares) {
      std::string qualified = qualify(name, provider);
      runtime::MiddlewareState& state = runtime_.tcpMiddlewares[qualified];
      state.provider = provider;
      state.type = element.value.typeName();
      for (const auto& e : element.errors) state.addError(e.toString(), !e.warning);
      if (!element.ok()) continue;
      const exchange::TcpMiddlewareCreator* creator = registry.find(state.type);
      if (!creator) {
        state.addError(locationPrefix(element.location) + "unknown TCP middleware type " + state.type);
        continue;
      }
      std::string error;
      exchange::TcpMiddlewareFactoryPtr factory = (*creator)(element.value, error);
      if (!factory) {
        state.addError(locationPrefix(element.location) + state.type + ": " + error);
        continue;
      }
      tcpMiddlewares_[qualified] = std::move(factory);
    }
  }
}

void SnapshotBuild::buildTcpServices() {
  // Load balancers first; weighted services then resolve their children (in any order,
  // nested, with loops reported).
  std::map<std::string, std::pair<std::string, const config::Element<config::TcpService>*>> weighted;
  for (const auto& [provider, config] : in_.providers) {
    for (const auto& [name, element] : config->tcp.services) {
      std::string qualified = qualify(name, provider);
      runtime::ServiceState& state = runtime_.tcpServices[qualified];
      state.provider = provider;
      for (const auto& e : element.errors) state.addError(e.toString(), !e.warning);
      if (!element.ok()) continue;
      std::string where = locationPrefix(element.location);
      if (element.value.weighted) {
        state.type = "weighted";
        weighted[qualified] = {provider, &element};
        continue;
      }
      const config::TcpLoadBalancer& lb = *element.value.loadBalancer;
      state.type = "loadbalancer";
      std::string transportName =
          lb.serversTransport.empty() ? "default@internal" : qualify(lb.serversTransport, provider);
      auto transport = tcpTransports_.find(transportName);
      if (transport == tcpTransports_.end()) {
        auto failed = tcpTransportErrors_.find(transportName);
        state.addError(where + (failed != tcpTransportErrors_.end()
                                    ? "the serversTransport \"" + transportName + "\" has errors: " + failed->second
                                    : "TCP serversTransport \"" + transportName + "\" not found"));
        continue;
      }
      std::shared_ptr<const upstream::TcpTransport> chosen = transport->second;
      // The deprecated loadBalancer options override the transport's, as in Traefik.
      if (lb.proxyProtocol || lb.terminationDelay) {
        auto copy = std::make_shared<upstream::TcpTransport>(*chosen);
        if (lb.proxyProtocol) copy->proxyProtocolVersion = lb.proxyProtocol->version;
        if (lb.terminationDelay) copy->terminationDelay = std::chrono::milliseconds(*lb.terminationDelay);
        chosen = std::move(copy);
      }
      std::vector<service::TcpServerTarget> servers;
      bool ok = true;
      for (const auto& server : lb.servers) {
        service::TcpServerTarget target;
        std::string error;
        if (!upstream::parseServerAddress(server.address, target.address, error)) {
          state.addError(where + error);
          ok = false;
          break;
        }
        target.address.tls = server.tls;
        target.weight = server.weight.value_or(1);
        if (in_.health) {
          // Live status (the health check's, UP without one), shown by the API.
          target.health = in_.health->server(qualified, server.address);
          state.servers.push_back(target.health);
          std::optional<upstream::ProbeConfig> probe;
          if (lb.healthCheck) {
            probe.emplace();
            probe->tcp = true;
            probe->url = server.address;
            probe->tcpServer = target.address;
            if (lb.healthCheck->port > 0) {
              probe->tcpServer.port = uint16_t(lb.healthCheck->port);
              if (probe->tcpServer.resolved) probe->tcpServer.resolved->port(probe->tcpServer.port);
            }
            probe->send = lb.healthCheck->send;
            probe->expect = lb.healthCheck->expect;
            probe->timeout = lb.healthCheck->timeout.value;
            probe->interval = lb.healthCheck->interval.value;
            probe->unhealthyInterval = lb.healthCheck->unhealthyInterval.value_or(lb.healthCheck->interval).value;
            probe->tcpTransport = chosen;
          }
          in_.health->setActiveCheck(qualified, server.address, std::move(probe));
        } else {
          state.serverStatus[server.address] = "UP";
        }
        servers.push_back(std::move(target));
      }
      if (!ok) continue;
      tcpServices_[qualified] = std::make_shared<service::TcpLoadBalancer>(qualified, std::move(servers), chosen);
    }
  }
  resolveWeighted(tcpServices_, weighted, runtime_.tcpServices,
                  [](std::vector<exchange::TcpHandlerPtr> children, const std::vector<int>& weights) -> exchange::TcpHandlerPtr {
                    return std::make_shared<service::TcpWeighted>(std::move(children), weights);
                  });
}

void SnapshotBuild::buildTcpRouters() {
  router::RuleSyntax defaultSyntax =
      router::parseRuleSyntax(in_.staticConfig->core.defaultRuleSyntax).value_or(router::RuleSyntax::V3);
  for (const auto& [provider, config] : in_.providers) {
    for (const auto& [name, element] : config->tcp.routers) {
      std::string qualified = qualify(name, provider);
      runtime::RouterState& state = runtime_.tcpRouters[qualified];
      state.provider = provider;
      state.rule = element.value.rule;
      for (const auto& e : element.errors) state.addError(e.toString(), !e.warning);
      if (!element.ok()) continue;
      buildTcpRouter(qualified, provider, element, defaultSyntax, state);
    }
  }
}

void SnapshotBuild::buildTcpRouter(const std::string& qualified, const std::string& provider,
                                   const config::Element<config::TcpRouter>& element, router::RuleSyntax defaultSyntax,
                                   runtime::RouterState& state) {
  const config::TcpRouter& r = element.value;
  std::string where = locationPrefix(element.location);
  if (r.rule.empty()) {
    state.addError(where + "empty rule");
    return;
  }
  std::vector<const runtime::EntryPoint*> entryPoints = routerEntryPoints(r.entryPoints, where, state);
  if (entryPoints.empty()) {
    state.addError(where + "no valid entryPoint for this router");
    return;
  }
  router::RuleSyntax syntax = r.ruleSyntax ? *router::parseRuleSyntax(*r.ruleSyntax) : defaultSyntax;
  std::string error;
  router::CompiledRulePtr rule = compile(r.rule, syntax, error, true);
  if (!rule) {
    state.addError(where + error);
    return;
  }
  // Traefik's priority: the rule's length, except HostSNI(`*`) alone, which goes last (-1).
  int64_t priority = r.priority != 0 ? r.priority : (r.rule == "HostSNI(`*`)" ? -1 : int64_t(r.rule.size()));
  state.priority = priority;
  state.tls = r.tls.has_value();
  state.passthrough = r.tls && r.tls->passthrough;
  if (!r.tls && rule->needsClientHello()) {
    const char* matcher = rule->usesAlpn() ? "ALPN" : "HostSNI";
    state.addError(where + "invalid rule: \"" + r.rule + "\" , has " + matcher + " matcher, but no TLS on router");
    return;
  }
  std::string tlsOptions;
  if (r.tls && !r.tls->passthrough && !resolveTlsOptions(r.tls->options, provider, where, state, tlsOptions)) return;
  if (r.tls) checkCertResolver(r.tls->certResolver, r.tls->domains, rule.get(), where, state);
  if (r.service.empty()) {
    state.addError(where + "the service is missing on the router");
    return;
  }
  std::string serviceName = qualify(r.service, provider);
  state.service = serviceName;
  auto service = tcpServices_.find(serviceName);
  if (service == tcpServices_.end()) {
    auto known = runtime_.tcpServices.find(serviceName);
    if (known != runtime_.tcpServices.end()) {
      known->second.usedBy.push_back(qualified);
      state.addError(where + "the service \"" + serviceName + "\" has errors");
    } else {
      state.addError(where + "the service \"" + serviceName + "\" does not exist");
    }
    return;
  }
  runtime_.tcpServices[serviceName].usedBy.push_back(qualified);
  exchange::TcpHandlerPtr handler = service->second;
  std::vector<std::pair<std::string, exchange::TcpMiddlewareFactoryPtr>> chain;
  for (const auto& name : r.middlewares) {
    std::string middleware = qualify(name, provider);
    auto factory = tcpMiddlewares_.find(middleware);
    if (factory == tcpMiddlewares_.end()) {
      bool known = runtime_.tcpMiddlewares.count(middleware) > 0;
      if (known) runtime_.tcpMiddlewares[middleware].usedBy.push_back(qualified);
      state.addError(where + "middleware \"" + middleware + "\" " + (known ? "has errors" : "does not exist"));
      return;
    }
    chain.emplace_back(middleware, factory->second);
  }
  for (size_t i = chain.size(); i-- > 0;) {
    runtime_.tcpMiddlewares[chain[i].first].usedBy.push_back(qualified);
    handler = chain[i].second->wrap(std::move(handler));
  }
  for (const auto& [name, factory] : chain) state.middlewares.push_back(name);
  auto target = std::make_shared<runtime::TcpRouteTarget>();
  target->name = qualified;
  target->service = serviceName;
  target->tls = !r.tls ? runtime::TcpRouteTarget::Tls::None
                       : (r.tls->passthrough ? runtime::TcpRouteTarget::Tls::Passthrough : runtime::TcpRouteTarget::Tls::Terminate);
  target->catchAll = rule->isCatchAll();
  target->handler = std::move(handler);
  for (const runtime::EntryPoint* ep : entryPoints) {
    auto& routes = snapshot_.routes[ep->index];
    (r.tls ? routes.tcpTlsTable : routes.tcpTable).add(rule, priority, qualified, target);
    // Terminated TLS: the HostSNI domains carry the router's TLS options, as Host() domains do.
    if (target->tls == runtime::TcpRouteTarget::Tls::Terminate)
      for (const auto& host : rule->hosts())
        if (host != "*") {
          tlsHosts_.emplace_back(ep->index, host, tlsOptions);
          tlsHostRouters_.emplace_back(qualified, ep->index, host, tlsOptions);
        }
  }
}

}  // namespace causeway::control
