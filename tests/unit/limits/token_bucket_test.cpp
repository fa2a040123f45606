// rateLimit's token bucket: x/time/rate's arithmetic as Traefik drives it.
#include <gtest/gtest.h>

#include "limits/token_bucket.h"

namespace causeway::limits {
namespace {

using namespace std::chrono_literals;
constexpr int64_t kSecond = 1000000000;

TEST(TokenBucketTest, DerivedParameters) {
  auto p = rateParameters(5, 1s, 1);
  EXPECT_DOUBLE_EQ(p.rate, 5.0);
  EXPECT_EQ(p.burst, 1);
  EXPECT_EQ(p.maxDelay, 100ms);  // 1s / (5 * 2)
  EXPECT_EQ(p.ttlSeconds, 2);

  p = rateParameters(1, 2s, 0);  // 0.5 req/s; burst at least 1
  EXPECT_DOUBLE_EQ(p.rate, 0.5);
  EXPECT_EQ(p.burst, 1);
  EXPECT_EQ(p.maxDelay, 500ms);
  EXPECT_EQ(p.ttlSeconds, 3);  // 1 + 1/0.5

  p = rateParameters(3, 2s, 10);  // 1.5 req/s: Go truncates the rate before dividing
  EXPECT_EQ(p.maxDelay, 500ms);
  EXPECT_EQ(p.burst, 10);

  p = rateParameters(100, 0s, 1);  // period 0 means 1 s
  EXPECT_DOUBLE_EQ(p.rate, 100.0);
  EXPECT_EQ(p.maxDelay, 5ms);

  p = rateParameters(0, 1s, 1);
  EXPECT_TRUE(p.unlimited());
  EXPECT_EQ(p.maxDelay, 0ms);
  EXPECT_EQ(p.ttlSeconds, 2);
}

TEST(TokenBucketTest, BurstThenWaitsOrRefuses) {
  auto p = rateParameters(10, 1s, 3);  // 10/s, burst 3, maxDelay 50ms
  TokenBucket b;
  int64_t t = 1000 * kSecond;
  EXPECT_EQ(reserve(b, t, p), 0ns);
  EXPECT_EQ(reserve(b, t, p), 0ns);
  EXPECT_EQ(reserve(b, t, p), 0ns);
  // Empty: the next token is 100ms away, more than maxDelay: refused and given back.
  EXPECT_EQ(reserve(b, t, p), 100ms);
  EXPECT_EQ(reserve(b, t, p), 100ms);
  // 60ms later: 0.6 token, the next is 40ms away (<= 50ms): granted with a delay.
  EXPECT_EQ(reserve(b, t + 60 * 1000000, p), 40ms);
  // That reservation consumed the future token: the next one is 140ms away.
  EXPECT_EQ(reserve(b, t + 60 * 1000000, p), 140ms);
  // A second later the bucket is full again (3 tokens, not more).
  int64_t later = t + 2 * kSecond;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(reserve(b, later, p), 0ns);
  EXPECT_GT(reserve(b, later, p), 50ms);
}

TEST(TokenBucketTest, UnlimitedNeverWaits) {
  auto p = rateParameters(0, 1s, 1);
  TokenBucket b;
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(reserve(b, 5, p), 0ns);
}

TEST(TokenBucketTest, TimeGoingBackwardsDoesNotAddTokens) {
  auto p = rateParameters(1, 1s, 1);
  TokenBucket b;
  EXPECT_EQ(reserve(b, 10 * kSecond, p), 0ns);
  EXPECT_EQ(reserve(b, 5 * kSecond, p), 1s);  // refused (maxDelay 500ms)
}

TEST(TokenBucketTest, TableKeepsBucketsPerSourceAndExpiresThem) {
  BucketTable table(rateParameters(1, 1s, 1));  // ttl 2s
  int64_t t = 100 * kSecond;
  EXPECT_EQ(table.allow("a", t, 100), 0ns);
  EXPECT_EQ(table.allow("b", t, 100), 0ns);  // another source, its own bucket
  EXPECT_EQ(table.allow("a", t, 100), 1s);
  EXPECT_EQ(table.size(), 2u);
  // 0.4s later, "a" still waits 0.6s.
  EXPECT_EQ(table.allow("a", t + 400000000, 100), 600ms);
}

TEST(TokenBucketTest, TableDropsTheEntryExpiringFirstWhenFull) {
  BucketTable table(rateParameters(1, 1s, 1), 16);  // 16 shards of 2
  for (int i = 0; i < 200; ++i)
    table.allow("s" + std::to_string(i), 0, i);
  EXPECT_LE(table.size(), 16u + 16u);
}

TEST(TokenBucketTest, GoDurationStrings) {
  EXPECT_EQ(goDurationString(0ns), "0s");
  EXPECT_EQ(goDurationString(100ms), "100ms");
  EXPECT_EQ(goDurationString(std::chrono::nanoseconds(199999000)), "199.999ms");
  EXPECT_EQ(goDurationString(1500ms), "1.5s");
  EXPECT_EQ(goDurationString(61s), "1m1s");
}

}  // namespace
}  // namespace causeway::limits
