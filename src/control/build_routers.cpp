#include "control/snapshot_build.h"

#include <algorithm>

#include "exchange/middleware_span.h"
#include "exchange/router_policy.h"

namespace causeway::control {

std::vector<const runtime::EntryPoint*> SnapshotBuild::defaultEntryPoints() const {
  std::vector<const runtime::EntryPoint*> all, marked;
  for (const auto& ep : *in_.entryPoints) {
    if (ep.name == "traefik" || ep.udp) continue;
    all.push_back(&ep);
    if (ep.asDefault) marked.push_back(&ep);
  }
  return marked.empty() ? all : marked;
}

const runtime::EntryPoint* SnapshotBuild::findEntryPoint(const std::string& name) const {
  for (const auto& ep : *in_.entryPoints)
    if (ep.name == name) return &ep;
  return nullptr;
}

router::CompiledRulePtr SnapshotBuild::compile(const std::string& rule, router::RuleSyntax syntax, std::string& error,
                                               bool tcp) {
  RuleKey key{tcp, syntax == router::RuleSyntax::V2, rule};
  auto it = caches_.rules.find(key);
  if (it != caches_.rules.end()) {
    usedRules_.insert(it->first);
    return it->second;
  }
  auto result = tcp ? router::compileTcpRule(rule, syntax) : router::compileRule(rule, syntax);
  if (auto* failure = std::get_if<router::RuleError>(&result)) {
    error = failure->routerError(rule);
    return nullptr;
  }
  auto compiled = std::get<router::CompiledRulePtr>(result);
  key.text = compiled->text();  // the compiled rule's own copy, which the cache entry keeps alive
  caches_.rules.emplace(key, compiled);
  usedRules_.insert(key);
  return compiled;
}

void SnapshotBuild::addRoute(const std::string& name, const std::string& service, router::CompiledRulePtr rule,
              int64_t priority, exchange::HandlerPtr handler, const std::vector<const runtime::EntryPoint*>& entryPoints,
              bool tls) {
  auto target = std::make_shared<runtime::RouteTarget>();
  target->name = name;
  target->service = service;
  target->handler = std::move(handler);
  for (const runtime::EntryPoint* ep : entryPoints) {
    auto& routes = snapshot_.routes[ep->index];
    (tls ? routes.tlsTable : routes.table).add(rule, priority, name, target);
  }
}

// Does TLS option set `name` exist (the implicit "default" always does)?
bool SnapshotBuild::tlsOptionsExist(const std::string& name) const {
  if (name == "default") return true;
  size_t at = name.rfind('@');
  std::string provider = at == std::string::npos ? "" : name.substr(at + 1);
  std::string bare = at == std::string::npos ? name : name.substr(0, at);
  auto it = in_.providers.find(provider);
  return it != in_.providers.end() && it->second->tls.options.count(bare) > 0;
}

// The TLS store's certificates and options, before the routers that refer to them.
void SnapshotBuild::buildTlsStore(tls::TlsStoreBuilder& builder) {
  tls::TlsStoreBuilder::Providers providers;
  for (const auto& [provider, config] : in_.providers) providers.emplace_back(provider, &config->tls);
  std::vector<std::string> errors;
  tlsStore_ = builder.build(providers, errors);
  for (auto& error : errors) runtime_.globalErrors.push_back(std::move(error));
  // The resolvers' current failures, read once for every router that names a resolver.
  if (const tls::AcmeState* acme = tlsStore_->acme())
    for (tls::AcmeOrderStatus& order : acme->orders())
      if (!order.lastError.empty()) failedOrders_.push_back(std::move(order));
}

// Which options serve which host, from the routers' Host() domains.
void SnapshotBuild::bindTlsHosts() {
  std::vector<std::pair<size_t, std::string>> conflicts;
  tls::TlsStoreBuilder::bindHosts(*tlsStore_, in_.entryPoints->size(), tlsHosts_, conflicts);
  // As Traefik: every router that gave a conflicting host its options is in warning.
  for (const auto& [entryPoint, host] : conflicts)
    for (const auto& [router, hostEntryPoint, routerHost, options] : tlsHostRouters_)
      if (hostEntryPoint == entryPoint && routerHost == host) {
        auto tcp = runtime_.tcpRouters.find(router);
        runtime::RouterState& state = tcp != runtime_.tcpRouters.end() ? tcp->second : runtime_.routers[router];
        const std::string message =
            "router's TLSOptions configuration is conflicting with other routers on the same entrypoint and host, "
            "default TLS options will be used instead";
        if (std::find(state.errors.begin(), state.errors.end(), message) == state.errors.end())
          state.addError(message, false);
      }
  snapshot_.tls = std::move(tlsStore_);
  for (const auto& [entryPoint, host, options] : tlsHosts_)
    if (options != "default") snapshot_.routes[entryPoint].sniCheck = true;
}

void SnapshotBuild::buildRouters() {
  for (const auto& [provider, config] : in_.providers)
    for (const auto& [name, element] : config->http.routers)
      for (const auto& parent : element.value.parentRefs) parentRouters_.insert(qualify(parent, provider));
  router::RuleSyntax defaultSyntax =
      router::parseRuleSyntax(in_.staticConfig->core.defaultRuleSyntax).value_or(router::RuleSyntax::V3);
  for (const auto& [provider, config] : in_.providers) {
    for (const auto& [name, element] : config->http.routers) {
      std::string qualified = qualify(name, provider);
      runtime::RouterState& state = runtime_.routers[qualified];
      state.provider = provider;
      state.rule = element.value.rule;
      for (const auto& e : element.errors) state.addError(e.toString(), !e.warning);
      if (!element.ok()) continue;
      buildRouter(qualified, provider, element, defaultSyntax, state);
    }
  }
  buildRedirections();
  buildPing();
  buildApiRouters();
  buildPrometheusRouter();
  buildAcmeHttpChallenge();
  buildTcp();
  buildUdp();
  // Rules no router uses any more are dropped from the cache.
  for (auto it = caches_.rules.begin(); it != caches_.rules.end();) {
    if (!usedRules_.count(it->first)) it = caches_.rules.erase(it);
    else ++it;
  }
}

std::vector<const runtime::EntryPoint*> SnapshotBuild::routerEntryPoints(const std::vector<std::string>& names,
                                                                         const std::string& where,
                                                                         runtime::RouterState& state) const {
  std::vector<const runtime::EntryPoint*> entryPoints;
  if (names.empty()) {
    entryPoints = defaultEntryPoints();
  } else {
    for (const auto& name : names) {
      const runtime::EntryPoint* ep = findEntryPoint(name);
      if (!ep) state.addError(where + "entryPoint \"" + name + "\" doesn't exist", false);
      else if (ep->udp) state.addError(where + "entryPoint \"" + name + "\" is a UDP entryPoint", false);
      else entryPoints.push_back(ep);
    }
  }
  for (const runtime::EntryPoint* ep : entryPoints) state.entryPoints.push_back(ep->name);
  return entryPoints;
}

bool SnapshotBuild::resolveTlsOptions(const std::string& configured, const std::string& provider,
                                      const std::string& where, runtime::RouterState& state,
                                      std::string& tlsOptions) const {
  tlsOptions = configured.empty() || configured == "default" ? "default" : qualify(configured, provider);
  if (!tlsOptionsExist(tlsOptions)) {
    state.addError(where + "unknown TLS options: " + tlsOptions);
    return false;
  }
  if (tlsStore_->invalid(tlsOptions)) {
    state.addError(where + "TLS options " + tlsOptions + " are invalid (see the errors above); not served");
    return false;
  }
  return true;
}

void SnapshotBuild::checkCertResolver(const std::string& resolver, const std::vector<config::Domain>& domains,
                                      const router::CompiledRule* rule, const std::string& where,
                                      runtime::RouterState& state) const {
  if (resolver.empty()) return;
  if (!in_.staticConfig->certificatesResolvers.count(resolver)) {
    state.addError(where + "the router uses a nonexistent certificate resolver: " + resolver, false);
    return;
  }
  // The resolver's last failure for a certificate of this router's names (a warning: the
  // router serves, with the default certificate until the order succeeds).
  if (failedOrders_.empty()) return;
  std::vector<std::string> names;
  for (const config::Domain& domain : domains) {
    names.push_back(domain.main);
    names.insert(names.end(), domain.sans.begin(), domain.sans.end());
  }
  if (domains.empty() && rule) names = rule->hosts();
  for (const tls::AcmeOrderStatus& order : failedOrders_) {
    if (order.resolver != resolver) continue;
    bool mine = std::any_of(order.names.begin(), order.names.end(), [&](const std::string& name) {
      return std::find(names.begin(), names.end(), name) != names.end();
    });
    if (mine)
      state.addError(where + "certificate resolver " + resolver + " cannot obtain a certificate for " + order.names.front() +
                         ": " + order.lastError,
                     false);
  }
}

// The handler of the router's service, or null after an error.
const exchange::HandlerPtr* SnapshotBuild::routerService(const config::Router& r, const std::string& qualified,
                                                         const std::string& provider, const std::string& where,
                                                         runtime::RouterState& state) {
  if (r.service.empty()) {
    if (parentRouters_.count(qualified))
      state.addUnsupported(where + "multi-layer routing is not supported yet (routers name this one in parentRefs)",
                           true);
    else
      state.addError(where + "missing service");
    return nullptr;
  }
  std::string serviceName = qualify(r.service, provider);
  state.service = serviceName;
  auto service = services_.find(serviceName);
  if (service == services_.end()) {
    auto known = runtime_.services.find(serviceName);
    if (known != runtime_.services.end()) {
      known->second.usedBy.push_back(qualified);
      state.addError(where + "the service \"" + serviceName + "\" has errors");
    } else {
      state.addError(where + "the service \"" + serviceName + "\" does not exist");
    }
    return nullptr;
  }
  runtime_.services[serviceName].usedBy.push_back(qualified);
  return &service->second;
}

// The span names of a chain's middlewares (detailed traces); "" for one that records its own.
std::vector<std::string> SnapshotBuild::spanNames(const MiddlewareChain& chain) {
  const exchange::MiddlewareRegistry& registry = exchange::MiddlewareRegistry::instance();
  std::vector<std::string> names;
  for (const auto& [name, factory] : chain) {
    const std::string& type = middlewares_[name].type;
    names.push_back(registry.recordsOwnSpans(type) ? std::string() : registry.spanName(type));
  }
  return names;
}

void SnapshotBuild::buildRouter(const std::string& qualified, const std::string& provider,
                                const config::Element<config::Router>& element, router::RuleSyntax defaultSyntax,
                                runtime::RouterState& state) {
  const config::Router& r = element.value;
  std::string where = locationPrefix(element.location);
  if (r.rule.empty()) {
    state.addError(where + "missing rule");
    return;
  }
  if (!r.parentRefs.empty()) {
    state.addUnsupported(where + "parentRefs (multi-layer routing) are not supported yet", true);
    return;
  }
  std::vector<const runtime::EntryPoint*> entryPoints = routerEntryPoints(r.entryPoints, where, state);
  if (entryPoints.empty()) {
    state.addError(where + "no valid entryPoint for this router");
    return;
  }
  std::string tlsOptions;  // the router's own; else each entryPoint's http.tls defaults
  if (r.tls) {
    if (!resolveTlsOptions(r.tls->options, provider, where, state, tlsOptions)) return;
  }
  router::RuleSyntax syntax = r.ruleSyntax ? *router::parseRuleSyntax(*r.ruleSyntax) : defaultSyntax;
  std::string error;
  router::CompiledRulePtr rule = compile(r.rule, syntax, error);
  if (r.tls) checkCertResolver(r.tls->certResolver, r.tls->domains, rule.get(), where, state);
  if (!rule) {
    state.addError(where + error);
    return;
  }
  int64_t priority = r.priority != 0 ? r.priority : int64_t(r.rule.size());
  state.priority = priority;
  const exchange::HandlerPtr* service = routerService(r, qualified, provider, where, state);
  if (!service) return;
  // causeway's router limits (maxRequestBodyBytes, timeouts), in front of the chain.
  exchange::RouterLimits limits;
  if (r.maxRequestBodyBytes) limits.maxRequestBodyBytes = *r.maxRequestBodyBytes;
  if (r.timeouts) {
    limits.requestBodyTimeout = r.timeouts->requestBody.value;
    limits.responseHeaderTimeout = r.timeouts->responseHeader.value;
    limits.exchangeTimeout = r.timeouts->exchange.value;
    if (r.timeouts->idle.value.count() > 0) limits.idleTimeout = r.timeouts->idle.value;
  }
  // Middlewares: each entryPoint's defaults, then the router's own. Entry points with
  // different defaults get different chains.
  std::vector<MiddlewareChain> chains;
  for (const runtime::EntryPoint* ep : entryPoints) {
    MiddlewareChain chain;
    std::vector<std::string> names = ep->defaultMiddlewares;
    names.insert(names.end(), r.middlewares.begin(), r.middlewares.end());
    if (!resolveChain(names, provider, chain, error, qualified)) {
      state.addError(where + error);
      return;
    }
    if (state.middlewares.empty())
      for (const auto& [name, factory] : chain) state.middlewares.push_back(name);
    chains.push_back(std::move(chain));
  }
  for (size_t i = 0; i < entryPoints.size(); ++i) {
    const runtime::EntryPoint* ep = entryPoints[i];
    bool tls = r.tls.has_value() || ep->defaultTls;
    std::string options = tlsOptions;
    if (tls && options.empty())
      options = ep->defaultTlsOptions.empty() ? "default" : qualify(ep->defaultTlsOptions, provider);
    if (tls) {
      if (tlsStore_->invalid(options)) {
        state.addError(where + "TLS options " + options + " (entryPoint " + ep->name +
                       ") are invalid (see the errors above); not served there");
        continue;
      }
      // The router's Host() domains carry its TLS options on this entryPoint.
      for (const auto& host : rule->hosts()) {
        tlsHosts_.emplace_back(ep->index, host, options);
        tlsHostRouters_.emplace_back(qualified, ep->index, host, options);
      }
    }
    const MiddlewareChain& chain = chains[i];
    const bool detailed = tracesInDetail(r, *ep) && !chain.empty();
    std::vector<std::string> names = detailed ? spanNames(chain) : std::vector<std::string>();
    exchange::HandlerPtr handler = compose(chain, *service, qualified, in_.workers, detailed ? &names : nullptr);
    if (limits.any()) handler = std::make_shared<exchange::RouterPolicy>(limits, std::move(handler));
    addRoute(qualified, state.service, rule, priority, handler, {ep}, tls);
  }
  state.tls = r.tls.has_value() || std::any_of(entryPoints.begin(), entryPoints.end(),
                                                [](const runtime::EntryPoint* ep) { return ep->defaultTls; });
}

// Whether the router's traces on `ep` are detailed (tracing on, traceVerbosity detailed on
// the router or, unset there, on the entryPoint): its middlewares then get spans.
bool SnapshotBuild::tracesInDetail(const config::Router& r, const runtime::EntryPoint& ep) const {
  if (!in_.staticConfig->tracing) return false;
  if (r.observability && r.observability->traceVerbosity == "detailed") return true;
  auto it = in_.staticConfig->entryPoints.find(ep.name);
  return it != in_.staticConfig->entryPoints.end() && it->second.observability.traceVerbosity == "detailed";
}

}  // namespace causeway::control
