// One snapshot build (SnapshotBuilder::build), in steps, each in its own file:
//   build_transports.cpp   serversTransports (and default@internal)
//   build_api_management.cpp  the API management resources (config/api_management.h)
//   build_middlewares.cpp  middleware factories, chains and their expansion
//   snapshot_builder.cpp   services (service_builder.cpp builds each handler) and the order
//   build_routers.cpp      routers: entryPoints, TLS options, rule, service, chains, routes
//   build_internal.cpp     @internal services and routers (ping, api, dashboard, metrics,
//                          entryPoint redirections)
// Internal to src/control; runs on the control thread.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "control/build_inputs.h"
#include "runtime/snapshot.h"
#include "upstream/tcp_dial.h"

namespace causeway::control {

struct MiddlewareEntry {
  std::string provider;
  std::string type;
  exchange::MiddlewareFactoryPtr factory;          // null for chains and broken middlewares
  std::vector<std::string> chain;        // qualified members when type is chain
  std::vector<exchange::ServiceRefPtr> serviceRefs;  // services it calls, resolved after services
  bool ok = true;
};

// Qualified middleware names with their factories, outermost first.
using MiddlewareChain = std::vector<std::pair<std::string, exchange::MiddlewareFactoryPtr>>;

// A composed chain: middlewares in order, the innermost wrapping `last`. With `spanNames`
// (one per middleware: the router traces in detail), the chain records middleware spans
// (exchange/middleware_span.h); an empty name is a middleware that records its own.
exchange::HandlerPtr compose(const MiddlewareChain& chain, exchange::HandlerPtr last, std::string_view routerName,
                             unsigned workers, const std::vector<std::string>* spanNames = nullptr);

// Weighted services (TCP, UDP) over services already in `built`, nested in any order: each is
// made once its children are; a missing child, or one with errors or in a loop, is an error on
// the parent. `make(children, weights)` builds the weighted handler.
template <class Handler, class Config, class Make>
void resolveWeighted(std::map<std::string, Handler>& built,
                     const std::map<std::string, std::pair<std::string, const config::Element<Config>*>>& weighted,
                     std::map<std::string, runtime::ServiceState>& states, Make make) {
  std::set<std::string> visiting;
  std::function<Handler(const std::string&)> resolve = [&](const std::string& qualified) -> Handler {
    if (auto it = built.find(qualified); it != built.end()) return it->second;
    auto pending = weighted.find(qualified);
    if (pending == weighted.end() || !visiting.insert(qualified).second) return nullptr;
    const auto& [provider, element] = pending->second;
    std::vector<Handler> children;
    std::vector<int> weights;
    for (const auto& child : element->value.weighted->services) {
      std::string childName = qualify(child.name, provider);
      Handler handler = resolve(childName);
      if (!handler) {
        bool known = states.count(childName) > 0;
        states[qualified].addError(locationPrefix(element->location) + "the service \"" + childName + "\" " +
                                   (known ? "has errors or is part of a loop" : "does not exist"));
        visiting.erase(qualified);
        return nullptr;
      }
      states[childName].usedBy.push_back(qualified);
      children.push_back(std::move(handler));
      weights.push_back(child.weight);
    }
    visiting.erase(qualified);
    Handler handler = make(std::move(children), weights);
    built[qualified] = handler;
    return handler;
  };
  for (const auto& [qualified, entry] : weighted) resolve(qualified);
}

class SnapshotBuild {
 public:
  SnapshotBuild(const BuildInputs& in, runtime::Snapshot& snapshot, BuildCaches& caches)
      : in_(in), snapshot_(snapshot), runtime_(snapshot.runtime), caches_(caches) {}

  void run();

 private:
  // --- transports --------------------------------------------------------------------------------
  void buildTransports();
  // --- API management (build_api_management.cpp) ---------------------------------------------------
  // The providers' resources into apiCatalog_, their states and their references checked.
  void buildApiManagement();
  // --- middlewares -------------------------------------------------------------------------------
  void buildMiddlewares();
  // An API no `api` middleware names: a warning on it (it is published nowhere).
  void warnUnpublishedApis();
  // apiportal@internal, when a provider has an APIPortal: the portals' pages and their JSON
  // API (gateway/api/portal.cpp, registered as the internal middleware type apiPortal).
  void buildApiPortal();
  void buildChain(const std::string& qualified, const std::string& provider, const config::Node& options,
                  MiddlewareEntry& entry, runtime::MiddlewareState& state);
  // Appends the factories of `name` (expanding chains) to `out`; false with `error` set
  // when a middleware is missing, broken, or a chain loops.
  bool expandMiddleware(const std::string& name, std::vector<std::string>& visiting,
                        MiddlewareChain& out, std::string& error,
                        const std::string& usedBy);
  bool resolveChain(const std::vector<std::string>& names, const std::string& provider,
                    MiddlewareChain& out, std::string& error,
                    const std::string& usedBy);
  // --- services ----------------------------------------------------------------------------------
  void buildServices();
  // --- routers -----------------------------------------------------------------------------------
  std::vector<const runtime::EntryPoint*> defaultEntryPoints() const;
  const runtime::EntryPoint* findEntryPoint(const std::string& name) const;
  // `tcp`: a TCP router's rule (router::compileTcpRule). Cached across builds either way.
  router::CompiledRulePtr compile(const std::string& rule, router::RuleSyntax syntax, std::string& error,
                                  bool tcp = false);
  void addRoute(const std::string& name, const std::string& service, router::CompiledRulePtr rule,
                int64_t priority, exchange::HandlerPtr handler, const std::vector<const runtime::EntryPoint*>& entryPoints,
                bool tls = false);
  // Does TLS option set `name` exist (the implicit "default" always does)?
  bool tlsOptionsExist(const std::string& name) const;
  // The TLS store's certificates and options, before the routers that refer to them.
  void buildTlsStore(tls::TlsStoreBuilder& builder);
  // Which options serve which host, from the routers' Host() domains.
  void bindTlsHosts();
  void buildRouters();
  // The entryPoints an HTTP or TCP router listens on: `names`, else the default ones.
  std::vector<const runtime::EntryPoint*> routerEntryPoints(const std::vector<std::string>& names,
                                                            const std::string& where,
                                                            runtime::RouterState& state) const;
  // The qualified TLS options `configured` names ("default" when empty) into `tlsOptions`;
  // false, with the error on the router, when they do not exist or could not be built.
  bool resolveTlsOptions(const std::string& configured, const std::string& provider, const std::string& where,
                         runtime::RouterState& state, std::string& tlsOptions) const;
  // A certResolver the static configuration does not define: a warning on the router.
  // The resolver exists; its last failure for the router's names (tls.domains, else the
  // rule's hosts) is a warning of the router.
  void checkCertResolver(const std::string& resolver, const std::vector<config::Domain>& domains,
                         const router::CompiledRule* rule, const std::string& where, runtime::RouterState& state) const;
  const exchange::HandlerPtr* routerService(const config::Router& r, const std::string& qualified,
                                            const std::string& provider, const std::string& where,
                                            runtime::RouterState& state);
  std::vector<std::string> spanNames(const MiddlewareChain& chain);
  void buildRouter(const std::string& qualified, const std::string& provider,
                   const config::Element<config::Router>& element, router::RuleSyntax defaultSyntax,
                   runtime::RouterState& state);
  // Whether the router's traces on `ep` are detailed (tracing on, traceVerbosity detailed on
  // the router or, unset there, on the entryPoint): its middlewares then get spans.
  bool tracesInDetail(const config::Router& r, const runtime::EntryPoint& ep) const;
  // --- internal services and routers -------------------------------------------------------------
  void buildInternal();
  // entryPoints.<ep>.http.redirections.entryPoint → router <ep>-to-<target>@internal.
  void buildRedirections();
  // ping@internal on ping.entryPoint, unless ping.manualRouting.
  void buildPing();
  // api@internal and dashboard@internal exist whenever `api` is configured (users may route
  // to them); their handlers come from the application (src/admin), a placeholder when it
  // gives none (causeway check). The dashboard's own middlewares are made here too, so any
  // router may use them.
  void buildApiServices();
  void addInternalMiddleware(const std::string& name, const std::string& type, config::Node options);
  // api.insecure: routers api@internal (PathPrefix(`/api`), MaxInt-1) and, with the
  // dashboard, dashboard@internal (PathPrefix(`/`), MaxInt-2) on the `traefik` entryPoint;
  // providers.rest.insecure: rest@internal (PathPrefix(`/api/providers`), MaxInt) there too.
  void buildApiRouters();
  void addInternalRouter(const std::string& name, const std::string& ruleText, int64_t priority,
                         const std::string& service, const std::vector<std::string>& middlewares,
                         const runtime::EntryPoint& ep);
  // prometheus@internal exists whenever metrics.prometheus is configured; its handler comes
  // from the application (src/observe), a placeholder when it gives none (causeway check).
  void buildPrometheusService();
  // Unless metrics.prometheus.manualRouting: router prometheus@internal (PathPrefix(`/metrics`),
  // MaxInt) on metrics.prometheus.entryPoint.
  void buildPrometheusRouter();
  void buildAcmeHttpChallenge();

  // --- tcp (build_tcp.cpp) -------------------------------------------------------------------------
  void buildTcp();
  void buildTcpTransports();
  void buildTcpMiddlewares();
  void buildTcpServices();
  void buildTcpRouters();
  void buildTcpRouter(const std::string& qualified, const std::string& provider,
                      const config::Element<config::TcpRouter>& element, router::RuleSyntax defaultSyntax,
                      runtime::RouterState& state);
  // --- udp (build_udp.cpp) -------------------------------------------------------------------------
  void buildUdp();
  // The HTTPS hosts of each entryPoint (runtime::EntryPointRoutes::httpsHosts), once the
  // TLS route tables are built.
  void collectHttpsHosts();

  const BuildInputs& in_;
  runtime::Snapshot& snapshot_;
  runtime::RuntimeState& runtime_;
  BuildCaches& caches_;
  std::set<RuleKey> usedRules_;  // rule cache keys this build used (views of the cache's rules)
  std::set<std::string> parentRouters_;  // routers other routers name in parentRefs
  std::map<std::string, std::shared_ptr<const upstream::Transport>> transports_;
  std::map<std::string, std::string> transportErrors_;
  config::ApiCatalog apiCatalog_;
  std::map<std::string, MiddlewareEntry> middlewares_;
  std::map<std::string, exchange::HandlerPtr> services_;
  std::vector<std::tuple<size_t, std::string, std::string>> tlsHosts_;  // (entryPoint, host, options)
  std::vector<std::tuple<std::string, size_t, std::string, std::string>> tlsHostRouters_;  // + router
  std::shared_ptr<tls::TlsStore> tlsStore_;  // being built; moved into the snapshot
  std::vector<tls::AcmeOrderStatus> failedOrders_;  // the ACME orders with a last error
  std::map<std::string, std::shared_ptr<const upstream::TcpTransport>> tcpTransports_;
  std::map<std::string, std::string> tcpTransportErrors_;
  std::map<std::string, exchange::TcpMiddlewareFactoryPtr> tcpMiddlewares_;
  std::map<std::string, exchange::TcpHandlerPtr> tcpServices_;
};

}  // namespace causeway::control
