#include "server/service_builder.h"

#include "core/strings.h"
#include "server/load_balancer.h"

namespace causeway::server {
namespace {

uint64_t transportFingerprint(ServiceBuildEnv& env, const std::string& qualified) {
  size_t at = qualified.rfind('@');
  if (at == std::string::npos) return 0;
  std::string provider = qualified.substr(at + 1);
  auto it = env.in.providers.find(provider);
  if (it == env.in.providers.end()) return 0x5157;  // default@internal: static, never changes
  auto t = it->second->http.serversTransports.find(qualified.substr(0, at));
  return t == it->second->http.serversTransports.end() ? 0 : t->second.fingerprint;
}

HandlerPtr buildLoadBalancer(ServiceBuildEnv& env, const std::string& qualified, const std::string& provider,
                             const config::Element<config::Service>& element, ServiceState& state) {
  const config::LoadBalancer& lb = *element.value.loadBalancer;
  std::string transportName = lb.serversTransport.empty() ? "default@internal"
                                                           : qualify(lb.serversTransport, provider);
  auto transport = env.transports.find(transportName);
  if (transport == env.transports.end()) {
    auto broken = env.transportErrors.find(transportName);
    state.addError(locationPrefix(element.location) + "servers transport \"" + transportName + "\" " +
                   (broken != env.transportErrors.end() ? "has errors: " + broken->second : "does not exist"));
    return nullptr;
  }
  if (lb.strategy != "wrr")
    state.addError("strategy \"" + lb.strategy + "\" is not supported yet; using wrr", false);
  if (lb.sticky) state.addError("sticky sessions are not supported yet; ignored", false);
  if (lb.healthCheck) state.addError("health checks are not supported yet; ignored", false);
  if (lb.passiveHealthCheck) state.addError("passive health checks are not supported yet; ignored", false);

  uint64_t key = element.fingerprint ^ (std::hash<std::string>{}(transportName) * 31) ^
                 transportFingerprint(env, transportName);
  auto cached = env.cache.find(qualified);
  if (cached != env.cache.end() && cached->second.first == key) return cached->second.second;

  std::vector<BalancedServer> servers;
  for (const auto& server : lb.servers) {
    BalancedServer balanced;
    std::string error;
    if (!makeEndpoint(server.url, transport->second, balanced.endpoint, error)) {
      state.addError(locationPrefix(element.location) + error);
      return nullptr;
    }
    balanced.weight = server.effectiveWeight();
    balanced.preservePath = server.preservePath;
    servers.push_back(std::move(balanced));
  }
  ForwardOptions options;
  options.passHostHeader = lb.passHostHeader;
  options.appendXForwardedFor = !env.in.staticConfig->global.notAppendXForwardedFor;
  auto handler = std::make_shared<LoadBalancerService>(qualified, std::move(servers), options, env.in.workers);
  env.cache[qualified] = {key, handler};
  return handler;
}



}  // namespace

std::string locationPrefix(const config::Location& location) {
  std::string where = location.toString();
  return where.empty() ? std::string() : where + ": ";
}

void buildServiceHandlers(ServiceBuildEnv& env, std::map<std::string, HandlerPtr>& services) {
  for (const auto& [provider, config] : env.in.providers) {
    for (const auto& [name, element] : config->http.services) {
      std::string qualified = qualify(name, provider);
      ServiceState& state = env.runtime.services[qualified];
      state.provider = provider;
      for (const auto& e : element.errors) state.addError(e.toString(), !e.warning);
      if (!element.ok()) continue;
      const config::Service& service = element.value;
      if (!service.loadBalancer) {
        state.type = service.weighted ? "weighted" : service.mirroring ? "mirroring"
                     : service.failover ? "failover" : "highestrandomweight";
        state.addError(locationPrefix(element.location) + "service type \"" + state.type +
                       "\" is not supported yet");
        continue;
      }
      state.type = "loadbalancer";
      HandlerPtr handler = buildLoadBalancer(env, qualified, provider, element, state);
      if (!handler) continue;
      for (const auto& server : service.loadBalancer->servers) state.serverStatus[server.url] = "UP";
      services[qualified] = handler;
    }
  }
}

}  // namespace causeway::server
