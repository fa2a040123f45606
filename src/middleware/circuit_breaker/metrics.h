// The statistics a circuit breaker evaluates its expression over: vulcand/oxy memmetrics
// (RTMetrics) with the same windows Traefik uses:
//  - request, network-error and per-status counters: rolling 10 buckets × 1 s (a bucket is
//    chosen by the absolute second modulo 10; buckets older than the window are cleared
//    lazily on access);
//  - latencies: a rolling HDR histogram of 6 sub-histograms rotated every 10 s, values in
//    microseconds from 1 µs to 1 h with 2 significant figures (HdrHistogram's bucket layout,
//    so LatencyAtQuantileMS returns the same values as Go).
// Time is passed in explicitly (nanoseconds on any monotonic scale) so tests use a fake
// clock. Not thread-safe: the breaker serializes access with its mutex.
#pragma once

#include <array>
#include <cstdint>
#include <limits>
#include <map>
#include <vector>

namespace causeway::middleware::cb {

using Nanos = int64_t;
inline constexpr Nanos kSecond = 1'000'000'000;

class RollingCounter {
 public:
  explicit RollingCounter(int buckets = 10, Nanos resolution = kSecond)
      : resolution_(resolution), values_(size_t(buckets), 0) {}
  void inc(Nanos now, int64_t v);
  int64_t count(Nanos now);
  void reset();

 private:
  size_t bucket(Nanos t) const { return size_t(floorDiv(t, resolution_) % Nanos(values_.size())); }
  static Nanos floorDiv(Nanos a, Nanos b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }
  void cleanup(Nanos now);

  Nanos resolution_;
  std::vector<int64_t> values_;
  bool updated_ = false;  // false: lastUpdated_ is Go's zero time (before everything)
  Nanos lastUpdated_ = 0;
};

// HdrHistogram (lowest 1, highest 3_600_000_000, 2 significant figures).
class HdrHistogram {
 public:
  static constexpr int kSubBucketHalfCountMagnitude = 7;
  static constexpr int64_t kSubBucketCount = 256;
  static constexpr int64_t kSubBucketHalfCount = 128;
  static constexpr int64_t kSubBucketMask = 255;
  static constexpr int kBucketCount = 25;
  static constexpr size_t kCountsLen = size_t(kBucketCount + 1) * size_t(kSubBucketHalfCount);

  HdrHistogram() : counts_(kCountsLen, 0) {}
  bool record(int64_t value);  // false when out of range (ignored, as oxy ignores the error)
  void reset();
  int64_t total() const { return total_; }
  const std::vector<int64_t>& counts() const { return counts_; }

  static int bucketIndex(int64_t v);
  static int64_t valueFromCountsIndex(size_t index);
  static int64_t highestEquivalentValue(int64_t v);
  // Value at quantile q (0..100) over the sum of `parts` (Go's ValueAtQuantile).
  static int64_t valueAtQuantile(const std::vector<const HdrHistogram*>& parts, double q);

 private:
  std::vector<int64_t> counts_;
  int64_t total_ = 0;
};

class RollingHistogram {
 public:
  static constexpr int kBuckets = 6;
  static constexpr Nanos kPeriod = 10 * kSecond;
  void record(Nanos now, int64_t micros);
  void reset(Nanos now);
  int64_t valueAtQuantile(double q) const;

 private:
  std::array<HdrHistogram, kBuckets> buckets_;
  int idx_ = 0;
  bool rolled_ = false;  // false: lastRoll_ is Go's zero time
  Nanos lastRoll_ = 0;
};

class RtMetrics {
 public:
  void record(Nanos now, int status, Nanos latency);
  void reset(Nanos now);
  double networkErrorRatio(Nanos now);
  double responseCodeRatio(Nanos now, int64_t startA, int64_t endA, int64_t startB, int64_t endB);
  int64_t totalCount(Nanos now) { return total_.count(now); }
  // LatencyAtQuantileMS(q): whole milliseconds.
  int64_t latencyAtQuantileMs(double q) const { return histogram_.valueAtQuantile(q) / 1000; }

 private:
  RollingCounter total_;
  RollingCounter netErrors_;
  std::map<int, RollingCounter> statusCodes_;
  RollingHistogram histogram_;
};

}  // namespace causeway::middleware::cb
