#include "limits/token_budget.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace causeway::limits {

TokenBudget::TokenBudget(Kind kind, double limit, Nanos period, size_t maxSources)
    : kind_(kind), limit_(limit), period_(std::max<int64_t>(period.count(), 1)), maxSources_(maxSources) {}

std::shared_ptr<TokenBudget> TokenBudget::shared(const std::string& key, Kind kind, double limit, Nanos period) {
  std::string full = key + (kind == Kind::Bucket ? "|bucket|" : "|window|") + std::to_string(limit) + "|" +
                     std::to_string(period.count());
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<TokenBudget>> registry;
  std::lock_guard lock(mutex);
  for (auto it = registry.begin(); it != registry.end();) it = it->second.expired() ? registry.erase(it) : std::next(it);
  std::weak_ptr<TokenBudget>& slot = registry[full];
  if (auto existing = slot.lock()) return existing;
  auto made = std::make_shared<TokenBudget>(kind, limit, period);
  slot = made;
  return made;
}

int64_t TokenBudget::nowNanos() {
  return std::chrono::duration_cast<Nanos>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void TokenBudget::advance(State& s, int64_t now) const {
  if (s.fresh) {
    s.fresh = false;
    s.value = kind_ == Kind::Bucket ? limit_ : 0;
    s.stamp = kind_ == Kind::Bucket ? now : now - now % period_;
    return;
  }
  if (kind_ == Kind::Bucket) {
    if (now > s.stamp) {
      s.value = std::min(limit_, s.value + double(now - s.stamp) * limit_ / double(period_));
      s.stamp = now;
    }
    return;
  }
  int64_t windowStart = now - now % period_;
  if (windowStart == s.stamp) return;
  s.previous = windowStart - s.stamp == period_ ? s.value : 0;
  s.value = 0;
  s.stamp = windowStart;
}

double TokenBudget::available(const State& s, int64_t now) const {
  if (kind_ == Kind::Bucket) return s.value;
  double overlap = 1.0 - double(now - s.stamp) / double(period_);
  return limit_ - (s.value + s.previous * overlap);
}

namespace {

// A wait in nanoseconds from a double that may be huge (a need far over the limit): clamped to
// [1 ns, 100 years] before the conversion, which would otherwise be undefined.
int64_t clampedNanos(double nanos) {
  if (!(nanos > 1)) return 1;
  return nanos >= 3.1e18 ? int64_t(3.1e18) : int64_t(std::ceil(nanos));
}

}  // namespace

TokenBudget::Decision TokenBudget::decide(State& s, int64_t now, double need) const {
  Decision d;
  d.remaining = available(s, now);
  double required = std::max(need, 1e-9);
  if (d.remaining >= required || (need <= 0 && d.remaining > 0)) return d;
  d.allowed = false;
  double missing = required - d.remaining;
  if (kind_ == Kind::Bucket) {
    d.retryAfter = Nanos(clampedNanos(missing * double(period_) / limit_));
  } else {
    // Within this window only the previous window's share shrinks. If that is not enough, the
    // current window's count becomes the previous one at the boundary and then shrinks in turn:
    // what is over the limit must slide out of the sliding window, which takes a share of the
    // next period (not zero: the count does not vanish at the boundary).
    double perNano = s.previous / double(period_);
    int64_t toWindowEnd = s.stamp + period_ - now;
    int64_t wait = toWindowEnd + period_;  // a need above the limit never fits: the longest
    if (perNano > 0 && missing / perNano <= double(toWindowEnd)) {
      wait = clampedNanos(missing / perNano);
    } else if (required <= limit_) {
      double over = s.value - (limit_ - required);
      wait = toWindowEnd + (over > 0 ? clampedNanos(over / s.value * double(period_)) : 0);
    }
    d.retryAfter = Nanos(std::clamp<int64_t>(wait, 1, toWindowEnd + period_));
  }
  return d;
}

TokenBudget::Decision TokenBudget::check(const std::string& source, int64_t now, double need) {
  std::lock_guard lock(mutex_);
  State& s = sources_[source];
  advance(s, now);
  Decision d = decide(s, now, need);
  if (sources_.size() > maxSources_) trim(now);
  return d;
}

TokenBudget::Decision TokenBudget::take(const std::string& source, int64_t now, double need) {
  std::lock_guard lock(mutex_);
  State& s = sources_[source];
  advance(s, now);
  Decision d = decide(s, now, need);
  if (d.allowed) {
    if (kind_ == Kind::Bucket) s.value -= need;
    else s.value += need;
  }
  if (sources_.size() > maxSources_) trim(now);
  return d;
}

void TokenBudget::refund(const std::string& source, int64_t now, double amount) {
  if (amount <= 0) return;
  std::lock_guard lock(mutex_);
  State& s = sources_[source];
  advance(s, now);
  if (kind_ == Kind::Bucket) s.value = std::min(limit_, s.value + amount);
  else s.value = std::max(0.0, s.value - amount);
}

void TokenBudget::debit(const std::string& source, int64_t now, double used) {
  if (used <= 0) return;
  std::lock_guard lock(mutex_);
  State& s = sources_[source];
  advance(s, now);
  if (kind_ == Kind::Bucket) s.value -= used;
  else s.value += used;
  if (sources_.size() > maxSources_) trim(now);
}

void TokenBudget::trim(int64_t now) {
  for (auto it = sources_.begin(); it != sources_.end() && sources_.size() > maxSources_ / 2;) {
    State& s = it->second;
    advance(s, now);
    bool recovered = available(s, now) >= limit_;
    it = recovered ? sources_.erase(it) : std::next(it);
  }
}

}  // namespace causeway::limits
