// The loadBalancer service: picks one server per request with smooth weighted round
// robin (Traefik's default `wrr`) and proxies the request to it. Each worker keeps its
// own cursor, so picking takes no lock; over many requests every worker, and therefore
// the process, follows the configured weights.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/h1_client.h"
#include "server/handler.h"
#include "server/upstream_pool.h"

namespace causeway::server {

struct BalancedServer {
  UpstreamEndpoint endpoint;
  int weight = 1;
  bool preservePath = false;
};

class LoadBalancerService final : public Handler {
 public:
  LoadBalancerService(std::string name, std::vector<BalancedServer> servers, ForwardOptions options,
                      unsigned workers);
  awaitable<void> handle(Exchange& ex) const override;
  const std::vector<BalancedServer>& servers() const { return servers_; }

 private:
  // Smooth WRR (nginx's algorithm): every pick adds each weight to its server's current
  // value, takes the largest and subtracts the total from it.
  struct alignas(64) Cursor {
    std::vector<int64_t> current;
  };
  const BalancedServer* pick(unsigned worker) const;

  std::string name_;
  std::vector<BalancedServer> servers_;
  ForwardOptions options_;
  int64_t totalWeight_ = 0;
  mutable std::vector<Cursor> cursors_;  // one per worker
};


}  // namespace causeway::server
