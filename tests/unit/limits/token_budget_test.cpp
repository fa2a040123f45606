// Token budgets: a bucket refills continuously, a window caps any period, both can go below
// zero after a large answer, and Retry-After says when the budget allows a request again.
#include <gtest/gtest.h>

#include "limits/token_budget.h"

#include <atomic>
#include <thread>
#include <vector>

namespace causeway::limits {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

TEST(TokenBudgetTest, BucketRefillsAtLimitPerPeriod) {
  TokenBudget b(TokenBudget::Kind::Bucket, 60, std::chrono::seconds(60));
  int64_t t = 1000 * kSecond;
  EXPECT_TRUE(b.check("a", t).allowed);
  b.debit("a", t, 70);  // an answer larger than what was left: the budget goes below zero
  auto refused = b.check("a", t);
  EXPECT_FALSE(refused.allowed);
  EXPECT_NEAR(double(refused.retryAfter.count()) / kSecond, 10.0, 0.01);  // 10 tokens owed at 1/s
  EXPECT_FALSE(b.check("a", t + 9 * kSecond).allowed);
  EXPECT_TRUE(b.check("a", t + 11 * kSecond).allowed);
  EXPECT_TRUE(b.check("b", t).allowed);  // another source has its own bucket
}

TEST(TokenBudgetTest, EstimatedNeedMustFit) {
  TokenBudget b(TokenBudget::Kind::Bucket, 100, std::chrono::seconds(100));
  int64_t t = 5 * kSecond;
  b.debit("a", t, 60);
  EXPECT_TRUE(b.check("a", t, 40).allowed);
  EXPECT_FALSE(b.check("a", t, 41).allowed);
}

TEST(TokenBudgetTest, WindowIsAHardCapThatSlides) {
  TokenBudget w(TokenBudget::Kind::Window, 100, std::chrono::seconds(10));
  int64_t start = 100 * kSecond;  // a window boundary
  w.debit("a", start + 1 * kSecond, 100);
  EXPECT_FALSE(w.check("a", start + 9 * kSecond).allowed);
  // Half-way through the next window half of the previous one still counts: 50 used.
  auto half = w.check("a", start + 15 * kSecond);
  EXPECT_TRUE(half.allowed);
  EXPECT_NEAR(half.remaining, 50, 0.01);
  // Two windows later nothing counts.
  EXPECT_NEAR(w.check("a", start + 25 * kSecond).remaining, 100, 0.01);
}

// Retry-After of a full window is when a request would pass: the count does not vanish at the
// window's end, it becomes the previous window's and must slide out far enough.
TEST(TokenBudgetTest, WindowRetryAfterIsWhenARequestPasses) {
  TokenBudget w(TokenBudget::Kind::Window, 3, std::chrono::seconds(3600));
  int64_t start = 3600 * kSecond;  // a window boundary
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(w.take("a", start + 3570 * kSecond, 1).allowed);
  auto refused = w.take("a", start + 3572 * kSecond, 1);
  EXPECT_FALSE(refused.allowed);
  // 28 s to the boundary, then a third of the period for one of the three to slide out.
  double after = double(refused.retryAfter.count()) / kSecond;
  EXPECT_NEAR(after, 28 + 1200, 0.01);
  int64_t at = start + 3572 * kSecond + refused.retryAfter.count();
  EXPECT_FALSE(w.check("a", at - kSecond, 1).allowed);
  EXPECT_TRUE(w.check("a", at, 1).allowed);
  // With a previous window's share that is enough, the wait ends inside this window.
  TokenBudget v(TokenBudget::Kind::Window, 10, std::chrono::seconds(10));
  v.debit("v", 100 * kSecond, 10);  // window [100, 110)
  auto soon = v.check("v", 112 * kSecond, 3);  // 8 of the previous 10 count: 2 left, 3 needed
  EXPECT_FALSE(soon.allowed);
  EXPECT_NEAR(double(soon.retryAfter.count()) / kSecond, 1.0, 0.01);  // one more slides out a second
  EXPECT_TRUE(v.check("v", 113 * kSecond, 3).allowed);
}

TEST(TokenBudgetTest, KeepsABoundedNumberOfSources) {
  TokenBudget b(TokenBudget::Kind::Bucket, 10, std::chrono::seconds(1), 100);
  for (int i = 0; i < 1000; ++i) b.check("s" + std::to_string(i), kSecond);
  b.debit("hot", kSecond, 20);
  EXPECT_FALSE(b.check("hot", kSecond).allowed);  // a source that owes is kept
}

TEST(TokenBudgetTest, TakeNeverGivesTheLastTokenTwice) {
  // Eight threads race for a quota of 1,000 requests: exactly 1,000 takes succeed.
  TokenBudget w(TokenBudget::Kind::Window, 1000, std::chrono::hours(1));
  std::atomic<int> taken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 500; ++i)
        if (w.take("app", kSecond, 1).allowed) ++taken;
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(taken.load(), 1000);
  EXPECT_FALSE(w.check("app", kSecond, 1).allowed);
}

TEST(TokenBudgetTest, RefundGivesBackWithoutOverfilling) {
  TokenBudget b(TokenBudget::Kind::Bucket, 2, std::chrono::hours(1));
  EXPECT_TRUE(b.take("a", kSecond, 1).allowed);
  EXPECT_TRUE(b.take("a", kSecond, 1).allowed);
  EXPECT_FALSE(b.take("a", kSecond, 1).allowed);
  b.refund("a", kSecond, 1);
  EXPECT_TRUE(b.take("a", kSecond, 1).allowed);
  b.refund("a", kSecond, 5);  // never above the limit
  EXPECT_NEAR(b.check("a", kSecond).remaining, 2, 1e-9);
  TokenBudget w(TokenBudget::Kind::Window, 3, std::chrono::hours(1));
  w.refund("a", kSecond, 1);  // nothing used: stays at zero used
  EXPECT_NEAR(w.check("a", kSecond).remaining, 3, 1e-9);
}

}  // namespace
}  // namespace causeway::limits
