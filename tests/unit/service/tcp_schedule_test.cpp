// The TCP services' weighted order (service/tcp_service.h): smooth, proportional, weights ≤ 0
// never picked, long cycles scaled down.
#include <gtest/gtest.h>

#include <map>

#include "service/tcp_service.h"

namespace causeway::service {
namespace {

std::string picks(const WeightedSchedule& schedule, size_t count) {
  std::string out;
  for (size_t i = 0; i < count; ++i) out += char('a' + schedule.next());
  return out;
}

TEST(WeightedSchedule, SmoothAndProportional) {
  WeightedSchedule schedule({3, 1});
  EXPECT_EQ(picks(schedule, 8), "aabaaaba");
  WeightedSchedule even({1, 1, 1});
  EXPECT_EQ(picks(even, 6), "abcabc");
}

TEST(WeightedSchedule, ZeroWeightsAreNeverPicked) {
  WeightedSchedule schedule({0, 2, -1});
  EXPECT_EQ(picks(schedule, 4), "bbbb");
  EXPECT_TRUE(WeightedSchedule({0, 0}).empty());
  EXPECT_TRUE(WeightedSchedule({}).empty());
}

TEST(WeightedSchedule, LargeWeightsKeepTheirShare) {
  WeightedSchedule schedule({3000000, 1000000});
  EXPECT_LE(schedule.order().size(), 4100u);
  std::map<size_t, size_t> counts;
  for (uint32_t i : schedule.order()) ++counts[i];
  ASSERT_GT(counts[1], 0u);
  EXPECT_NEAR(double(counts[0]) / double(counts[1]), 3.0, 0.01);
}

}  // namespace
}  // namespace causeway::service
