#include "control/snapshot_build.h"

#include <limits>

#include "control/internal_services.h"
#include "core/log.h"

namespace causeway::control {

namespace {

constexpr int64_t kMaxPriority = std::numeric_limits<int64_t>::max();

}  // namespace

void SnapshotBuild::buildInternal() {
  services_["noop@internal"] = std::make_shared<StatusService>(418);
  runtime_.services["noop@internal"].provider = "internal";
  runtime_.services["noop@internal"].type = "internal";
  // Not listed in the API: it exists for the Gateway provider's failed backendRefs only.
  services_["invalid-backend@internal"] = std::make_shared<StatusService>(500);
  if (in_.staticConfig->ping && in_.terminating) {
    services_["ping@internal"] =
        std::make_shared<PingService>(*in_.terminating, in_.staticConfig->ping->terminatingStatusCode);
    runtime_.services["ping@internal"].provider = "internal";
    runtime_.services["ping@internal"].type = "internal";
  }
}

// entryPoints.<ep>.http.redirections.entryPoint → router <ep>-to-<target>@internal.
void SnapshotBuild::buildRedirections() {
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
// certificatesResolvers.<r>.acme.httpChallenge.entryPoint → router acme-http@internal
// (PathPrefix(`/.well-known/acme-challenge/`), the highest priority unless the entryPoint
// has allowACMEByPass) to acme-http@internal, whose handler the application gives (the
// ACME provider's answers; a 404 placeholder for causeway check).
void SnapshotBuild::buildAcmeHttpChallenge() {
  std::set<std::string> entryPoints;
  for (const auto& [name, resolver] : in_.staticConfig->certificatesResolvers)
    if (resolver.acme && resolver.acme->httpChallenge) entryPoints.insert(resolver.acme->httpChallenge->entryPoint);
  if (entryPoints.empty()) return;
  const std::string name = "acme-http@internal";
  auto given = in_.internalServices.find(name);
  services_[name] = given != in_.internalServices.end() ? given->second : std::make_shared<StatusService>(404);
  runtime_.services[name].provider = "internal";
  runtime_.services[name].type = "internal";
  const std::string ruleText = "PathPrefix(`/.well-known/acme-challenge/`)";
  std::string error;
  auto rule = compile(ruleText, router::RuleSyntax::V3, error);
  runtime::RouterState& state = runtime_.routers[name];
  state.provider = "internal";
  state.rule = ruleText;
  state.service = name;
  state.priority = kMaxPriority;
  for (const std::string& epName : entryPoints) {
    const runtime::EntryPoint* ep = findEntryPoint(epName);
    if (!ep || ep->udp) {
      runtime_.globalErrors.push_back("certificatesResolvers: httpChallenge.entryPoint \"" + epName +
                                      "\" is not a TCP entryPoint");
      continue;
    }
    auto configured = in_.staticConfig->entryPoints.find(epName);
    bool bypass = configured != in_.staticConfig->entryPoints.end() && configured->second.allowACMEByPass;
    state.entryPoints.push_back(ep->name);
    addRoute(name, name, rule, bypass ? 0 : kMaxPriority, services_[name], {ep});
  }
  runtime_.services[name].usedBy.push_back(name);
}

void SnapshotBuild::buildPing() {
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

// api@internal and dashboard@internal exist whenever `api` is configured (users may route
// to them); their handlers come from the application (src/admin), a placeholder when it
// gives none (causeway check). The dashboard's own middlewares are made here too, so any
// router may use them.
void SnapshotBuild::buildApiServices() {
  // rest@internal exists whenever providers.rest is configured (its handler: src/admin).
  if (in_.staticConfig->providers.rest) {
    auto given = in_.internalServices.find("rest@internal");
    services_["rest@internal"] = given != in_.internalServices.end() && given->second
                                     ? given->second
                                     : std::make_shared<StatusService>(418);
    runtime_.services["rest@internal"].provider = "internal";
  }
  const auto& api = in_.staticConfig->api;
  if (!api) return;
  std::vector<std::string> names = {"api@internal"};
  if (api->dashboard) names.push_back("dashboard@internal");
  for (const auto& name : names) {
    auto given = in_.internalServices.find(name);
    services_[name] = given != in_.internalServices.end() && given->second
                          ? given->second
                          : std::make_shared<StatusService>(418);
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

void SnapshotBuild::addInternalMiddleware(const std::string& name, const std::string& type, config::Node options) {
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
void SnapshotBuild::buildApiRouters() {
  const auto& rest = in_.staticConfig->providers.rest;
  if (rest && rest->insecure) {
    if (const runtime::EntryPoint* ep = findEntryPoint("traefik"))
      addInternalRouter("rest@internal", "PathPrefix(`/api/providers`)", kMaxPriority, "rest@internal",
                        {}, *ep);
    else
      runtime_.globalErrors.push_back("providers.rest.insecure: entryPoint \"traefik\" does not exist");
  }
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

void SnapshotBuild::addInternalRouter(const std::string& name, const std::string& ruleText, int64_t priority,
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
  MiddlewareChain chain;
  auto rule = compile(ruleText, router::RuleSyntax::V3, error);
  if (!rule || !resolveChain(middlewares, "internal", chain, error, name)) {
    state.addError(error);
    return;
  }
  for (const auto& entry : chain) state.middlewares.push_back(entry.first);
  addRoute(name, service, rule, priority, compose(chain, services_[service], name, in_.workers), {&ep});
}

// prometheus@internal exists whenever metrics.prometheus is configured; its handler comes
// from the application (src/observe), a placeholder when it gives none (causeway check).
void SnapshotBuild::buildPrometheusService() {
  const auto& metrics = in_.staticConfig->metrics;
  if (!metrics || !metrics->prometheus) return;
  auto given = in_.internalServices.find("prometheus@internal");
  services_["prometheus@internal"] = given != in_.internalServices.end() && given->second
                                         ? given->second
                                         : std::make_shared<StatusService>(418);
  runtime_.services["prometheus@internal"].provider = "internal";
}

// Unless metrics.prometheus.manualRouting: router prometheus@internal (PathPrefix(`/metrics`),
// MaxInt) on metrics.prometheus.entryPoint.
void SnapshotBuild::buildPrometheusRouter() {
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

}  // namespace causeway::control
