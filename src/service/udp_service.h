// UDP services (Traefik's udp.services; docs/tcp-udp.md): the server of each new client
// session, by smooth weighted round robin over a loadBalancer's servers or a weighted
// service's children. Immutable once built; pick() is thread-safe.
#pragma once

#include <utility>
#include <vector>

#include "service/tcp_service.h"
#include "upstream/udp_balancer.h"

namespace causeway::service {

class UdpLoadBalancer final : public upstream::UdpBalancer {
 public:
  UdpLoadBalancer(std::vector<upstream::ServerAddress> servers, const std::vector<int>& weights)
      : servers_(std::move(servers)), schedule_(weights) {}
  const upstream::ServerAddress* pick() const override {
    return schedule_.empty() ? nullptr : &servers_[schedule_.next()];
  }

 private:
  std::vector<upstream::ServerAddress> servers_;
  WeightedSchedule schedule_;
};

class UdpWeighted final : public upstream::UdpBalancer {
 public:
  UdpWeighted(std::vector<upstream::UdpBalancerPtr> children, const std::vector<int>& weights)
      : children_(std::move(children)), schedule_(weights) {}
  const upstream::ServerAddress* pick() const override {
    return schedule_.empty() ? nullptr : children_[schedule_.next()]->pick();
  }

 private:
  std::vector<upstream::UdpBalancerPtr> children_;
  WeightedSchedule schedule_;
};

}  // namespace causeway::service
