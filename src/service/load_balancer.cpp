#include "service/load_balancer.h"

#include <array>
#include <mutex>
#include <random>

#include "core/log.h"
#include "core/strings.h"
#include "upstream/forward.h"

#include "exchange/local_reply.h"

namespace causeway::service {

std::optional<BalancerStrategy> parseBalancerStrategy(std::string_view name) {
  // Providers that apply no defaults may leave the strategy empty: Traefik treats it as wrr.
  if (name.empty() || iequals(name, "wrr")) return BalancerStrategy::Wrr;
  if (iequals(name, "p2c")) return BalancerStrategy::P2c;
  if (iequals(name, "hrw")) return BalancerStrategy::Hrw;
  if (iequals(name, "leasttime")) return BalancerStrategy::LeastTime;
  return std::nullopt;
}

struct alignas(64) LoadBalancerService::WorkerState {
  std::vector<int64_t> wrr;     // smooth WRR current values
  EdfSchedule edf;              // leasttime tie-break
  std::vector<size_t> healthy;  // scratch for p2c and leasttime
  uint64_t random = 0;          // xorshift64* state (p2c)

  uint64_t next() {
    random ^= random >> 12;
    random ^= random << 25;
    random ^= random >> 27;
    return random * 2685821657736338717ull;
  }
};

struct alignas(64) LoadBalancerService::ServerStats {
  std::atomic<int64_t> active{0};    // requests in flight, body included
  std::atomic<double> averageMs{0};  // leasttime: mean of the samples below
  std::mutex mutex;                  // guards the samples (one update per answer)
  std::array<double, 100> samples{};
  size_t next = 0;
  size_t count = 0;
  double sum = 0;

  void addSample(double ms) {
    std::lock_guard lock(mutex);
    if (count < samples.size()) {
      ++count;
    } else {
      sum -= samples[next];
    }
    samples[next] = ms;
    sum += ms;
    next = (next + 1) % samples.size();
    averageMs.store(sum / double(count), std::memory_order_relaxed);
  }
};

LoadBalancerService::LoadBalancerService(std::string name, std::vector<BalancedServer> servers,
                                         LoadBalancerOptions options)
    : name_(std::move(name)),
      servers_(std::move(servers)),
      strategy_(options.strategy),
      forward_(options.forward),
      passive_(options.passive) {
  weights_.reserve(servers_.size());
  names_.reserve(servers_.size());
  for (const auto& server : servers_) {
    weights_.push_back(server.weight);
    names_.push_back(server.endpoint.url);
  }
  workers_ = std::make_unique<std::unique_ptr<WorkerState>[]>(std::max(options.workers, 1u));
  if (strategy_ == BalancerStrategy::P2c) {
    std::random_device seed;
    seed_ = uint64_t(seed()) << 32 | seed();
  }
  if (strategy_ == BalancerStrategy::P2c ||
      strategy_ == BalancerStrategy::LeastTime)
    stats_ = std::make_unique<ServerStats[]>(servers_.size());
  if (strategy_ == BalancerStrategy::Wrr) {
    constexpr int64_t kMaxPeriod = 1 << 16;
    int64_t period = 0;
    for (int w : weights_) period += std::max(w, 0);
    if (period > 0 && period <= kMaxPeriod) {
      std::vector<int64_t> current(servers_.size(), 0);
      for (int64_t i = 0; i < period; ++i)
        wrrSequence_.push_back(uint32_t(smoothWrrPick(current, weights_, [](size_t) { return true; })));
    }
  }
  if (options.sticky && strategy_ != BalancerStrategy::Hrw) {
    sticky_ = std::make_unique<StickyTable>(std::move(*options.sticky));
    setCookies_.resize(servers_.size());
    for (size_t i = 0; i < servers_.size(); ++i)
      if (strategy_ == BalancerStrategy::P2c || weights_[i] > 0)
        setCookies_[i] = sticky_->add(names_[i], i);
  }
}

LoadBalancerService::~LoadBalancerService() = default;

bool LoadBalancerService::eligible(size_t index) const {
  // p2c takes every server (Traefik's p2c ignores weights); the others skip weight <= 0.
  if (weights_[index] <= 0 && strategy_ != BalancerStrategy::P2c) return false;
  return servers_[index].health->up();
}

bool LoadBalancerService::up() const {
  if (servers_.empty()) return true;  // nothing ever reports it down (as Traefik)
  for (size_t i = 0; i < servers_.size(); ++i)
    if (eligible(i)) return true;
  return false;
}

LoadBalancerService::WorkerState& LoadBalancerService::workerState(unsigned worker) const {
  std::unique_ptr<WorkerState>& slot = workers_[worker];
  if (!slot) {
    slot = std::make_unique<WorkerState>();
    slot->random = seed_ ^ (0x9E3779B97F4A7C15ull * (worker + 1));
    if (slot->random == 0) slot->random = 1;
  }
  return *slot;
}

size_t LoadBalancerService::pick(unsigned worker, std::string_view clientIp) const {
  const size_t none = servers_.size();
  auto isUp = [this](size_t i) { return servers_[i].health->up(); };
  switch (strategy_) {
  case BalancerStrategy::Wrr: {
    if (!wrrSequence_.empty()) {
      uint64_t ticket = wrrTicket_.fetch_add(1, std::memory_order_relaxed);
      size_t chosen = wrrSequence_[ticket % wrrSequence_.size()];
      if (isUp(chosen)) return chosen;
    }
    // A period too long to store, or the scheduled server is down: this worker's own schedule
    // over the servers that are up.
    WorkerState& state = workerState(worker);
    if (state.wrr.size() != servers_.size()) state.wrr.assign(servers_.size(), 0);
    return smoothWrrPick(state.wrr, weights_, isUp);
  }
  case BalancerStrategy::Hrw:
    return hrwPick(clientIp, names_, weights_, isUp);
  case BalancerStrategy::P2c: {
    WorkerState& state = workerState(worker);
    state.healthy.clear();
    for (size_t i = 0; i < servers_.size(); ++i)
      if (eligible(i)) state.healthy.push_back(i);
    size_t n = state.healthy.size();
    if (n == 0) return none;
    if (n == 1) return state.healthy[0];
    size_t first = size_t(state.next() % n);
    size_t second = size_t(state.next() % n);
    if (second == first) second = (second + 1) % n;
    size_t a = state.healthy[first], b = state.healthy[second];
    return stats_[b].active.load(std::memory_order_relaxed) <
                   stats_[a].active.load(std::memory_order_relaxed)
               ? b
               : a;
  }
  case BalancerStrategy::LeastTime: {
    WorkerState& state = workerState(worker);
    state.healthy.clear();
    for (size_t i = 0; i < servers_.size(); ++i)
      if (eligible(i)) state.healthy.push_back(i);
    if (state.healthy.empty()) return none;
    if (state.healthy.size() == 1) return state.healthy[0];
    // Score = average TTFB × (1 + active) / weight; the lowest scores compete.
    double best = std::numeric_limits<double>::max();
    size_t kept = 0;
    for (size_t i : state.healthy) {
      double score = stats_[i].averageMs.load(std::memory_order_relaxed) *
                     double(1 + stats_[i].active.load(std::memory_order_relaxed)) /
                     double(weights_[i]);
      if (score < best) {
        best = score;
        kept = 0;
      }
      if (score == best) state.healthy[kept++] = i;
    }
    if (kept == 1) return state.healthy[0];
    if (state.edf.empty()) state.edf = EdfSchedule(weights_);
    return state.edf.pick(std::span<const size_t>(state.healthy.data(), kept), weights_);
  }
  }
  return none;
}

void LoadBalancerService::recordAnswer(size_t index, const exchange::Exchange& ex,
                                       const upstream::ForwardResult& result) const {
  const upstream::PassiveHealthOptions& passive = *passive_;
  upstream::ServerHealth& health = *servers_[index].health;
  // Traefik counts a failure when the upstream was never reached or the status is 5xx.
  bool reached = result.requestSent || result.error == upstream::ProxyError::RequestBodyFailed;
  if (reached && ex.response.status < 500) {
    health.recordSuccess();
    return;
  }
  if (health.recordFailure(Clock::now(), passive)) {
    log::warn("server is DOWN",
              {{"serviceName", name_},
               {"targetURL", servers_[index].endpoint.url},
               {"reason", "passive health check: " + std::to_string(passive.maxFailedAttempts) +
                              " failed attempt(s) within the failure window"}});
  }
}

awaitable<void> LoadBalancerService::handle(exchange::Exchange& ex) const {
  const size_t none = servers_.size();
  size_t index = none;
  bool writeCookie = false;
  if (!ex.affinity.url.empty()) {
    // A middleware requires one server (an MCP session lives on the server that created it):
    // that one or none, never another.
    for (size_t i = 0; i < servers_.size(); ++i) {
      if (names_[i] == ex.affinity.url) {
        if (eligible(i)) index = i;
        break;
      }
    }
    if (index == none) {
      ex.affinity.missed = true;
      exchange::errorReply(ex, 503, "no available server");
      co_return;
    }
  } else if (sticky_) {
    if (auto match = sticky_->find(ex.request.headers); match && eligible(match->index)) {
      index = match->index;
      writeCookie = match->rewrite;
    }
  }
  if (index == none) {
    index = pick(ex.worker.index(), ex.connection.peerIpText);
    if (index == none) {
      exchange::errorReply(ex, 503, "no available server");
      co_return;
    }
    writeCookie = sticky_ != nullptr;
  }
  const BalancedServer& server = servers_[index];
  if (stats_) ex.arena.make<InflightGuard>(stats_[index].active);
  ex.record.serviceUrl = server.endpoint.url;
  ex.record.upstreamService = name_;
  if (ex.limits.timedOut) {
    ex.record.errorDetail = "router exchange timeout";
    exchange::statusTextReply(ex, 504);
    co_return;
  }
  upstream::ForwardOptions options = forward_;
  options.preservePath = server.preservePath;
  bool timed = strategy_ == BalancerStrategy::LeastTime;
  auto started = timed ? Clock::now() : Clock::time_point();
  upstream::ForwardResult result = co_await forward(ex, server.endpoint, options);
  if (result.error == upstream::ProxyError::None) {
    if (timed) {
      auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started);
      stats_[index].addSample(double(elapsed.count()));
    }
  } else {
    int status = upstream::statusFor(result.error);
    ex.record.errorDetail = describe(result.error);
    if (result.error == upstream::ProxyError::ClientGone && ex.limits.timedOut) {
      status = 504;  // the router's exchange timeout gave the wait up, not the client
      ex.record.errorDetail = "router exchange timeout";
    }
    // Nothing reached a live server: the dial failed (perhaps after a stale pooled connection
    // that forwardHttp1 already replaced), or no request byte was written.
    ex.record.networkError = result.error == upstream::ProxyError::DialFailed ||
                             result.error == upstream::ProxyError::DialTimeout ||
                             (!result.requestSent && result.error != upstream::ProxyError::RequestBodyFailed);
    log::debug("proxy error", {{"service", name_},
                               {"server", server.endpoint.url},
                               {"error", describe(result.error)},
                               {"status", status}});
    exchange::statusTextReply(ex, status);
    if (result.error == upstream::ProxyError::RequestBodyFailed) ex.response.closeConnection = true;
  }
  if (passive_) recordAnswer(index, ex, result);
  if (writeCookie && !setCookies_[index].empty()) addSetCookie(ex.response, setCookies_[index]);
}

}  // namespace causeway::service
