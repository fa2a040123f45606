#include <gtest/gtest.h>

#include "middleware/retry/backoff.h"

namespace causeway::middleware {
namespace {

using namespace std::chrono_literals;

TEST(BackoffTest, ZeroWithoutInitialInterval) {
  ExponentialBackoff b(0ns, 4, [] { return 0.5; });
  EXPECT_EQ(b.next(), 0ns);
  ExponentialBackoff single(100ms, 1, [] { return 0.5; });
  EXPECT_EQ(single.next(), 0ns);
}

TEST(BackoffTest, GrowsToTwiceTheInitialIntervalOverTheAttempts) {
  // random 0.5 gives the centre of the ±50% window (plus Go's +1 ns quirk).
  ExponentialBackoff b(100ms, 3, [] { return 0.5; });
  auto first = b.next();
  auto second = b.next();
  auto third = b.next();
  EXPECT_NEAR(double(first.count()), 100e6, 1e3);
  EXPECT_NEAR(double(second.count()), 100e6 * std::sqrt(2.0), 1e3);  // multiplier 2^(1/(3-1))
  EXPECT_NEAR(double(third.count()), 200e6, 1e3);
}

TEST(BackoffTest, Randomization) {
  ExponentialBackoff low(100ms, 5, [] { return 0.0; });
  EXPECT_NEAR(double(low.next().count()), 50e6, 1);
  ExponentialBackoff high(100ms, 5, [] { return 0.999999; });
  EXPECT_NEAR(double(high.next().count()), 150e6, 1e3);
}

TEST(BackoffTest, CappedAtSixtySeconds) {
  ExponentialBackoff b(50s, 2, [] { return 0.5; });
  b.next();  // 50 s, then the interval would be 100 s
  EXPECT_DOUBLE_EQ(b.currentInterval(), 60e9);
}

}  // namespace
}  // namespace causeway::middleware
