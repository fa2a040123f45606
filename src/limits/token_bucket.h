// The token bucket of Traefik's rateLimit middleware: golang.org/x/time/rate's Limiter as
// Traefik uses it (Reserve, then Cancel when the delay exceeds maxDelay), the derived
// figures (rate, maxDelay, ttl), and a process-wide table of buckets keyed by source with
// Traefik's ttlmap expiry. Pure: time is passed in, nothing here does I/O.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace causeway::limits {

using Nanos = std::chrono::nanoseconds;

// The figures Traefik derives from average, period and burst (ratelimiter.New).
struct RateParameters {
  double rate = std::numeric_limits<double>::infinity();  // tokens per second; inf: no limit
  int64_t burst = 1;
  Nanos maxDelay{0};  // a reservation further away than this is refused
  int64_t ttlSeconds = 1;
  bool unlimited() const { return rate == std::numeric_limits<double>::infinity(); }
};
RateParameters rateParameters(int64_t average, Nanos period, int64_t burst);

// One bucket: x/time/rate's Limiter state.
struct TokenBucket {
  double tokens = 0;
  int64_t lastNs = std::numeric_limits<int64_t>::min();  // never used yet: a full bucket
};

// Reserves one token at `nowNs`. Returns the delay before the request may proceed; when it
// exceeds maxDelay the reservation is cancelled (the token is given back) and the caller
// rejects the request with that delay.
Nanos reserve(TokenBucket& bucket, int64_t nowNs, const RateParameters& p);

// Buckets keyed by source for one router, shared by every worker (sharded mutexes).
// An entry expires ttl seconds after its last use (Traefik's ttlmap); at most `capacity`
// sources are kept, the one expiring first is dropped to make room.
class BucketTable {
 public:
  explicit BucketTable(RateParameters p, size_t capacity = 65536)
      : p_(p), perShard_(capacity / kShards + 1) {}
  // The delay for a request from `source` at `now` (monotonic ns) and `nowSeconds` (clock
  // seconds for expiry).
  Nanos allow(const std::string& source, int64_t nowNs, int64_t nowSeconds);
  size_t size();
  const RateParameters& parameters() const { return p_; }

 private:
  static constexpr size_t kShards = 16;
  struct Entry {
    TokenBucket bucket;
    int64_t expiry = 0;  // unix-like seconds
  };
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, Entry> entries;
  };
  RateParameters p_;
  size_t perShard_;
  std::array<Shard, kShards> shards_;
};

// Go's time.Duration.String(): "1.5s", "200ms", "1m0.5s", "0s".
std::string goDurationString(Nanos d);

}  // namespace causeway::limits
