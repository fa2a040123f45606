// A rate limit and a quota decided in Redis in one round trip, for distributedRateLimit and
// for the API plans (api_management.cpp): a Lua script reads, decides and writes atomically,
// one hash per key, with Redis's own clock (TIME), so instances with different clocks agree.
//  - the rate limit: a token bucket (`limit` per `period`, `burst` tokens), a sliding window
//    (at most `limit` in any `period`, counted over the current and the previous window, the
//    previous weighted by how much of it the sliding window still covers), or none;
//  - the quota (optional): a sliding window of up to 9,999 h.
// A request must pass both; a request either refuses costs neither.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/asio.h"

namespace causeway::exchange {
class WorkerContext;
}

namespace causeway::gateway::api {

class RedisStore;

struct LimitSpec {
  enum class Rate { None, Bucket, Window } rate = Rate::Bucket;
  int64_t limit = 0;
  std::chrono::nanoseconds period{0};
  int64_t burst = 1;                        // Bucket only
  int64_t quotaLimit = 0;                   // 0: no quota
  std::chrono::nanoseconds quotaPeriod{0};
};

struct LimitDecision {
  bool allowed = true;
  bool quotaRefused = false;  // refused by the quota, not the rate limit
  double remaining = 0;
  double retryMicros = 0;
  double resetMicros = 0;  // until the bucket is whole again, or the window ends
  double quotaRemaining = 0;
  double quotaRetryMicros = 0;
  double quotaResetMicros = 0;  // until the quota's current window ends
  // Seconds until a refused request may be let in (at least 1).
  int64_t retryAfterSeconds() const;
};

class RedisLimit {
 public:
  RedisLimit(const LimitSpec& spec, std::shared_ptr<const RedisStore> store);
  // The decision for `key` (one request, counted when let in; with `peek`, not counted), or
  // nullopt with `error` when Redis could not decide.
  awaitable<std::optional<LimitDecision>> decide(exchange::WorkerContext& worker, const std::string& key,
                                                 std::string& error, bool peek = false) const;

 private:
  std::string sha_;
  std::vector<std::string> args_;  // the script's ARGV
  std::string requestHead_;        // EVALSHA <sha> 1, in RESP: the key and requestTail_ follow
  std::string requestTail_;        // the ARGV, in RESP
  std::vector<std::string> peekArgs_;
  std::string peekTail_;
  std::shared_ptr<const RedisStore> store_;
};

}  // namespace causeway::gateway::api
