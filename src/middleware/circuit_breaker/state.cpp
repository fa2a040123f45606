#include "middleware/circuit_breaker/state.h"

#include <array>

namespace causeway::middleware::cb {
namespace {

enum Fn { kNetworkErrorRatio, kResponseCodeRatio, kLatencyAtQuantileMS, kRequestThreshold };

const std::array<expr::predicate::Function, 4>& functions() {
  using expr::predicate::Type;
  static const std::array<expr::predicate::Function, 4> fns = {{
      {"NetworkErrorRatio", {}, Type::Float},
      {"ResponseCodeRatio", {Type::Int, Type::Int, Type::Int, Type::Int}, Type::Float},
      {"LatencyAtQuantileMS", {Type::Float}, Type::Int},
      {"RequestThreshold", {}, Type::Int},
  }};
  return fns;
}

}  // namespace

std::optional<expr::predicate::Expression> compileExpression(std::string_view text, std::string& error) {
  return expr::predicate::parse(text, functions(), error);
}

Breaker::Breaker(expr::predicate::Expression condition, Settings settings, Clock clock)
    : condition_(std::move(condition)), settings_(settings), clock_(std::move(clock)) {}

void Breaker::setState(State s, Nanos until) {
  until_ = until;
  state_.store(int(s), std::memory_order_release);
}

bool Breaker::allowRequest() {
  if (state() == State::Standby) return true;
  std::lock_guard lock(mutex_);
  Nanos now = clock_();
  switch (state()) {
  case State::Standby:
    return true;
  case State::Tripped:
    if (now < until_) return false;
    // Fallback duration over: recover.
    setState(State::Recovering, now + settings_.recoveryDuration);
    rampStart_ = now;
    allowed_ = 0;
    denied_ = 0;
    [[fallthrough]];
  case State::Recovering: {
    if (now > until_) {
      setState(State::Standby, now);
      return true;
    }
    double target = settings_.recoveryDuration > 0
                        ? 0.5 / double(settings_.recoveryDuration) * double(now - rampStart_)
                        : 1.0;
    double current = double(allowed_ + 1) / double(allowed_ + 1 + denied_);
    if (current < target) {
      ++allowed_;
      return true;
    }
    ++denied_;
    return false;
  }
  }
  return true;
}

bool Breaker::evaluateLocked(Nanos now) {
  return condition_.evaluate([&](int function, const std::vector<expr::predicate::Value>& args) {
    expr::predicate::Value v;
    switch (function) {
    case kNetworkErrorRatio:
      v.type = expr::predicate::Type::Float;
      v.f = metrics_.networkErrorRatio(now);
      break;
    case kResponseCodeRatio:
      v.type = expr::predicate::Type::Float;
      v.f = metrics_.responseCodeRatio(now, args[0].i, args[1].i, args[2].i, args[3].i);
      break;
    case kLatencyAtQuantileMS:
      v.type = expr::predicate::Type::Int;
      v.i = metrics_.latencyAtQuantileMs(args[0].f);
      break;
    case kRequestThreshold:
      v.type = expr::predicate::Type::Int;
      v.i = metrics_.totalCount(now);
      break;
    }
    return v;
  });
}

bool Breaker::conditionHolds() {
  std::lock_guard lock(mutex_);
  return evaluateLocked(clock_());
}

void Breaker::record(int status, Nanos latency) {
  std::lock_guard lock(mutex_);
  Nanos now = clock_();
  metrics_.record(now, status, latency);
  // checkAndSet: at most one evaluation per checkPeriod.
  Nanos lastCheck = lastCheck_.load(std::memory_order_relaxed);
  if (!(now > lastCheck)) return;
  lastCheck_.store(now + settings_.checkPeriod, std::memory_order_relaxed);
  if (state() == State::Tripped) return;
  if (!evaluateLocked(now)) return;
  setState(State::Tripped, now + settings_.fallbackDuration);
  metrics_.reset(now);
}

}  // namespace causeway::middleware::cb
