// Redis Sentinel: which server is the master of a monitored set now. The sentinels are asked
// `SENTINEL get-master-addr-by-name <set>` in turn until one answers; the answer is kept until a
// caller reports the master unusable (a connection failure, or a READONLY reply from a server
// that was demoted), then asked again — at most every 250 ms, so a failover in progress is not
// hammered. Shared by the workers (the answer is behind a mutex; each worker keeps its own
// connections to the master through RedisClient::forWorker).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "clients/redis/redis_client.h"

namespace causeway::clients::redis {

// Asks the sentinels of `sentinels.endpoints` in turn for the master of `masterSet`: its
// "host:port", or "" with `error` (the last sentinel's reason) when none names it. `clientFor`
// gives the client that reaches one sentinel (settings with that one endpoint).
using ClientFor = std::function<std::shared_ptr<RedisClient>(const RedisSettings&)>;
awaitable<std::string> askSentinels(const RedisSettings& sentinels, const std::string& masterSet,
                                    const ClientFor& clientFor, std::string& error);

class SentinelMaster {
 public:
  // `sentinels`: the sentinels' endpoints and their credentials (username, password, TLS).
  // `data`: the settings to reach the master with, whose endpoints are replaced by its address.
  SentinelMaster(RedisSettings sentinels, std::string masterSet, RedisSettings data)
      : sentinels_(std::move(sentinels)), masterSet_(std::move(masterSet)), data_(std::move(data)) {
  }

  // Settings that reach the current master (asking the sentinels on the calling worker when
  // there is no answer yet or the last one was reported unusable). nullopt with `error` when no
  // sentinel answers.
  awaitable<std::optional<RedisSettings>> master(unsigned workerIndex, asio::io_context& io,
                                                 io::Watchdog& watchdog, std::string& error);
  // The master named `endpoint` failed a call: ask the sentinels again next time.
  void unusable(const std::string& endpoint);
  // Changes each time the master's address changes.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  RedisSettings sentinels_;
  std::string masterSet_;
  RedisSettings data_;
  std::mutex mutex_;
  std::string master_;  // "host:port"; empty: ask
  std::chrono::steady_clock::time_point asked_{};
  std::atomic<uint64_t> generation_{0};
};

}  // namespace causeway::clients::redis
