#include "control/snapshot_builder.h"

#include <limits>
#include <set>

#include "control/internal_services.h"
#include "control/service_builder.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/middleware_span.h"
#include "tls/tls_stream.h"

namespace causeway::control {
namespace {

constexpr int64_t kMaxPriority = std::numeric_limits<int64_t>::max();

std::string describeErrors(const std::vector<config::ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (e.warning) continue;
    if (!out.empty()) out += "; ";
    out += e.toString();
  }
  return out;
}

// A composed chain: middlewares in order, the innermost wrapping `last`. With `spanNames`
// (one per middleware: the router traces in detail), the chain records middleware spans
// (server/middleware_span.h); an empty name is a middleware that records its own.
exchange::HandlerPtr compose(const std::vector<std::pair<std::string, exchange::MiddlewareFactoryPtr>>& chain,
                   exchange::HandlerPtr last, std::string_view routerName, unsigned workers,
                   const std::vector<std::string>* spanNames = nullptr) {
  exchange::HandlerPtr handler = std::move(last);
  if (spanNames) handler = std::make_shared<exchange::ServiceSpanMark>(std::move(handler));
  for (size_t i = chain.size(); i-- > 0;) {
    exchange::WrapContext context{routerName, chain[i].first, workers};
    handler = chain[i].second->wrap(std::move(handler), context);
    if (spanNames && !(*spanNames)[i].empty())
      handler = std::make_shared<exchange::MiddlewareSpan>(chain[i].first, (*spanNames)[i], std::move(handler));
  }
  if (spanNames) handler = std::make_shared<exchange::DetailedTraceMark>(std::move(handler));
  return handler;
}

std::shared_ptr<upstream::Transport> transportFrom(std::string name, const config::ForwardingTimeouts& timeouts,
                                         int maxIdle) {
  auto t = std::make_shared<upstream::Transport>();
  t->name = std::move(name);
  t->dialTimeout = timeouts.dialTimeout.value;
  t->responseHeaderTimeout = timeouts.responseHeaderTimeout.value;
  t->idleConnTimeout = timeouts.idleConnTimeout.value;
  t->maxIdleConnsPerHost = maxIdle;
  return t;
}

// TLS towards https:// servers: trust, client certificates, SNI, versions, ALPN.
bool configureTls(upstream::Transport& t, const std::vector<std::string>& rootCAs,
                  const std::vector<config::CertificateFiles>& certificates, const std::string& serverName,
                  bool insecureSkipVerify, bool disableHTTP2, const std::string& minVersion,
                  const std::string& maxVersion, const std::vector<std::string>& cipherSuites, std::string& error) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& c : certificates) pairs.emplace_back(c.certFile, c.keyFile);
  if (rootCAs.empty() && pairs.empty() && minVersion.empty() && maxVersion.empty() && cipherSuites.empty()) {
    t.tls.sharedDefault = true;  // nothing to check now; built on the first https dial
  } else {
    t.tls.context = tls::makeClientContext(rootCAs, pairs, minVersion, maxVersion, cipherSuites, error);
    if (!t.tls.context) return false;
  }
  t.tls.serverName = serverName;
  t.tls.verify = !insecureSkipVerify;
  t.disableHTTP2 = disableHTTP2;
  static constexpr unsigned char kH2AndHttp11[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  if (disableHTTP2) t.tls.alpn.assign(std::begin(kHttp11), std::end(kHttp11));
  else t.tls.alpn.assign(std::begin(kH2AndHttp11), std::end(kH2AndHttp11));
  return true;
}

struct MiddlewareEntry {
  std::string provider;
  std::string type;
  exchange::MiddlewareFactoryPtr factory;          // null for chains and broken middlewares
  std::vector<std::string> chain;        // qualified members when type is chain
  std::vector<exchange::ServiceRefPtr> serviceRefs;  // services it calls, resolved after services
  bool ok = true;
};

class Build {
 public:
  Build(const BuildInputs& in, SnapshotBuilder& owner, runtime::Snapshot& snapshot,
        std::map<std::string, router::CompiledRulePtr>& rules,
        std::map<std::string, std::pair<uint64_t, exchange::HandlerPtr>>& serviceCache,
        std::map<std::string, std::pair<uint64_t, exchange::MiddlewareFactoryPtr>>& middlewareCache,
        std::map<std::string, std::pair<uint64_t, std::shared_ptr<const upstream::Transport>>>& transportCache)
      : in_(in), snapshot_(snapshot), runtime_(snapshot.runtime), rules_(rules),
        serviceCache_(serviceCache), middlewareCache_(middlewareCache), transportCache_(transportCache) {}

  void run(tls::TlsStoreBuilder& tlsBuilder) {
    snapshot_.routes.resize(in_.entryPoints->size());
    buildTransports();
    buildMiddlewares();
    buildInternal();
    buildApiServices();
    buildPrometheusService();
    buildServices();
    buildTlsStore(tlsBuilder);
    buildRouters();
    bindTlsHosts();
    for (auto& routes : snapshot_.routes) {
      routes.table.build();
      routes.tlsTable.build();
    }
  }

 private:
  // --- transports ---------------------------------------------------------------------
  void buildTransports() {
    // Transports are kept across builds while unchanged: pooled connections are keyed by
    // them, so a reload that does not touch a transport keeps its idle connections.
    const auto& st = in_.staticConfig->serversTransport;
    auto cachedDefault = transportCache_.find("default@internal");
    if (cachedDefault != transportCache_.end()) {
      transports_["default@internal"] = cachedDefault->second.second;
    } else {
      config::ForwardingTimeouts timeouts;
      timeouts.dialTimeout = st.forwardingTimeouts.dialTimeout;
      timeouts.responseHeaderTimeout = st.forwardingTimeouts.responseHeaderTimeout;
      timeouts.idleConnTimeout = st.forwardingTimeouts.idleConnTimeout;
      auto t = transportFrom("default@internal", timeouts, st.maxIdleConnsPerHost);
      std::string error;
      if (!configureTls(*t, st.rootCAs, {}, "", st.insecureSkipVerify, false, "", "", {}, error))
        runtime_.globalErrors.push_back("serversTransport: " + error);
      transports_["default@internal"] = t;
      transportCache_["default@internal"] = {0, t};
    }
    for (const auto& [provider, config] : in_.providers) {
      for (const auto& [name, element] : config->http.serversTransports) {
        std::string qualified = qualify(name, provider);
        if (!element.ok()) {
          transportErrors_[qualified] = describeErrors(element.errors);
          continue;
        }
        auto cached = transportCache_.find(qualified);
        if (cached != transportCache_.end() && cached->second.first == element.fingerprint) {
          transports_[qualified] = cached->second.second;
          continue;
        }
        const config::ServersTransport& v = element.value;
        int maxIdle = v.maxIdleConnsPerHost == 0 ? 2 : v.maxIdleConnsPerHost;
        auto t = transportFrom(qualified, v.forwardingTimeouts, maxIdle);
        std::string error;
        if (!configureTls(*t, v.rootCAs, v.certificates, v.serverName, v.insecureSkipVerify, v.disableHTTP2,
                          v.minVersion, v.maxVersion, v.cipherSuites, error)) {
          transportErrors_[qualified] = error;
          continue;
        }
        transports_[qualified] = t;
        transportCache_[qualified] = {element.fingerprint, t};
      }
    }
  }

  // --- middlewares --------------------------------------------------------------------
  void buildMiddlewares() {
    for (const auto& [provider, config] : in_.providers) {
      for (const auto& [name, element] : config->http.middlewares) {
        std::string qualified = qualify(name, provider);
        runtime::MiddlewareState& state = runtime_.middlewares[qualified];
        state.provider = provider;
        state.type = element.value.type;
        MiddlewareEntry& entry = middlewares_[qualified];
        entry.provider = provider;
        entry.type = element.value.type;
        for (const auto& e : element.errors) state.addError(e.toString(), !e.warning);
        if (!element.ok()) {
          entry.ok = false;
          continue;
        }
        if (iequals(element.value.type, "chain")) {
          buildChain(qualified, provider, element.value.options, entry, state);
          continue;
        }
        const exchange::MiddlewareCreator* creator = exchange::MiddlewareRegistry::instance().find(element.value.type);
        if (!creator) {
          entry.ok = false;
          state.addError(locationPrefix(element.location) + "unknown middleware type \"" +
                         element.value.type + "\"");
          continue;
        }
        auto cached = middlewareCache_.find(qualified);
        if (cached != middlewareCache_.end() && cached->second.first == element.fingerprint) {
          entry.factory = cached->second.second;
          continue;
        }
        exchange::MiddlewareBuildContext context(qualified, provider);
        context.setDefaultTransport(transports_["default@internal"]);
        context.setWorkers(in_.workers);
        exchange::MiddlewareFactoryPtr factory = (*creator)(element.value.options, context);
        for (const auto& message : context.errors())
          state.addError(locationPrefix(element.location) + message);
        if (!factory || !context.errors().empty()) {
          entry.ok = false;
          if (context.errors().empty()) state.addError("invalid middleware configuration");
          continue;
        }
        entry.factory = factory;
        entry.serviceRefs = context.serviceRefs();
        // Factories that call services hold references filled by this build: never reused.
        if (entry.serviceRefs.empty()) middlewareCache_[qualified] = {element.fingerprint, factory};
        else middlewareCache_.erase(qualified);
      }
    }
  }

  void buildChain(const std::string& qualified, const std::string& provider, const config::Node& options,
                  MiddlewareEntry& entry, runtime::MiddlewareState& state) {
    const config::Node* list = options.find("middlewares");
    if (!options.isMap() || !list) {
      entry.ok = false;
      state.addError(locationPrefix(options.location()) + "chain needs a middlewares list");
      return;
    }
    std::vector<std::string> names;
    config::DecodeContext context;
    config::decode(*list, names, context);
    for (const auto& e : context.errors()) state.addError(e.toString());
    for (const auto& name : names) entry.chain.push_back(qualify(name, provider));
    if (hasErrors(context.errors())) entry.ok = false;
  }

  // Appends the factories of `name` (expanding chains) to `out`; false with `error` set
  // when a middleware is missing, broken, or a chain loops.
  bool expandMiddleware(const std::string& name, std::vector<std::string>& visiting,
                        std::vector<std::pair<std::string, exchange::MiddlewareFactoryPtr>>& out, std::string& error,
                        const std::string& usedBy) {
    auto it = middlewares_.find(name);
    if (it == middlewares_.end()) {
      error = "middleware \"" + name + "\" does not exist";
      return false;
    }
    runtime_.middlewares[name].usedBy.push_back(usedBy);
    if (!it->second.ok) {
      error = "middleware \"" + name + "\" has errors";
      return false;
    }
    if (!iequals(it->second.type, "chain")) {
      out.emplace_back(name, it->second.factory);
      return true;
    }
    if (std::find(visiting.begin(), visiting.end(), name) != visiting.end()) {
      error = "recursion detected in chain \"" + name + "\"";
      runtime_.middlewares[name].addError(error);
      return false;
    }
    visiting.push_back(name);
    for (const auto& member : it->second.chain)
      if (!expandMiddleware(member, visiting, out, error, name)) return false;
    visiting.pop_back();
    return true;
  }

  bool resolveChain(const std::vector<std::string>& names, const std::string& provider,
                    std::vector<std::pair<std::string, exchange::MiddlewareFactoryPtr>>& out, std::string& error,
                    const std::string& usedBy) {
    for (const auto& name : names) {
      std::vector<std::string> visiting;
      if (!expandMiddleware(qualify(name, provider), visiting, out, error, usedBy)) return false;
    }
    return true;
  }

  // --- services -----------------------------------------------------------------------
  void buildInternal() {
    services_["noop@internal"] = std::make_shared<NoopService>();
    runtime_.services["noop@internal"].provider = "internal";
    runtime_.services["noop@internal"].type = "internal";
    if (in_.staticConfig->ping && in_.terminating) {
      services_["ping@internal"] =
          std::make_shared<PingService>(*in_.terminating, in_.staticConfig->ping->terminatingStatusCode);
      runtime_.services["ping@internal"].provider = "internal";
      runtime_.services["ping@internal"].type = "internal";
    }
  }

  void buildServices() {
    // 1. Every service's handler (service_builder.cpp), wrapped in its service-level
    //    middlewares (v3.7), so parents and routers call the same thing.
    ServiceBuildEnv env{in_, runtime_, transports_, transportErrors_, serviceCache_};
    env.wrapMiddlewares = [this](const std::string& qualified, const std::string& provider,
                                 const std::vector<std::string>& names, exchange::HandlerPtr& handler, std::string& error) {
      std::vector<std::pair<std::string, exchange::MiddlewareFactoryPtr>> chain;
      if (!resolveChain(names, provider, chain, error, qualified)) return false;
      handler = compose(chain, handler, qualified, in_.workers);
      return true;
    };
    buildServiceHandlers(env, services_);
    // 2. Middlewares that call services (errors.service, ...) get their handlers.
    for (auto& [name, entry] : middlewares_) {
      for (const auto& ref : entry.serviceRefs) {
        auto service = services_.find(ref->name());
        if (service != services_.end()) {
          ref->resolve(service->second);
          runtime_.services[ref->name()].usedBy.push_back(name);
          continue;
        }
        entry.ok = false;
        runtime_.middlewares[name].addError("the service \"" + ref->name() + "\" does not exist");
      }
    }
  }

  // --- routers ------------------------------------------------------------------------
  std::vector<const runtime::EntryPoint*> defaultEntryPoints() const {
    std::vector<const runtime::EntryPoint*> all, marked;
    for (const auto& ep : *in_.entryPoints) {
      if (ep.name == "traefik") continue;
      all.push_back(&ep);
      if (ep.asDefault) marked.push_back(&ep);
    }
    return marked.empty() ? all : marked;
  }

  const runtime::EntryPoint* findEntryPoint(const std::string& name) const {
    for (const auto& ep : *in_.entryPoints)
      if (ep.name == name) return &ep;
    return nullptr;
  }

  router::CompiledRulePtr compile(const std::string& rule, router::RuleSyntax syntax, std::string& error) {
    std::string key = (syntax == router::RuleSyntax::V2 ? "2:" : "3:") + rule;
    auto it = rules_.find(key);
    if (it != rules_.end()) {
      usedRules_.insert(key);
      return it->second;
    }
    auto result = router::compileRule(rule, syntax);
    if (auto* failure = std::get_if<router::RuleError>(&result)) {
      error = "invalid rule: " + failure->describe(rule);
      return nullptr;
    }
    auto compiled = std::get<router::CompiledRulePtr>(result);
    rules_[key] = compiled;
    usedRules_.insert(key);
    return compiled;
  }

  void addRoute(const std::string& name, const std::string& service, router::CompiledRulePtr rule,
                int64_t priority, exchange::HandlerPtr handler, const std::vector<const runtime::EntryPoint*>& entryPoints,
                bool tls = false) {
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
  bool tlsOptionsExist(const std::string& name) const {
    if (name == "default") return true;
    size_t at = name.rfind('@');
    std::string provider = at == std::string::npos ? "" : name.substr(at + 1);
    std::string bare = at == std::string::npos ? name : name.substr(0, at);
    auto it = in_.providers.find(provider);
    return it != in_.providers.end() && it->second->tls.options.count(bare) > 0;
  }

  // The TLS store's certificates and options, before the routers that refer to them.
  void buildTlsStore(tls::TlsStoreBuilder& builder) {
    tls::TlsStoreBuilder::Providers providers;
    for (const auto& [provider, config] : in_.providers) providers.emplace_back(provider, &config->tls);
    std::vector<std::string> errors;
    tlsStore_ = builder.build(providers, errors);
    for (auto& error : errors) runtime_.globalErrors.push_back(std::move(error));
  }

  // Which options serve which host, from the routers' Host() domains.
  void bindTlsHosts() {
    std::vector<std::string> errors;
    tls::TlsStoreBuilder::bindHosts(*tlsStore_, in_.entryPoints->size(), tlsHosts_, errors);
    for (auto& error : errors) runtime_.globalErrors.push_back(std::move(error));
    snapshot_.tls = std::move(tlsStore_);
    for (const auto& [entryPoint, host, options] : tlsHosts_)
      if (options != "default") snapshot_.routes[entryPoint].sniCheck = true;
  }

  void buildRouters() {
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
    // Rules no router uses any more are dropped from the cache.
    for (auto it = rules_.begin(); it != rules_.end();) {
      if (!usedRules_.count(it->first)) it = rules_.erase(it);
      else ++it;
    }
  }

  void buildRouter(const std::string& qualified, const std::string& provider,
                   const config::Element<config::Router>& element, router::RuleSyntax defaultSyntax,
                   runtime::RouterState& state) {
    const config::Router& r = element.value;
    std::string where = locationPrefix(element.location);
    if (r.rule.empty()) {
      state.addError(where + "missing rule");
      return;
    }
    if (!r.parentRefs.empty()) {
      state.addError(where + "parentRefs (multi-layer routing) are not supported yet");
      return;
    }
    // Entry points.
    std::vector<const runtime::EntryPoint*> entryPoints;
    if (r.entryPoints.empty()) {
      entryPoints = defaultEntryPoints();
    } else {
      for (const auto& name : r.entryPoints) {
        if (const runtime::EntryPoint* ep = findEntryPoint(name)) entryPoints.push_back(ep);
        else state.addError(where + "entryPoint \"" + name + "\" doesn't exist", false);
      }
    }
    for (const runtime::EntryPoint* ep : entryPoints) state.entryPoints.push_back(ep->name);
    if (entryPoints.empty()) {
      state.addError(where + "no valid entryPoint for this router");
      return;
    }
    // TLS: the router's own tls section, else the entryPoint's http.tls defaults.
    std::string tlsOptions;
    if (r.tls) {
      tlsOptions = r.tls->options.empty() ? "default"
                   : (r.tls->options == "default" ? "default" : qualify(r.tls->options, provider));
      if (!tlsOptionsExist(tlsOptions)) {
        state.addError(where + "unknown TLS options: " + tlsOptions);
        return;
      }
      if (tlsStore_->invalid(tlsOptions)) {
        state.addError(where + "TLS options " + tlsOptions + " are invalid (see the errors above); not served");
        return;
      }
      if (!r.tls->certResolver.empty())
        state.addError(where + "certificate resolver \"" + r.tls->certResolver +
                           "\" is not available (ACME is not supported yet); the default certificate store is used",
                       false);
    }
    // Rule.
    router::RuleSyntax syntax = r.ruleSyntax ? *router::parseRuleSyntax(*r.ruleSyntax) : defaultSyntax;
    std::string error;
    router::CompiledRulePtr rule = compile(r.rule, syntax, error);
    if (!rule) {
      state.addError(where + error);
      return;
    }
    int64_t priority = r.priority != 0 ? r.priority : int64_t(r.rule.size());
    state.priority = priority;
    // Service.
    if (r.service.empty()) {
      state.addError(where + "missing service");
      return;
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
      return;
    }
    runtime_.services[serviceName].usedBy.push_back(qualified);
    // Middlewares: each entryPoint's defaults, then the router's own. Entry points with
    // different defaults get different chains.
    for (const runtime::EntryPoint* ep : entryPoints) {
      std::vector<std::pair<std::string, exchange::MiddlewareFactoryPtr>> chain;
      std::vector<std::string> names = ep->defaultMiddlewares;
      names.insert(names.end(), r.middlewares.begin(), r.middlewares.end());
      if (!resolveChain(names, provider, chain, error, qualified)) {
        state.addError(where + error);
        return;
      }
      if (state.middlewares.empty())
        for (const auto& [name, factory] : chain) state.middlewares.push_back(name);
      chains_.push_back(std::move(chain));
    }
    size_t first = chains_.size() - entryPoints.size();
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
        for (const auto& host : rule->hosts()) tlsHosts_.emplace_back(ep->index, host, options);
      }
      const auto& chain = chains_[first + i];
      std::vector<std::string> spanNames;
      const bool detailed = tracesInDetail(r, *ep) && !chain.empty();
      if (detailed)
        for (const auto& [name, factory] : chain) {
          const std::string& type = middlewares_[name].type;
          const exchange::MiddlewareRegistry& registry = exchange::MiddlewareRegistry::instance();
          spanNames.push_back(registry.recordsOwnSpans(type) ? std::string() : registry.spanName(type));
        }
      exchange::HandlerPtr handler = compose(chain, service->second, qualified, in_.workers, detailed ? &spanNames : nullptr);
      addRoute(qualified, serviceName, rule, priority, handler, {ep}, tls);
    }
    state.tls = r.tls.has_value() || std::any_of(entryPoints.begin(), entryPoints.end(),
                                                  [](const runtime::EntryPoint* ep) { return ep->defaultTls; });
  }

  // Whether the router's traces on `ep` are detailed (tracing on, traceVerbosity detailed on
  // the router or, unset there, on the entryPoint): its middlewares then get spans.
  bool tracesInDetail(const config::Router& r, const runtime::EntryPoint& ep) const {
    if (!in_.staticConfig->tracing) return false;
    if (r.observability && r.observability->traceVerbosity == "detailed") return true;
    auto it = in_.staticConfig->entryPoints.find(ep.name);
    return it != in_.staticConfig->entryPoints.end() && it->second.observability.traceVerbosity == "detailed";
  }

  // entryPoints.<ep>.http.redirections.entryPoint → router <ep>-to-<target>@internal.
  void buildRedirections() {
    for (const auto& [epName, epConfig] : in_.staticConfig->entryPoints) {
      if (!epConfig.http.redirections || !epConfig.http.redirections->entryPoint) continue;
      const auto& redirect = *epConfig.http.redirections->entryPoint;
      const runtime::EntryPoint* from = findEntryPoint(epName);
      if (!from) continue;
      std::string port;
      std::string targetName = redirect.to;
      if (!redirect.to.empty() && redirect.to[0] == ':') {
        port = redirect.to.substr(1);
      } else if (const runtime::EntryPoint* to = findEntryPoint(redirect.to)) {
        port = std::to_string(to->endpoint.port());
      } else {
        log::error("redirection target entryPoint does not exist",
                   {{"entryPoint", epName}, {"to", redirect.to}});
        continue;
      }
      std::string routerName = epName + "-to-" + (targetName[0] == ':' ? targetName.substr(1) : targetName) + "@internal";
      std::string middlewareName = "redirect-" + routerName;
      const exchange::MiddlewareCreator* creator = exchange::MiddlewareRegistry::instance().find("redirectScheme");
      if (!creator) continue;
      config::Node options = config::Node::map();
      options.set("scheme", config::Node::scalar(redirect.scheme));
      options.set("port", config::Node::scalar(port));
      options.set("permanent", config::Node::scalar(redirect.permanent ? "true" : "false"));
      exchange::MiddlewareBuildContext context(middlewareName, "internal");
      exchange::MiddlewareFactoryPtr factory = (*creator)(options, context);
      std::string error;
      auto rule = compile("HostRegexp(`^.+$`)", router::RuleSyntax::V3, error);
      if (!factory || !rule) continue;
      runtime::RouterState& state = runtime_.routers[routerName];
      state.provider = "internal";
      state.rule = "HostRegexp(`^.+$`)";
      state.service = "noop@internal";
      state.priority = redirect.priority;
      state.entryPoints = {epName};
      state.middlewares = {middlewareName};
      runtime_.middlewares[middlewareName].provider = "internal";
      runtime_.middlewares[middlewareName].type = "redirectscheme";
      exchange::HandlerPtr handler = compose({{middlewareName, factory}}, services_["noop@internal"], routerName, in_.workers);
      addRoute(routerName, "noop@internal", rule, redirect.priority, handler, {from});
    }
  }

  // ping@internal on ping.entryPoint, unless ping.manualRouting.
  void buildPing() {
    const auto& ping = in_.staticConfig->ping;
    if (!ping || ping->manualRouting) return;
    const runtime::EntryPoint* ep = findEntryPoint(ping->entryPoint);
    std::string error;
    auto rule = compile("PathPrefix(`/ping`)", router::RuleSyntax::V3, error);
    if (!ep || !rule) {
      runtime_.globalErrors.push_back("ping: entryPoint \"" + ping->entryPoint + "\" does not exist");
      return;
    }
    runtime::RouterState& state = runtime_.routers["ping@internal"];
    state.provider = "internal";
    state.rule = "PathPrefix(`/ping`)";
    state.service = "ping@internal";
    state.priority = kMaxPriority;
    state.entryPoints = {ep->name};
    runtime_.services["ping@internal"].usedBy.push_back("ping@internal");
    addRoute("ping@internal", "ping@internal", rule, kMaxPriority, services_["ping@internal"], {ep});
  }

  // --- api and dashboard ----------------------------------------------------------------
  // api@internal and dashboard@internal exist whenever `api` is configured (users may route
  // to them); their handlers come from the application (src/admin), a placeholder when it
  // gives none (causeway check). The dashboard's own middlewares are made here too, so any
  // router may use them.
  void buildApiServices() {
    const auto& api = in_.staticConfig->api;
    if (!api) return;
    std::vector<std::string> names = {"api@internal"};
    if (api->dashboard) names.push_back("dashboard@internal");
    for (const auto& name : names) {
      auto given = in_.internalServices.find(name);
      services_[name] = given != in_.internalServices.end() && given->second
                            ? given->second
                            : std::make_shared<NoopService>();
      runtime_.services[name].provider = "internal";
    }
    if (!api->insecure || !api->dashboard) return;
    auto scalar = [](const char* text) { return config::Node::scalar(text); };
    config::Node redirect = config::Node::map();
    redirect.set("regex", scalar(R"(^(http:\/\/(\[[\w:.]+\]|[\w\._-]+)(:\d+)?)\/$)"));
    redirect.set("replacement", scalar("${1}/dashboard/"));
    redirect.set("permanent", scalar("true"));
    config::Node strip = config::Node::map();
    config::Node prefixes = config::Node::list();
    prefixes.append(scalar("/dashboard/"));
    prefixes.append(scalar("/dashboard"));
    strip.set("prefixes", std::move(prefixes));
    addInternalMiddleware("dashboard_redirect@internal", "redirectRegex", std::move(redirect));
    addInternalMiddleware("dashboard_stripprefix@internal", "stripPrefix", std::move(strip));
  }

  void addInternalMiddleware(const std::string& name, const std::string& type, config::Node options) {
    runtime::MiddlewareState& state = runtime_.middlewares[name];
    state.provider = "internal";
    state.type = type;
    MiddlewareEntry& entry = middlewares_[name];
    entry.provider = "internal";
    entry.type = type;
    exchange::MiddlewareBuildContext context(name, "internal");
    const exchange::MiddlewareCreator* creator = exchange::MiddlewareRegistry::instance().find(type);
    if (creator) entry.factory = (*creator)(options, context);
    entry.ok = entry.factory != nullptr;
    if (!entry.ok) state.addError(type + " is not available");
    state.internalOptions = std::make_shared<const config::Node>(std::move(options));
  }

  // api.insecure: routers api@internal (PathPrefix(`/api`), MaxInt-1) and, with the
  // dashboard, dashboard@internal (PathPrefix(`/`), MaxInt-2) on the `traefik` entryPoint.
  void buildApiRouters() {
    const auto& api = in_.staticConfig->api;
    if (!api || !api->insecure) return;
    const runtime::EntryPoint* ep = findEntryPoint("traefik");
    if (!ep) {
      runtime_.globalErrors.push_back("api.insecure: entryPoint \"traefik\" does not exist");
      return;
    }
    addInternalRouter("api@internal", "PathPrefix(`/api`)", kMaxPriority - 1, "api@internal", {}, *ep);
    if (api->dashboard)
      addInternalRouter("dashboard@internal", "PathPrefix(`/`)", kMaxPriority - 2, "dashboard@internal",
                        {"dashboard_redirect@internal", "dashboard_stripprefix@internal"}, *ep);
  }

  void addInternalRouter(const std::string& name, const std::string& ruleText, int64_t priority,
                         const std::string& service, const std::vector<std::string>& middlewares,
                         const runtime::EntryPoint& ep) {
    runtime::RouterState& state = runtime_.routers[name];
    state.provider = "internal";
    state.rule = ruleText;
    state.service = service;
    state.priority = priority;
    state.entryPoints = {ep.name};
    runtime_.services[service].usedBy.push_back(name);
    std::string error;
    std::vector<std::pair<std::string, exchange::MiddlewareFactoryPtr>> chain;
    auto rule = compile(ruleText, router::RuleSyntax::V3, error);
    if (!rule || !resolveChain(middlewares, "internal", chain, error, name)) {
      state.addError(error);
      return;
    }
    for (const auto& entry : chain) state.middlewares.push_back(entry.first);
    addRoute(name, service, rule, priority, compose(chain, services_[service], name, in_.workers), {&ep});
  }

  // --- prometheus -------------------------------------------------------------------------
  // prometheus@internal exists whenever metrics.prometheus is configured; its handler comes
  // from the application (src/observe), a placeholder when it gives none (causeway check).
  void buildPrometheusService() {
    const auto& metrics = in_.staticConfig->metrics;
    if (!metrics || !metrics->prometheus) return;
    auto given = in_.internalServices.find("prometheus@internal");
    services_["prometheus@internal"] = given != in_.internalServices.end() && given->second
                                           ? given->second
                                           : std::make_shared<NoopService>();
    runtime_.services["prometheus@internal"].provider = "internal";
  }

  // Unless metrics.prometheus.manualRouting: router prometheus@internal (PathPrefix(`/metrics`),
  // MaxInt) on metrics.prometheus.entryPoint.
  void buildPrometheusRouter() {
    const auto& metrics = in_.staticConfig->metrics;
    if (!metrics || !metrics->prometheus || metrics->prometheus->manualRouting) return;
    const std::string& name = metrics->prometheus->entryPoint;
    const runtime::EntryPoint* ep = findEntryPoint(name);
    if (!ep) {
      runtime_.globalErrors.push_back("metrics.prometheus: entryPoint \"" + name + "\" does not exist");
      return;
    }
    addInternalRouter("prometheus@internal", "PathPrefix(`/metrics`)", kMaxPriority, "prometheus@internal", {}, *ep);
  }

  const BuildInputs& in_;
  runtime::Snapshot& snapshot_;
  runtime::RuntimeState& runtime_;
  std::map<std::string, router::CompiledRulePtr>& rules_;
  std::set<std::string> usedRules_;
  std::map<std::string, std::pair<uint64_t, exchange::HandlerPtr>>& serviceCache_;
  std::map<std::string, std::pair<uint64_t, exchange::MiddlewareFactoryPtr>>& middlewareCache_;
  std::map<std::string, std::pair<uint64_t, std::shared_ptr<const upstream::Transport>>>& transportCache_;
  std::map<std::string, std::shared_ptr<const upstream::Transport>> transports_;
  std::map<std::string, std::string> transportErrors_;
  std::map<std::string, MiddlewareEntry> middlewares_;
  std::map<std::string, exchange::HandlerPtr> services_;
  std::vector<std::vector<std::pair<std::string, exchange::MiddlewareFactoryPtr>>> chains_;
  std::vector<std::tuple<size_t, std::string, std::string>> tlsHosts_;  // (entryPoint, host, options)
  std::shared_ptr<tls::TlsStore> tlsStore_;  // being built; moved into the snapshot
};

}  // namespace

std::string qualify(std::string_view name, std::string_view provider) {
  if (name.find('@') != std::string_view::npos) return std::string(name);
  std::string out(name);
  out += '@';
  out += provider;
  return out;
}

runtime::SnapshotPtr SnapshotBuilder::build(const BuildInputs& inputs) {
  auto snapshot = std::make_shared<runtime::Snapshot>();
  snapshot->generation = ++generation_;
  Build build(inputs, *this, *snapshot, rules_, serviceCache_, middlewareCache_, transportCache_);
  build.run(tlsBuilder_);
  snapshot->configs = inputs.providers;
  return snapshot;
}

}  // namespace causeway::control
