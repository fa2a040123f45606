// The loadBalancer service: picks one server per request with the service's strategy and
// proxies the request to it (Traefik's pkg/server/service/loadbalancer/{wrr,p2c,hrw,leasttime}).
//
//  - wrr (default): smooth weighted round robin; each worker keeps its own cursor, so a pick
//    takes no lock and, over many requests, every worker (hence the process) follows the
//    weights. Servers with weight <= 0 are never picked.
//  - p2c: two distinct random healthy servers, the one with fewer active requests wins
//    (weights ignored, as Traefik). Active counts are process-wide atomics.
//  - hrw: rendezvous hashing of the client IP (the TCP peer): the highest
//    weight / -ln(fnv1a(ip + url) / 2^64) wins, so a client stays on one server while it is up.
//  - leasttime: lowest average time to first byte (the last 100 answers, whole ms, shared by
//    the workers) × (1 + active requests) / weight; ties broken by earliest-deadline-first
//    weighted round robin (per worker).
//
// Only servers whose ServerHealth is up are picked; when none is, the answer is 503
// "no available server". A server required by a middleware (Exchange::affinity, the MCP
// gateway's sessions) overrides the strategy and stickiness. sticky.cookie (not with hrw, as Traefik) pins a client to a
// server and re-pins it when that server is down. Passive health checks record each
// answer. Handlers are shared by every worker: per-worker state is indexed by
// ex.worker.index(), shared state is atomic.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "service/service.h"
#include "service/sticky_cookie.h"
#include "service/strategies.h"
#include "upstream/connection_pool.h"
#include "upstream/forward.h"
#include "upstream/health/state.h"

namespace causeway::service {

enum class BalancerStrategy { Wrr, P2c, Hrw, LeastTime };
// "wrr", "p2c", "hrw", "leasttime" (case-insensitive); nullopt when unknown.
std::optional<BalancerStrategy> parseBalancerStrategy(std::string_view name);

struct BalancedServer {
  upstream::UpstreamEndpoint endpoint;
  int weight = 1;
  bool preservePath = false;
  upstream::ServerHealthPtr health;  // never null
};

struct LoadBalancerOptions {
  BalancerStrategy strategy = BalancerStrategy::Wrr;
  upstream::ForwardOptions forward;
  std::optional<StickyCookieOptions> sticky;
  std::optional<upstream::PassiveHealthOptions> passive;
  unsigned workers = 1;
};

class LoadBalancerService final : public ServiceHandler {
 public:
  LoadBalancerService(std::string name, std::vector<BalancedServer> servers,
                      LoadBalancerOptions options);
  ~LoadBalancerService() override;
  awaitable<void> handle(exchange::Exchange& ex) const override;
  bool up() const override;
  const std::vector<BalancedServer>& servers() const { return servers_; }

  // The server chosen for a request from `clientIp` on `worker`, ignoring stickiness;
  // servers().size() when none is available.
  size_t pick(unsigned worker, std::string_view clientIp) const;

 private:
  struct WorkerState;
  struct ServerStats;
  bool eligible(size_t index) const;
  void recordAnswer(size_t index, const exchange::Exchange& ex, const upstream::ForwardResult& result) const;

  std::string name_;
  std::vector<BalancedServer> servers_;
  // The options a request reads (sticky's live on in sticky_): a service of a large cluster
  // holds no inline copy of options it rarely has.
  BalancerStrategy strategy_;
  upstream::ForwardOptions forward_;
  std::optional<upstream::PassiveHealthOptions> passive_;
  std::vector<int> weights_;               // as configured
  std::vector<std::string_view> names_;    // server URLs, views of servers_ (hrw, sticky)
  std::vector<std::string> setCookies_;    // Set-Cookie value per server (sticky)
  std::unique_ptr<StickyTable> sticky_;
  // Per worker, made by that worker when its strategy first needs it (a wrr service whose
  // scheduled servers are up never does: 192 bytes a service with one worker, saved on large
  // clusters); only that worker reads or writes its slot.
  WorkerState& workerState(unsigned worker) const;
  std::unique_ptr<std::unique_ptr<WorkerState>[]> workers_;
  uint64_t seed_ = 0;  // p2c's random sequence of each worker starts from this and its index
  std::unique_ptr<ServerStats[]> stats_;  // p2c and leasttime
  // wrr: one schedule for the whole service, as Traefik keeps one, so that the weights hold
  // exactly over any run of requests whatever worker serves them: the smooth WRR sequence of
  // one period (the sum of the weights), walked by a shared ticket. Empty when the period is too
  // long to store (then each worker keeps its own schedule).
  std::vector<uint32_t> wrrSequence_;
  alignas(64) mutable std::atomic<uint64_t> wrrTicket_{0};
};

}  // namespace causeway::service
