// The circuit breaker's state machine (vulcand/oxy cbreaker, which Traefik uses):
//
//   standby ──(checkPeriod elapsed after a request and the expression is true)──▶ tripped
//   tripped ──(fallbackDuration over, at the next request)──▶ recovering
//   recovering ──(recoveryDuration over)──▶ standby;  expression true again ──▶ tripped
//
// - standby: every request goes through; its status and latency are recorded; after a
//   request, if checkPeriod has passed since the last check, the expression is evaluated.
// - tripped: every request gets the fallback; entering it resets the statistics.
// - recovering: a request goes through when allowed/(allowed+denied), counting it, stays
//   below 0.5 × elapsed/recoveryDuration (oxy's ratioController: a linear ramp to 50%);
//   the others get the fallback.
//
// One Breaker per router (Traefik: each router gets its own instance), shared by every
// worker: a mutex protects the statistics and the state; the common case (standby) reads
// only an atomic. The clock is injected so the unit tests drive time.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "expr/predicate.h"
#include "middleware/circuit_breaker/metrics.h"

namespace causeway::middleware::cb {

enum class State { Standby = 0, Tripped = 1, Recovering = 2 };

struct Settings {
  Nanos checkPeriod = 100'000'000;
  Nanos fallbackDuration = 10 * kSecond;
  Nanos recoveryDuration = 10 * kSecond;
};

// Compiles a circuit breaker expression (NetworkErrorRatio(), ResponseCodeRatio(a, b, c, d),
// LatencyAtQuantileMS(q), RequestThreshold()). nullopt with `error` when invalid.
std::optional<expr::predicate::Expression> compileExpression(std::string_view text, std::string& error);

class Breaker {
 public:
  using Clock = std::function<Nanos()>;
  Breaker(expr::predicate::Expression condition, Settings settings, Clock clock);

  // Whether the request may go to the next handler (false: answer with the fallback).
  bool allowRequest();
  // Records a request that went through (its status and how long it took), then checks the
  // expression if checkPeriod has elapsed.
  void record(int status, Nanos latency);

  State state() const { return State(state_.load(std::memory_order_acquire)); }
  Nanos now() const { return clock_(); }

  // The expression's current value (tests and debugging).
  bool conditionHolds();

 private:
  bool evaluateLocked(Nanos now);
  void setState(State s, Nanos until);

  expr::predicate::Expression condition_;
  Settings settings_;
  Clock clock_;

  std::mutex mutex_;
  std::atomic<int> state_{int(State::Standby)};
  Nanos until_ = 0;
  std::atomic<Nanos> lastCheck_{std::numeric_limits<Nanos>::min()};
  RtMetrics metrics_;
  // Recovery ramp.
  Nanos rampStart_ = 0;
  int64_t allowed_ = 0;
  int64_t denied_ = 0;
};

}  // namespace causeway::middleware::cb
