#include "limits/token_bucket.h"

#include <algorithm>
#include <cmath>

#include "config/duration.h"

namespace causeway::limits {

RateParameters rateParameters(int64_t average, Nanos period, int64_t burst) {
  RateParameters p;
  p.burst = std::max<int64_t>(burst, 1);
  if (period.count() <= 0) period = std::chrono::seconds(1);
  if (average > 0) {
    p.rate = double(average) * 1e9 / double(period.count());
    if (p.rate < 1) {
      p.maxDelay = std::chrono::milliseconds(500);
    } else {
      // Go: time.Second / (time.Duration(rate) * 2), integer arithmetic on a truncated rate.
      int64_t truncated = int64_t(p.rate);
      p.maxDelay = Nanos(int64_t(1000000000) / (truncated * 2));
    }
  }
  p.ttlSeconds = 1;
  if (p.rate >= 1)
    p.ttlSeconds += 1;
  else if (p.rate > 0)
    p.ttlSeconds += int64_t(1 / p.rate);
  return p;
}

namespace {

// x/time/rate's advance(): the tokens available at `nowNs`.
double advance(const TokenBucket& b, int64_t nowNs, const RateParameters& p) {
  if (b.lastNs == std::numeric_limits<int64_t>::min()) return double(p.burst);
  int64_t last = std::min(b.lastNs, nowNs);
  int64_t elapsed = nowNs - last;
  // Duration.Seconds(): whole seconds plus the fraction, as Go computes it.
  double seconds = double(elapsed / 1000000000) + double(elapsed % 1000000000) / 1e9;
  double tokens = b.tokens + seconds * p.rate;
  return std::min(tokens, double(p.burst));
}

Nanos durationFromTokens(double tokens, double rate) {
  double ns = tokens / rate * 1e9;
  if (ns > double(std::numeric_limits<int64_t>::max())) return Nanos::max();
  return Nanos(int64_t(ns));
}

}  // namespace

Nanos reserve(TokenBucket& bucket, int64_t nowNs, const RateParameters& p) {
  if (p.unlimited()) return Nanos(0);
  double tokens = advance(bucket, nowNs, p) - 1;
  Nanos wait = tokens < 0 ? durationFromTokens(-tokens, p.rate) : Nanos(0);
  bucket.lastNs = nowNs;
  bucket.tokens = tokens;
  if (wait > p.maxDelay) {
    // Reservation.Cancel() right away: the token comes back.
    bucket.tokens = std::min(tokens + 1, double(p.burst));
  }
  return wait;
}

Nanos BucketTable::allow(const std::string& source, int64_t nowNs, int64_t nowSeconds) {
  Shard& shard = shards_[std::hash<std::string>{}(source) % kShards];
  std::lock_guard lock(shard.mutex);
  auto it = shard.entries.find(source);
  if (it != shard.entries.end() && it->second.expiry <= nowSeconds) {
    it->second.bucket = TokenBucket{};  // expired: a new, full bucket
  }
  if (it == shard.entries.end()) {
    if (shard.entries.size() >= perShard_) {
      auto victim = std::min_element(
          shard.entries.begin(), shard.entries.end(),
          [](const auto& a, const auto& b) { return a.second.expiry < b.second.expiry; });
      shard.entries.erase(victim);
    }
    it = shard.entries.emplace(source, Entry{}).first;
  }
  it->second.expiry = nowSeconds + p_.ttlSeconds;
  return reserve(it->second.bucket, nowNs, p_);
}

size_t BucketTable::size() {
  size_t n = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    n += shard.entries.size();
  }
  return n;
}

std::string goDurationString(Nanos d) {
  return config::Duration(d).toString();
}

}  // namespace causeway::limits
