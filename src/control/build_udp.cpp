// The udp section of a snapshot (docs/tcp-udp.md): services (loadBalancer, weighted), then
// routers, each with its runtime state (runtime_.udp*). A UDP router has no rule: it takes
// every datagram of its UDP entryPoints, so each UDP entryPoint serves one router.
#include "control/snapshot_build.h"
#include "service/udp_service.h"

namespace causeway::control {

void SnapshotBuild::buildUdp() {
  std::map<std::string, upstream::UdpBalancerPtr> built;
  std::map<std::string, std::pair<std::string, const config::Element<config::UdpService>*>> weighted;
  for (const auto& [provider, config] : in_.providers) {
    for (const auto& [name, element] : config->udp.services) {
      std::string qualified = qualify(name, provider);
      runtime::ServiceState& state = runtime_.udpServices[qualified];
      state.provider = provider;
      for (const auto& e : element.errors) state.addError(e.toString(), !e.warning);
      if (!element.ok()) continue;
      if (element.value.weighted) {
        state.type = "weighted";
        weighted[qualified] = {provider, &element};
        continue;
      }
      state.type = "loadbalancer";
      std::vector<upstream::ServerAddress> servers;
      std::vector<int> weights;
      bool ok = true;
      for (const auto& server : element.value.loadBalancer->servers) {
        upstream::ServerAddress address;
        std::string error;
        if (!upstream::parseServerAddress(server.address, address, error)) {
          state.addError(locationPrefix(element.location) + error);
          ok = false;
          break;
        }
        state.serverStatus[server.address] = "UP";
        servers.push_back(std::move(address));
        weights.push_back(server.weight.value_or(1));
      }
      if (ok) built[qualified] = std::make_shared<service::UdpLoadBalancer>(std::move(servers), weights);
    }
  }
  resolveWeighted(built, weighted, runtime_.udpServices,
                  [](std::vector<upstream::UdpBalancerPtr> children, const std::vector<int>& weights) -> upstream::UdpBalancerPtr {
                    return std::make_shared<service::UdpWeighted>(std::move(children), weights);
                  });

  for (const auto& [provider, config] : in_.providers) {
    for (const auto& [name, element] : config->udp.routers) {
      std::string qualified = qualify(name, provider);
      runtime::RouterState& state = runtime_.udpRouters[qualified];
      state.provider = provider;
      for (const auto& e : element.errors) state.addError(e.toString(), !e.warning);
      if (!element.ok()) continue;
      const config::UdpRouter& r = element.value;
      std::string where = locationPrefix(element.location);
      std::vector<const runtime::EntryPoint*> entryPoints;
      if (r.entryPoints.empty()) {
        for (const auto& ep : *in_.entryPoints)
          if (ep.udp) entryPoints.push_back(&ep);
      } else {
        for (const auto& epName : r.entryPoints) {
          const runtime::EntryPoint* ep = findEntryPoint(epName);
          if (!ep) state.addError(where + "entryPoint \"" + epName + "\" doesn't exist", false);
          else if (!ep->udp) state.addError(where + "entryPoint \"" + epName + "\" is not a UDP entryPoint", false);
          else entryPoints.push_back(ep);
        }
      }
      for (const runtime::EntryPoint* ep : entryPoints) state.entryPoints.push_back(ep->name);
      if (entryPoints.empty()) {
        state.addError(where + "no valid entryPoint for this router");
        continue;
      }
      if (r.service.empty()) {
        state.addError(where + "the service is missing on the router");
        continue;
      }
      std::string serviceName = qualify(r.service, provider);
      state.service = serviceName;
      auto balancer = built.find(serviceName);
      auto known = runtime_.udpServices.find(serviceName);
      if (known != runtime_.udpServices.end()) known->second.usedBy.push_back(qualified);
      if (balancer == built.end()) {
        state.addError(where + "the service \"" + serviceName + "\" " +
                       (known != runtime_.udpServices.end() ? "has errors" : "does not exist"));
        continue;
      }
      auto target = std::make_shared<runtime::UdpRouteTarget>();
      target->name = qualified;
      target->service = serviceName;
      target->balancer = balancer->second;
      for (const runtime::EntryPoint* ep : entryPoints) {
        auto& slot = snapshot_.routes[ep->index].udp;
        if (slot) {
          // Routers are visited in provider then name order: the first one serves.
          state.addError(where + "entryPoint \"" + ep->name + "\" already serves UDP router \"" + slot->name +
                             "\"; a UDP entryPoint serves one router",
                         false);
          continue;
        }
        slot = target;
      }
    }
  }
}

}  // namespace causeway::control
