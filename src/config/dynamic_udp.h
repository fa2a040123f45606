// Dynamic configuration: the `udp` section (reference §2.4; docs/tcp-udp.md): UDP routers
// (entryPoints and a service, no rule) and services (loadBalancer over addresses, weighted).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/decode.h"

namespace causeway::config {

struct UdpRouter {
  std::vector<std::string> entryPoints;  // empty → every UDP entryPoint
  std::string service;

  static void describe(auto& self, auto& v) {
    v("entryPoints", self.entryPoints);
    v("service", self.service);
  }
};

struct UdpServer {
  std::string address;  // "host:port"
  std::optional<int> weight;  // causeway extension (absent → 1)

  static void describe(auto& self, auto& v) {
    v("address", self.address);
    v("weight", self.weight);
  }
};

struct UdpLoadBalancer {
  std::vector<UdpServer> servers;

  static void describe(auto& self, auto& v) { v("servers", self.servers); }
};

struct UdpWeightedService {
  std::string name;
  int weight = 1;

  static void describe(auto& self, auto& v) {
    v("name", self.name);
    v("weight", self.weight);
  }
};

struct UdpWeighted {
  std::vector<UdpWeightedService> services;

  static void describe(auto& self, auto& v) { v("services", self.services); }
};

struct UdpService {
  std::optional<UdpLoadBalancer> loadBalancer;
  std::optional<UdpWeighted> weighted;

  static void describe(auto& self, auto& v) {
    v("loadBalancer", self.loadBalancer);
    v("weighted", self.weighted);
  }

  void validate(DecodeContext& context) const;
};

struct UdpConfig {
  std::map<std::string, Element<UdpRouter>> routers;
  std::map<std::string, Element<UdpService>> services;

  static void describe(auto& self, auto& v) {
    v("routers", self.routers);
    v("services", self.services);
  }
};

}  // namespace causeway::config
