// The wait between retry attempts, as Traefik's retry middleware computes it with
// cenkalti/backoff's ExponentialBackOff: the interval starts at initialInterval and is
// multiplied by 2^(1/(attempts-1)) after each wait, so the last one is about twice the
// first; each wait is randomized by ±50%; the interval is capped at 60 s. A zero initial
// interval (or fewer than two attempts) means no wait at all (ZeroBackOff).
// Pure and header-only; `random` returns a number in [0, 1).
#pragma once

#include <chrono>
#include <cmath>
#include <functional>

namespace causeway::middleware {

class ExponentialBackoff {
 public:
  using Nanos = std::chrono::nanoseconds;
  ExponentialBackoff(Nanos initialInterval, int attempts, std::function<double()> random)
      : random_(std::move(random)) {
    if (attempts >= 2 && initialInterval.count() > 0) {
      current_ = double(initialInterval.count());
      multiplier_ = std::pow(2.0, 1.0 / double(attempts - 1));
      zero_ = false;
    }
  }

  // The next wait (and advances the interval).
  Nanos next() {
    if (zero_) return Nanos(0);
    constexpr double kRandomization = 0.5;
    constexpr double kMaxInterval = 60e9;
    double delta = kRandomization * current_;
    double low = current_ - delta;
    double high = current_ + delta;
    double wait = low + random_() * (high - low + 1);
    if (current_ >= kMaxInterval / multiplier_) {
      current_ = kMaxInterval;
    } else {
      current_ *= multiplier_;
    }
    return Nanos(int64_t(wait));
  }

  double currentInterval() const { return current_; }

 private:
  std::function<double()> random_;
  double current_ = 0;
  double multiplier_ = 1;
  bool zero_ = true;
};

}  // namespace causeway::middleware
