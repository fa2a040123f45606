#include "server/load_balancer.h"

#include "core/log.h"
#include "server/local_reply.h"
#include "server/worker.h"

namespace causeway::server {

LoadBalancerService::LoadBalancerService(std::string name, std::vector<BalancedServer> servers,
                                         ForwardOptions options, unsigned workers)
    : name_(std::move(name)), servers_(std::move(servers)), options_(options), cursors_(workers) {
  for (const auto& server : servers_)
    if (server.weight > 0) totalWeight_ += server.weight;
  for (auto& cursor : cursors_) cursor.current.assign(servers_.size(), 0);
}

const BalancedServer* LoadBalancerService::pick(unsigned worker) const {
  if (totalWeight_ <= 0) return nullptr;
  auto& current = cursors_[worker].current;
  size_t best = servers_.size();
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (servers_[i].weight <= 0) continue;
    current[i] += servers_[i].weight;
    if (best == servers_.size() || current[i] > current[best]) best = i;
  }
  current[best] -= totalWeight_;
  return &servers_[best];
}

awaitable<void> LoadBalancerService::handle(Exchange& ex) const {
  const BalancedServer* server = pick(ex.worker.index());
  if (!server) {
    errorReply(ex, 503, "no available server");
    co_return;
  }
  ex.record.serviceUrl = server->endpoint.url;
  ForwardOptions options = options_;
  options.preservePath = server->preservePath;
  ForwardResult result = co_await forwardHttp1(ex, server->endpoint, options);
  if (result.error != ProxyError::None) {
    int status = statusFor(result.error);
    ex.record.errorDetail = describe(result.error);
    log::debug("proxy error", {{"service", name_}, {"server", server->endpoint.url},
                               {"error", describe(result.error)}, {"status", status}});
    statusTextReply(ex, status);
    if (result.error == ProxyError::RequestBodyFailed) ex.response.closeConnection = true;
  }
}

}  // namespace causeway::server
