#include "admin/api_json.h"

#include <algorithm>
#include <ctime>
#include <set>
#include <type_traits>

#include "admin/json_encode.h"
#include "config/dynamic_config.h"
#include "core/version.h"
#include "exchange/middleware_registry.h"
#include "upstream/health/state.h"

namespace causeway::admin {
namespace {

// A provider's http, tcp or udp section.
template <class Section>
const Section& sectionOf(const config::DynamicConfig& config) {
  if constexpr (std::is_same_v<Section, config::HttpConfig>) return config.http;
  else if constexpr (std::is_same_v<Section, config::TcpConfig>) return config.tcp;
  else return config.udp;
}

// The configuration element `name` ("bare@provider") comes from, or nullptr (internal ones).
template <class Section, class T>
const config::Element<T>* findElement(const runtime::Snapshot& snapshot, const std::string& name,
                                      const std::map<std::string, config::Element<T>> Section::*member) {
  size_t at = name.find('@');
  if (at == std::string::npos) return nullptr;
  auto provider = snapshot.configs.find(name.substr(at + 1));
  if (provider == snapshot.configs.end() || !provider->second) return nullptr;
  const auto& elements = sectionOf<Section>(*provider->second).*member;
  auto it = elements.find(name.substr(0, at));
  return it == elements.end() ? nullptr : &it->second;
}

json::array stringArray(const std::vector<std::string>& values) {
  json::array out;
  out.reserve(values.size());
  for (const auto& v : values) out.emplace_back(json::string(v));
  return out;
}

// Sorted, without duplicates (Traefik sorts usedBy and using).
json::array sortedUnique(std::vector<std::string> values) {
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  return stringArray(values);
}

// Adds status and error (each message once, in order).
void addRuntime(json::object& out, const std::string& name, const runtime::ElementState& state) {
  std::vector<std::string> errors;
  for (const auto& e : state.errors)
    if (std::find(errors.begin(), errors.end(), e) == errors.end()) errors.push_back(e);
  if (!errors.empty()) out["error"] = stringArray(errors);
  out["status"] = runtime::statusName(state.status);
  out["name"] = name;
  if (!state.provider.empty()) out["provider"] = state.provider;
  else if (size_t at = name.find('@'); at != std::string::npos) out["provider"] = name.substr(at + 1);
}

std::string lower(std::string text) {
  for (char& c : text)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return text;
}

// "stripprefix" or "StripPrefix" → "stripPrefix" (the registered spelling = Traefik's key).
std::string canonicalType(const std::string& type) {
  std::string folded = lower(type);
  for (const auto& known : exchange::MiddlewareRegistry::instance().types())
    if (lower(known) == folded) return known;
  return type;
}

json::object section(size_t total, size_t warnings, size_t errors) {
  json::object out;
  out["total"] = total;
  out["warnings"] = warnings;
  out["errors"] = errors;
  return out;
}

template <class Map>
json::object countSection(const Map& elements) {
  size_t warnings = 0, errors = 0;
  for (const auto& [name, state] : elements) {
    if (state.status == runtime::ElementStatus::Disabled) ++errors;
    else if (state.status == runtime::ElementStatus::Warning) ++warnings;
  }
  return section(elements.size(), warnings, errors);
}

// The first metrics exporter set (Traefik reports it by its Go field name).
std::string metricsExporter(const std::optional<config::Metrics>& metrics) {
  if (!metrics) return {};
  if (metrics->prometheus) return "Prometheus";
  if (metrics->datadog) return "Datadog";
  if (metrics->statsD) return "StatsD";
  if (metrics->influxDB2) return "InfluxDB2";
  if (metrics->otlp) return "OTLP";
  return {};
}

json::array providerNames(const config::StaticConfig& config) {
  const auto& p = config.providers;
  json::array out;
  auto add = [&](bool present, const char* name) {
    if (present) out.emplace_back(name);
  };
  add(p.docker.has_value(), "Docker");
  add(p.swarm.has_value(), "Swarm");
  add(p.file.has_value(), "File");
  add(p.kubernetesIngress.has_value(), "KubernetesIngress");
  add(p.kubernetesIngressNGINX.has_value(), "KubernetesIngressNGINX");
  add(p.kubernetesCRD.has_value(), "KubernetesCRD");
  add(p.kubernetesGateway.has_value(), "KubernetesGateway");
  add(p.knative.has_value(), "Knative");
  add(p.rest.has_value(), "Rest");
  add(p.consulCatalog.has_value(), "ConsulCatalog");
  add(p.nomad.has_value(), "Nomad");
  add(p.ecs.has_value(), "Ecs");
  add(p.consul.has_value(), "Consul");
  add(p.etcd.has_value(), "Etcd");
  add(p.zooKeeper.has_value(), "ZooKeeper");
  add(p.redis.has_value(), "Redis");
  add(p.http.has_value(), "HTTP");
  if (p.plugin && p.plugin->isMap())
    for (const auto& entry : p.plugin->entries()) out.emplace_back("plugin-" + entry.key);
  return out;
}

}  // namespace

json::object routerJson(const runtime::Snapshot& snapshot, const std::string& name,
                        const runtime::RouterState& state) {
  const auto* element = findElement(snapshot, name, &config::HttpConfig::routers);
  json::object out;
  int64_t priority = state.priority;
  if (element) {
    out = toJsonObject(element->value);
    priority = element->value.priority;
  } else {
    // Routers causeway makes itself (@internal).
    if (!state.entryPoints.empty()) out["entryPoints"] = stringArray(state.entryPoints);
    if (!state.middlewares.empty()) out["middlewares"] = stringArray(state.middlewares);
    if (!state.service.empty()) out["service"] = state.service;
    if (!state.rule.empty()) out["rule"] = state.rule;
    if (priority != 0) out["priority"] = priority;
  }
  // Routers without entryPoints listen on the default ones (Traefik fills them in).
  if (!out.contains("entryPoints") && !state.entryPoints.empty())
    out["entryPoints"] = stringArray(state.entryPoints);
  if (auto tls = out.find("tls"); tls != out.end()) {
    if (!tls->value().is_object()) tls->value() = json::object();
    if (!tls->value().as_object().contains("options")) tls->value().as_object()["options"] = "default";
  } else if (state.tls) {
    // TLS from the entryPoint's http.tls: shown as the router's, as Traefik does.
    out["tls"] = json::object{{"options", "default"}};
  }
  addRuntime(out, name, state);
  if (!state.entryPoints.empty()) out["using"] = sortedUnique(state.entryPoints);
  out["priorityStr"] = std::to_string(priority);
  return out;
}

namespace {

// A service of any section: its configuration, runtime, usedBy, type and serverStatus (live
// from the health registry when the build registered its servers, else as built).
template <class Section, class T>
json::object anyServiceJson(const runtime::Snapshot& snapshot, const std::string& name,
                            const runtime::ServiceState& state,
                            const std::map<std::string, config::Element<T>> Section::*member) {
  const auto* element = findElement(snapshot, name, member);
  json::object out;
  if (element) out = toJsonObject(element->value);
  addRuntime(out, name, state);
  if (!state.usedBy.empty()) out["usedBy"] = sortedUnique(state.usedBy);
  if (!state.type.empty()) out["type"] = state.type;
  std::map<std::string, std::string> status = state.currentServerStatus();
  if (!status.empty()) {
    json::object servers;
    for (const auto& [url, value] : status) servers[url] = value;
    out["serverStatus"] = std::move(servers);
  }
  return out;
}

}  // namespace

json::object serviceJson(const runtime::Snapshot& snapshot, const std::string& name,
                         const runtime::ServiceState& state) {
  json::object out = anyServiceJson(snapshot, name, state, &config::HttpConfig::services);
  if (state.type == "internal") out.erase("type");
  return out;
}

json::object middlewareJson(const runtime::Snapshot& snapshot, const std::string& name,
                            const runtime::MiddlewareState& state) {
  const auto* element = findElement(snapshot, name, &config::HttpConfig::middlewares);
  json::object out;
  std::string type = element ? element->value.type : state.type;
  const config::Node* options = element ? &element->value.options : state.internalOptions.get();
  if (!type.empty()) {
    json::value value = options ? nodeToJson(*options) : json::value(json::object());
    if (value.is_null()) value = json::object();
    out[canonicalType(type)] = std::move(value);
  }
  addRuntime(out, name, state);
  if (!state.usedBy.empty()) out["usedBy"] = sortedUnique(state.usedBy);
  if (!type.empty()) out["type"] = lower(type);
  return out;
}

json::object apiResourceJson(const runtime::Snapshot& snapshot, const std::string& name,
                             const runtime::ApiResourceState& state) {
  json::object out;
  size_t at = name.find('@');
  auto provider = at == std::string::npos ? snapshot.configs.end() : snapshot.configs.find(name.substr(at + 1));
  if (provider != snapshot.configs.end() && provider->second) {
    const config::ApiManagementConfig& am = provider->second->apiManagement;
    std::string bare = name.substr(0, at);
    auto spec = [&](const auto& map) {
      if (auto it = map.find(bare); it != map.end()) out["spec"] = toJsonObject(it->second.value);
    };
    if (state.kind == "apis") spec(am.apis);
    else if (state.kind == "apiVersions") spec(am.apiVersions);
    else if (state.kind == "apiAuths") {
      spec(am.apiAuths);
      // A literal signing secret stays in; references (env:, file:) are shown.
      if (auto sp = out.find("spec"); sp != out.end())
        if (auto jwt = sp->value().as_object().find("jwt"); jwt != sp->value().as_object().end() && jwt->value().is_object())
          if (auto secret = jwt->value().as_object().find("signingSecret"); secret != jwt->value().as_object().end())
            if (!secret->value().is_string() || !(secret->value().get_string().starts_with("env:") ||
                                                  secret->value().get_string().starts_with("file:")))
              secret->value() = "<redacted>";
    }
    else if (state.kind == "apiPlans") spec(am.apiPlans);
    else if (state.kind == "apiBundles") spec(am.apiBundles);
    else if (state.kind == "managedSubscriptions") spec(am.managedSubscriptions);
    else if (state.kind == "apiCatalogItems") spec(am.apiCatalogItems);
    else if (state.kind == "apiPortals") spec(am.apiPortals);
    else if (state.kind == "contentItems") spec(am.contentItems);
    else if (state.kind == "apiPortalAuths") {
      spec(am.apiPortalAuths);
      // Literal secrets stay in; references (env:, file:) are shown.
      if (auto sp = out.find("spec"); sp != out.end())
        if (auto oidc = sp->value().as_object().find("oidc"); oidc != sp->value().as_object().end() && oidc->value().is_object())
          for (const char* field : {"clientSecret", "sessionSecret"})
            if (auto secret = oidc->value().as_object().find(field); secret != oidc->value().as_object().end())
              if (!secret->value().is_string() || !(secret->value().get_string().starts_with("env:") ||
                                                    secret->value().get_string().starts_with("file:")))
                secret->value() = "<redacted>";
    }
    else if (state.kind == "managedApplications") {
      spec(am.managedApplications);
      // Keys never leave: each shows its title and whether it is suspended.
      if (auto s = out.find("spec"); s != out.end())
        if (auto keys = s->value().as_object().find("apiKeys"); keys != s->value().as_object().end())
          for (json::value& key : keys->value().as_array())
            for (const char* secret : {"value", "sha256", "secretName"}) key.as_object().erase(secret);
    }
  }
  addRuntime(out, name, state);
  out["kind"] = state.kind;
  if (!state.usedBy.empty()) out["usedBy"] = sortedUnique(state.usedBy);
  return out;
}

json::object tcpRouterJson(const runtime::Snapshot& snapshot, const std::string& name,
                           const runtime::RouterState& state) {
  const auto* element = findElement(snapshot, name, &config::TcpConfig::routers);
  json::object out;
  int64_t priority = state.priority;
  if (element) {
    out = toJsonObject(element->value);
    if (element->value.priority != 0) priority = element->value.priority;
  }
  if (!out.contains("entryPoints") && !state.entryPoints.empty()) out["entryPoints"] = stringArray(state.entryPoints);
  if (auto tls = out.find("tls"); tls != out.end()) {
    if (!tls->value().is_object()) tls->value() = json::object();
    auto& object = tls->value().as_object();
    if (!object.contains("passthrough")) object["passthrough"] = state.passthrough;
    if (!state.passthrough && !object.contains("options")) object["options"] = "default";
  }
  addRuntime(out, name, state);
  if (!state.entryPoints.empty()) out["using"] = sortedUnique(state.entryPoints);
  out["priorityStr"] = std::to_string(priority);
  return out;
}

json::object tcpServiceJson(const runtime::Snapshot& snapshot, const std::string& name,
                            const runtime::ServiceState& state) {
  return anyServiceJson(snapshot, name, state, &config::TcpConfig::services);
}

json::object tcpMiddlewareJson(const runtime::Snapshot& snapshot, const std::string& name,
                               const runtime::MiddlewareState& state) {
  const auto* element = findElement(snapshot, name, &config::TcpConfig::middlewares);
  json::object out;
  if (element) out = toJsonObject(element->value);
  addRuntime(out, name, state);
  if (!state.usedBy.empty()) out["usedBy"] = sortedUnique(state.usedBy);
  if (!state.type.empty()) out["type"] = state.type;
  return out;
}

json::object udpRouterJson(const runtime::Snapshot& snapshot, const std::string& name,
                           const runtime::RouterState& state) {
  const auto* element = findElement(snapshot, name, &config::UdpConfig::routers);
  json::object out;
  if (element) out = toJsonObject(element->value);
  if (!out.contains("entryPoints") && !state.entryPoints.empty()) out["entryPoints"] = stringArray(state.entryPoints);
  addRuntime(out, name, state);
  if (!state.entryPoints.empty()) out["using"] = sortedUnique(state.entryPoints);
  return out;
}

json::object udpServiceJson(const runtime::Snapshot& snapshot, const std::string& name,
                            const runtime::ServiceState& state) {
  return anyServiceJson(snapshot, name, state, &config::UdpConfig::services);
}

json::array certificatesJson(const runtime::Snapshot& snapshot) {
  json::array out;
  if (!snapshot.tls) return out;
  const auto& certificates = snapshot.tls->certificates();
  const auto& providers = snapshot.tls->certificateProviders();
  auto when = [](int64_t unix) {
    return unix == 0 ? std::string() : rfc3339Nano(std::chrono::system_clock::time_point(std::chrono::seconds(unix)));
  };
  // What the ACME provider knows of each certificate the routers want.
  std::vector<tls::AcmeOrderStatus> orders;
  if (const tls::AcmeState* acme = snapshot.tls->acme()) orders = acme->orders();
  std::vector<bool> shown(orders.size(), false);
  int64_t now = int64_t(std::time(nullptr));
  for (size_t i = 0; i < certificates.size(); ++i) {
    const tls::TlsCertificate& c = *certificates[i];
    json::object item;
    item["domains"] = stringArray(c.names);
    item["commonName"] = c.commonName;
    item["issuer"] = c.issuer;
    item["serial"] = c.serial;
    item["notBefore"] = when(c.notBefore);
    item["notAfter"] = when(c.notAfter);
    item["provider"] = i < providers.size() ? providers[i] : std::string();
    // enabled; warning when it expires within 30 days; disabled once it has expired.
    item["status"] = c.notAfter <= now ? "disabled" : (c.notAfter - now < 30 * 86400 ? "warning" : "enabled");
    std::string resolver, lastError;
    int64_t nextAttempt = 0;
    for (size_t o = 0; o < orders.size(); ++o)
      if (!orders[o].serial.empty() && orders[o].serial == c.serial) {
        shown[o] = true;
        resolver = orders[o].resolver;
        lastError = orders[o].lastError;
        nextAttempt = orders[o].nextAttempt;
      }
    item["resolver"] = resolver;
    item["lastError"] = lastError;
    item["nextAttempt"] = when(nextAttempt);
    out.push_back(std::move(item));
  }
  // Wanted but not held: being ordered ("pending") or failed ("error").
  for (size_t o = 0; o < orders.size(); ++o) {
    if (shown[o]) continue;
    const tls::AcmeOrderStatus& order = orders[o];
    json::object item;
    item["domains"] = stringArray(order.names);
    item["commonName"] = "";
    item["issuer"] = "";
    item["serial"] = "";
    item["notBefore"] = "";
    item["notAfter"] = "";
    item["provider"] = "acme";
    item["status"] = order.lastError.empty() ? "pending" : "error";
    item["resolver"] = order.resolver;
    item["lastError"] = order.lastError;
    item["nextAttempt"] = when(order.nextAttempt);
    out.push_back(std::move(item));
  }
  return out;
}

json::object entryPointJson(const std::string& name, const config::EntryPoint& entryPoint) {
  json::object out = toJsonObject(entryPoint);
  out["name"] = name;
  return out;
}

json::object overviewJson(const runtime::Snapshot& snapshot, const config::StaticConfig& config) {
  json::object out;
  out["http"] = json::object{{"routers", countSection(snapshot.runtime.routers)},
                             {"services", countSection(snapshot.runtime.services)},
                             {"middlewares", countSection(snapshot.runtime.middlewares)}};
  out["tcp"] = json::object{{"routers", countSection(snapshot.runtime.tcpRouters)},
                            {"services", countSection(snapshot.runtime.tcpServices)},
                            {"middlewares", countSection(snapshot.runtime.tcpMiddlewares)}};
  out["udp"] = json::object{{"routers", countSection(snapshot.runtime.udpRouters)},
                            {"services", countSection(snapshot.runtime.udpServices)}};
  json::object features;
  features["tracing"] = config.tracing ? "OTLP" : "";
  features["metrics"] = metricsExporter(config.metrics);
  features["accessLog"] = config.accessLog.has_value();
  out["features"] = std::move(features);
  json::array providers = providerNames(config);
  if (!providers.empty()) out["providers"] = std::move(providers);
  // causeway: each provider's last update and current error (RFC 3339, UTC).
  json::object status;
  for (const auto& [name, provider] : snapshot.runtime.providers) {
    json::object one;
    if (provider.lastUpdate > 0) {
      std::time_t t = std::time_t(provider.lastUpdate);
      std::tm tm{};
      gmtime_r(&t, &tm);
      char text[32];
      std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
      one["lastUpdate"] = text;
    }
    one["lastError"] = provider.lastError;
    status[name] = std::move(one);
  }
  out["providerStatus"] = std::move(status);
  return out;
}

json::array warningsJson(const runtime::Snapshot& snapshot) {
  json::array out;
  for (const auto& w : snapshot.runtime.warnings) {
    json::object item;
    if (!w.location.empty()) item["location"] = w.location;
    item["message"] = w.message;
    item["notSupportedYet"] = w.unsupported;
    out.push_back(std::move(item));
  }
  return out;
}

json::object rawDataJson(const runtime::Snapshot& snapshot) {
  json::object routers, services, middlewares;
  for (const auto& [name, state] : snapshot.runtime.routers) {
    json::object r = routerJson(snapshot, name, state);
    for (const char* key : {"name", "provider", "priorityStr"}) r.erase(key);
    routers[name] = std::move(r);
  }
  for (const auto& [name, state] : snapshot.runtime.services) {
    json::object s = serviceJson(snapshot, name, state);
    for (const char* key : {"name", "provider", "type"}) s.erase(key);
    services[name] = std::move(s);
  }
  for (const auto& [name, state] : snapshot.runtime.middlewares) {
    json::object m = middlewareJson(snapshot, name, state);
    for (const char* key : {"name", "provider", "type"}) m.erase(key);
    middlewares[name] = std::move(m);
  }
  json::object tcpRouters, tcpServices, tcpMiddlewares;
  for (const auto& [name, state] : snapshot.runtime.tcpRouters) {
    json::object r = tcpRouterJson(snapshot, name, state);
    for (const char* key : {"name", "provider", "priorityStr"}) r.erase(key);
    tcpRouters[name] = std::move(r);
  }
  for (const auto& [name, state] : snapshot.runtime.tcpServices) {
    json::object s = tcpServiceJson(snapshot, name, state);
    for (const char* key : {"name", "provider", "type"}) s.erase(key);
    tcpServices[name] = std::move(s);
  }
  for (const auto& [name, state] : snapshot.runtime.tcpMiddlewares) {
    json::object m = tcpMiddlewareJson(snapshot, name, state);
    for (const char* key : {"name", "provider", "type"}) m.erase(key);
    tcpMiddlewares[name] = std::move(m);
  }
  json::object out;
  if (!routers.empty()) out["routers"] = std::move(routers);
  if (!middlewares.empty()) out["middlewares"] = std::move(middlewares);
  if (!services.empty()) out["services"] = std::move(services);
  if (!tcpRouters.empty()) out["tcpRouters"] = std::move(tcpRouters);
  if (!tcpMiddlewares.empty()) out["tcpMiddlewares"] = std::move(tcpMiddlewares);
  if (!tcpServices.empty()) out["tcpServices"] = std::move(tcpServices);
  json::object udpRouters, udpServices;
  for (const auto& [name, state] : snapshot.runtime.udpRouters) {
    json::object r = udpRouterJson(snapshot, name, state);
    for (const char* key : {"name", "provider"}) r.erase(key);
    udpRouters[name] = std::move(r);
  }
  for (const auto& [name, state] : snapshot.runtime.udpServices) {
    json::object s = udpServiceJson(snapshot, name, state);
    for (const char* key : {"name", "provider", "type"}) s.erase(key);
    udpServices[name] = std::move(s);
  }
  if (!udpRouters.empty()) out["udpRouters"] = std::move(udpRouters);
  if (!udpServices.empty()) out["udpServices"] = std::move(udpServices);
  return out;
}

json::object versionJson(const config::StaticConfig& config,
                         std::chrono::system_clock::time_point startDate) {
  json::object out;
  out["Version"] = kVersion;
  out["Codename"] = kCodename;
  out["startDate"] = rfc3339Nano(startDate);
  if (config.api && config.api->disableDashboardAd) out["disableDashboardAd"] = true;
  if (config.api && !config.api->dashboardName.empty()) out["dashboardName"] = config.api->dashboardName;
  return out;
}

std::string rfc3339Nano(std::chrono::system_clock::time_point time) {
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  std::time_t seconds = std::time_t(nanos / 1000000000);
  long fraction = long(nanos % 1000000000);
  if (fraction < 0) {
    fraction += 1000000000;
    --seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buffer, n);
  if (fraction != 0) {
    char digits[16];
    std::snprintf(digits, sizeof digits, ".%09ld", fraction);
    std::string f = digits;
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += 'Z';
  return out;
}

}  // namespace causeway::admin
