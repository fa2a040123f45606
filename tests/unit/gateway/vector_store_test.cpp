// The semantic cache's store: the exact tier, the nearest entry within a distance, scopes kept
// apart, the ttl and the bound on entries.
#include <gtest/gtest.h>

#include "gateway/ai/vector_store.h"

namespace causeway::gateway::ai {
namespace {

using Clock = VectorStore::Clock;

TEST(VectorStoreTest, ExactThenNearestWithinTheDistance) {
  VectorStore store(10, std::chrono::hours(1));
  auto now = Clock::now();
  store.insert("p\0m", "capital of france", {1, 0, 0}, "paris", now);
  auto exact = store.exact("p\0m", "capital of france", now);
  ASSERT_TRUE(exact);
  EXPECT_TRUE(exact->exact);
  EXPECT_EQ(*exact->answer, "paris");
  std::vector<float> close{0.99f, 0.1f, 0};
  VectorStore::normalize(close);
  auto near = store.nearest("p\0m", close, 0.01, now);
  ASSERT_TRUE(near);
  EXPECT_NEAR(near->distance, 0.005, 0.001);
  EXPECT_FALSE(store.nearest("p\0m", {0, 1, 0}, 0.5, now));  // orthogonal: distance 1
  EXPECT_FALSE(store.nearest("q\0m", close, 0.5, now));      // another scope sees nothing
}

TEST(VectorStoreTest, EntriesExpireAndTheOldestGoFirst) {
  VectorStore store(2, std::chrono::seconds(10));
  auto now = Clock::now();
  store.insert("s", "a", {1, 0}, "A", now);
  store.insert("s", "b", {0, 1}, "B", now + std::chrono::seconds(1));
  store.insert("s", "c", {1, 1}, "C", now + std::chrono::seconds(2));  // over the bound: "a" goes
  EXPECT_EQ(store.size(), 2u);
  EXPECT_FALSE(store.exact("s", "a", now + std::chrono::seconds(2)));
  EXPECT_TRUE(store.exact("s", "b", now + std::chrono::seconds(2)));
  EXPECT_FALSE(store.exact("s", "b", now + std::chrono::seconds(12)));  // past its ttl
  EXPECT_FALSE(store.nearest("s", {0, 1}, 0.1, now + std::chrono::seconds(12)));
}

}  // namespace
}  // namespace causeway::gateway::ai
