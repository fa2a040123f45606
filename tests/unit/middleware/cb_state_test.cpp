// Circuit breaker statistics (oxy memmetrics) and state machine (oxy cbreaker) with a fake
// clock.
#include <gtest/gtest.h>

#include "middleware/circuit_breaker/metrics.h"
#include "middleware/circuit_breaker/state.h"

namespace causeway::middleware::cb {
namespace {

constexpr Nanos kMs = 1'000'000;

TEST(RollingCounterTest, WindowOfTenSeconds) {
  RollingCounter c;
  Nanos t = 1000 * kSecond;
  c.inc(t, 1);
  c.inc(t + 500 * kMs, 2);
  EXPECT_EQ(c.count(t + 900 * kMs), 3);
  c.inc(t + 3 * kSecond, 4);
  EXPECT_EQ(c.count(t + 9 * kSecond), 7);
  // The first second's bucket falls out of the 10 s window.
  EXPECT_EQ(c.count(t + 10 * kSecond), 4);
  EXPECT_EQ(c.count(t + 13 * kSecond), 0);
  c.inc(t + 14 * kSecond, 1);
  EXPECT_EQ(c.count(t + 14 * kSecond), 1);
  c.reset();
  EXPECT_EQ(c.count(t + 14 * kSecond), 0);
}

TEST(HdrHistogramTest, QuantilesLikeHdrHistogramGo) {
  HdrHistogram h;
  for (int v = 1; v <= 100; ++v)
    h.record(v);  // exact below 256
  std::vector<const HdrHistogram*> parts{&h};
  EXPECT_EQ(HdrHistogram::valueAtQuantile(parts, 50), 50);
  EXPECT_EQ(HdrHistogram::valueAtQuantile(parts, 99), 99);
  EXPECT_EQ(HdrHistogram::valueAtQuantile(parts, 100), 100);
  HdrHistogram big;
  big.record(100000);  // 100 ms in µs: bucket of width 512 → highest equivalent value
  std::vector<const HdrHistogram*> one{&big};
  int64_t v = HdrHistogram::valueAtQuantile(one, 50);
  EXPECT_GE(v, 100000);
  EXPECT_LT(v, 100000 + 1024);
  EXPECT_EQ(HdrHistogram::highestEquivalentValue(100000), v);
  HdrHistogram empty;
  std::vector<const HdrHistogram*> none{&empty};
  EXPECT_EQ(HdrHistogram::valueAtQuantile(none, 50), 0);
  EXPECT_FALSE(big.record(int64_t(3'600'000'000) * 4));  // out of range, ignored
}

TEST(RtMetricsTest, Ratios) {
  RtMetrics m;
  Nanos t = 50 * kSecond;
  for (int i = 0; i < 6; ++i)
    m.record(t, 200, 10 * kMs);
  for (int i = 0; i < 3; ++i)
    m.record(t, 500, 10 * kMs);
  m.record(t, 502, 10 * kMs);
  EXPECT_DOUBLE_EQ(m.responseCodeRatio(t, 500, 600, 0, 600), 0.4);
  EXPECT_DOUBLE_EQ(m.networkErrorRatio(t), 0.1);
  EXPECT_EQ(m.totalCount(t), 10);
  EXPECT_DOUBLE_EQ(m.responseCodeRatio(t, 500, 600, 600, 700), 0);  // empty denominator
  EXPECT_EQ(m.latencyAtQuantileMs(50.0), 10);
  m.reset(t);
  EXPECT_EQ(m.totalCount(t), 0);
  EXPECT_EQ(m.latencyAtQuantileMs(50.0), 0);
}

struct FakeClock {
  Nanos now = 100 * kSecond;
  Breaker::Clock fn() {
    return [this] { return now; };
  }
};

std::unique_ptr<Breaker> makeBreaker(FakeClock& clock, std::string_view expression,
                                     Settings s = {}) {
  std::string error;
  auto e = compileExpression(expression, error);
  EXPECT_TRUE(e) << error;
  return std::make_unique<Breaker>(std::move(*e), s, clock.fn());
}

TEST(BreakerTest, TripsWhenTheExpressionHolds) {
  FakeClock clock;
  Settings s;
  s.fallbackDuration = 10 * kSecond;
  s.recoveryDuration = 10 * kSecond;
  auto b = makeBreaker(clock, "ResponseCodeRatio(500, 600, 0, 600) > 0.5", s);
  EXPECT_TRUE(b->allowRequest());
  b->record(200, kMs);  // first check: ratio 0
  EXPECT_EQ(b->state(), State::Standby);
  clock.now += 50 * kMs;
  b->record(500, kMs);
  b->record(500, kMs);  // within checkPeriod of the last check: not evaluated yet
  EXPECT_EQ(b->state(), State::Standby);
  EXPECT_TRUE(b->conditionHolds());
  clock.now += 60 * kMs;
  b->record(500, kMs);  // checkPeriod elapsed: 3/4 > 0.5
  EXPECT_EQ(b->state(), State::Tripped);
  EXPECT_FALSE(b->allowRequest());
  clock.now += 9 * kSecond;
  EXPECT_FALSE(b->allowRequest());
}

TEST(BreakerTest, RecoversWithALinearRampThenCloses) {
  FakeClock clock;
  Settings s;
  s.fallbackDuration = 2 * kSecond;
  s.recoveryDuration = 4 * kSecond;
  auto b = makeBreaker(clock, "NetworkErrorRatio() > 0.5", s);
  b->record(502, kMs);
  ASSERT_EQ(b->state(), State::Tripped);
  clock.now += 2 * kSecond + 1;  // fallback over
  // At the start of recovery the target ratio is ~0: denied.
  EXPECT_FALSE(b->allowRequest());
  EXPECT_EQ(b->state(), State::Recovering);
  // Halfway (2 s of 4): target 0.25 → about a quarter of the requests go through.
  clock.now += 2 * kSecond;
  int allowed = 0;
  for (int i = 0; i < 400; ++i)
    allowed += b->allowRequest();
  EXPECT_GT(allowed, 60);
  EXPECT_LT(allowed, 110);
  // Requests that go through are healthy: nothing trips again.
  b->record(200, kMs);
  EXPECT_EQ(b->state(), State::Recovering);
  clock.now += 2 * kSecond + 1;  // recovery over
  EXPECT_TRUE(b->allowRequest());
  EXPECT_EQ(b->state(), State::Standby);
  EXPECT_TRUE(b->allowRequest());
}

TEST(BreakerTest, FailureDuringRecoveryTripsAgain) {
  FakeClock clock;
  Settings s;
  s.fallbackDuration = 1 * kSecond;
  s.recoveryDuration = 1 * kSecond;
  auto b = makeBreaker(clock, "NetworkErrorRatio() > 0.5", s);
  b->record(504, kMs);
  ASSERT_EQ(b->state(), State::Tripped);
  clock.now += 1 * kSecond + 1;
  b->allowRequest();
  ASSERT_EQ(b->state(), State::Recovering);
  clock.now += 200 * kMs;
  b->record(502, kMs);
  EXPECT_EQ(b->state(), State::Tripped);
  EXPECT_FALSE(b->allowRequest());
}

TEST(BreakerTest, RequestThresholdAndLatency) {
  FakeClock clock;
  auto b = makeBreaker(clock, "LatencyAtQuantileMS(50.0) > 100 && RequestThreshold() >= 3");
  b->record(200, 300 * kMs);
  clock.now += 200 * kMs;
  b->record(200, 300 * kMs);
  EXPECT_EQ(b->state(), State::Standby);  // only 2 requests
  clock.now += 200 * kMs;
  b->record(200, 300 * kMs);
  EXPECT_EQ(b->state(), State::Tripped);
}

TEST(BreakerTest, StatisticsAgeOut) {
  FakeClock clock;
  auto b = makeBreaker(clock, "ResponseCodeRatio(500, 600, 0, 600) > 0.5");
  b->record(200, kMs);
  clock.now += 200 * kMs;
  for (int i = 0; i < 3; ++i)
    b->record(500, kMs);  // checked on the first: 1/2, not > 0.5
  EXPECT_EQ(b->state(), State::Standby);
  clock.now += 11 * kSecond;  // the window moved on: everything forgotten
  EXPECT_FALSE(b->conditionHolds());
  b->record(200, kMs);
  EXPECT_EQ(b->state(), State::Standby);
}

TEST(BreakerTest, InvalidExpressions) {
  std::string error;
  EXPECT_FALSE(compileExpression("", error));
  EXPECT_FALSE(compileExpression("NetworkErrorRatio() > 1", error));
  EXPECT_FALSE(compileExpression("Attempts() > 1", error));  // a buffering function
  EXPECT_TRUE(compileExpression("NetworkErrorRatio() > 0.30", error)) << error;
}

}  // namespace
}  // namespace causeway::middleware::cb
