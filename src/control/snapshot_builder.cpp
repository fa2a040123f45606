#include "control/snapshot_builder.h"

#include <algorithm>
#include <optional>

#include "control/service_builder.h"
#include "control/snapshot_build.h"
#include "core/memory_budget.h"
#include "exchange/middleware_span.h"
#include "upstream/health/registry.h"

namespace causeway::control {

exchange::HandlerPtr compose(const MiddlewareChain& chain, exchange::HandlerPtr last, std::string_view routerName,
                             unsigned workers, const std::vector<std::string>* spanNames) {
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

std::string locationPrefix(const config::Location& location) {
  std::string where = location.toString();
  return where.empty() ? std::string() : where + ": ";
}

void SnapshotBuild::run() {
  snapshot_.routes.resize(in_.entryPoints->size());
  auto notice = [&](const config::ConfigError& e, const std::string& provider) {
    std::string message = e.element.empty() ? e.message : e.element + ": " + e.message;
    if (!provider.empty()) message += " (provider " + provider + ")";
    runtime_.warnings.push_back({e.location.toString(), std::move(message), e.unsupported});
  };
  for (const auto& e : in_.staticWarnings) notice(e, {});
  runtime_.providers = in_.providerStatus;
  for (const auto& [provider, config] : in_.providers)
    for (const auto& e : config->notices) notice(e, provider);
  buildTransports();
  buildApiManagement();
  buildMiddlewares();
  warnUnpublishedApis();
  buildInternal();
  buildApiPortal();
  buildApiServices();
  buildPrometheusService();
  // The health registry keeps the servers this build names (HTTP and TCP services).
  if (in_.health) in_.health->beginBuild();
  buildServices();
  buildTlsStore(caches_.tls);
  buildRouters();
  if (in_.health) in_.health->commitBuild();
  bindTlsHosts();
  for (auto& routes : snapshot_.routes) {
    routes.table.build();
    routes.tlsTable.build();
    routes.tcpTable.build();
    routes.tcpTlsTable.build();
  }
  collectHttpsHosts();
}

void SnapshotBuild::collectHttpsHosts() {
  for (auto& routes : snapshot_.routes) {
    routes.tlsTable.forEach([&](const router::CompiledRule& rule, int64_t, const std::string&, const auto&) {
      bool specific = false;
      for (const std::string& host : rule.hosts())
        if (host != "*") {
          routes.httpsHosts.push_back(host);
          specific = true;
        }
      if (!specific) routes.httpsCatchAll = true;
    });
    std::sort(routes.httpsHosts.begin(), routes.httpsHosts.end());
    routes.httpsHosts.erase(std::unique(routes.httpsHosts.begin(), routes.httpsHosts.end()), routes.httpsHosts.end());
  }
}

void SnapshotBuild::buildServices() {
  // 1. Every service's handler (service_builder.cpp), wrapped in its service-level
  //    middlewares (v3.7), so parents and routers call the same thing.
  ServiceBuildEnv env{in_, runtime_, transports_, transportErrors_, caches_.services};
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

runtime::SnapshotPtr SnapshotBuilder::build(const BuildInputs& inputs) {
  auto snapshot = std::make_shared<runtime::Snapshot>();
  snapshot->generation = ++generation_;
  std::optional<SnapshotBuild> build(std::in_place, inputs, *snapshot, caches_);
  build->run();
  {
    EagerRelease eager;  // what the build kept for itself goes back to the system at once
    build.reset();
  }
  snapshot->configs = inputs.providers;
  return snapshot;
}

}  // namespace causeway::control
