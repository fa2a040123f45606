#include "middleware/circuit_breaker/metrics.h"

#include <algorithm>
#include <bit>

namespace causeway::middleware::cb {

// --- RollingCounter ---------------------------------------------------------------------

void RollingCounter::cleanup(Nanos now) {
  Nanos last = floorDiv(lastUpdated_, resolution_);
  for (size_t i = 0; i < values_.size(); ++i) {
    Nanos checkPoint = now - Nanos(i) * resolution_;
    if (!updated_ || floorDiv(checkPoint, resolution_) > last) {
      values_[bucket(checkPoint)] = 0;
    } else {
      break;
    }
  }
}

void RollingCounter::inc(Nanos now, int64_t v) {
  cleanup(now);
  values_[bucket(now)] += v;
  lastUpdated_ = now;
  updated_ = true;
}

int64_t RollingCounter::count(Nanos now) {
  cleanup(now);
  int64_t sum = 0;
  for (int64_t v : values_)
    sum += v;
  return sum;
}

void RollingCounter::reset() {
  updated_ = false;
  lastUpdated_ = 0;
  std::fill(values_.begin(), values_.end(), 0);
}

// --- HdrHistogram -----------------------------------------------------------------------

int HdrHistogram::bucketIndex(int64_t v) {
  int pow2Ceiling = 64 - std::countl_zero(uint64_t(v | kSubBucketMask));
  return pow2Ceiling - (kSubBucketHalfCountMagnitude + 1);  // unit magnitude 0
}

bool HdrHistogram::record(int64_t value) {
  if (value < 0) return false;
  int b = bucketIndex(value);
  int64_t sub = value >> b;
  int64_t index = (int64_t(b + 1) << kSubBucketHalfCountMagnitude) + (sub - kSubBucketHalfCount);
  if (index < 0 || index >= int64_t(kCountsLen)) return false;
  counts_[size_t(index)] += 1;
  total_ += 1;
  return true;
}

void HdrHistogram::reset() {
  std::fill(counts_.begin(), counts_.end(), 0);
  total_ = 0;
}

int64_t HdrHistogram::valueFromCountsIndex(size_t index) {
  // Index order equals the iteration order: bucket 0 covers sub-buckets 0..255, later
  // buckets their upper halves 128..255.
  int64_t bucket = int64_t(index >> kSubBucketHalfCountMagnitude) - 1;
  int64_t sub = int64_t(index & (kSubBucketHalfCount - 1)) + kSubBucketHalfCount;
  if (bucket < 0) {
    sub -= kSubBucketHalfCount;
    bucket = 0;
  }
  return sub << bucket;
}

int64_t HdrHistogram::highestEquivalentValue(int64_t v) {
  int b = bucketIndex(v);
  int64_t sub = v >> b;
  int64_t lowest = sub << b;
  int adjusted = sub >= kSubBucketCount ? b + 1 : b;
  int64_t size = int64_t(1) << adjusted;
  return lowest + size - 1;
}

int64_t HdrHistogram::valueAtQuantile(const std::vector<const HdrHistogram*>& parts, double q) {
  if (q > 100) q = 100;
  int64_t totalCount = 0;
  for (const auto* p : parts)
    totalCount += p->total_;
  auto countAtPercentile = int64_t((q / 100) * double(totalCount) + 0.5);
  int64_t total = 0;
  for (size_t i = 0; i < kCountsLen && total < totalCount; ++i) {
    int64_t count = 0;
    for (const auto* p : parts)
      count += p->counts_[i];
    total += count;
    if (total >= countAtPercentile) return highestEquivalentValue(valueFromCountsIndex(i));
  }
  return 0;
}

// --- RollingHistogram -------------------------------------------------------------------

void RollingHistogram::record(Nanos now, int64_t micros) {
  if (!rolled_ || now - lastRoll_ >= kPeriod) {
    idx_ = (idx_ + 1) % kBuckets;
    buckets_[size_t(idx_)].reset();
    lastRoll_ = now;
    rolled_ = true;
  }
  buckets_[size_t(idx_)].record(micros);
}

void RollingHistogram::reset(Nanos now) {
  idx_ = 0;
  lastRoll_ = now;
  rolled_ = true;
  for (auto& b : buckets_)
    b.reset();
}

int64_t RollingHistogram::valueAtQuantile(double q) const {
  std::vector<const HdrHistogram*> parts;
  parts.reserve(buckets_.size());
  for (const auto& b : buckets_)
    parts.push_back(&b);
  return HdrHistogram::valueAtQuantile(parts, q);
}

// --- RtMetrics --------------------------------------------------------------------------

void RtMetrics::record(Nanos now, int status, Nanos latency) {
  total_.inc(now, 1);
  if (status == 502 || status == 504) netErrors_.inc(now, 1);
  statusCodes_[status].inc(now, 1);
  histogram_.record(now, latency / 1000);
}

void RtMetrics::reset(Nanos now) {
  histogram_.reset(now);
  total_.reset();
  netErrors_.reset();
  statusCodes_.clear();
}

double RtMetrics::networkErrorRatio(Nanos now) {
  int64_t total = total_.count(now);
  if (total == 0) return 0;
  return double(netErrors_.count(now)) / double(total);
}

double RtMetrics::responseCodeRatio(Nanos now, int64_t startA, int64_t endA, int64_t startB,
                                    int64_t endB) {
  int64_t a = 0, b = 0;
  for (auto& [code, counter] : statusCodes_) {
    int64_t n = counter.count(now);
    if (code < endA && code >= startA) a += n;
    if (code < endB && code >= startB) b += n;
  }
  return b != 0 ? double(a) / double(b) : 0;
}

}  // namespace causeway::middleware::cb
