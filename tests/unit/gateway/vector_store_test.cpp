// The semantic cache's store: the exact tier, the nearest entry within a distance, scopes kept
// apart, the ttl, the bounds on entries and bytes, non-finite vectors, and the HNSW graph a
// large scope is searched through.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "gateway/ai/vector_store.h"

namespace causeway::gateway::ai {
namespace {

using Clock = VectorStore::Clock;

TEST(VectorStoreTest, ExactThenNearestWithinTheDistance) {
  VectorStore store(10, 1 << 20, std::chrono::hours(1));
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
  VectorStore store(2, 1 << 20, std::chrono::seconds(10));
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

TEST(VectorStoreTest, TheByteBoundEvictsTheOldest) {
  VectorStore store(100, 1200, std::chrono::hours(1));
  auto now = Clock::now();
  store.insert("s", "a", {1, 0}, std::string(400, 'a'), now);
  store.insert("s", "b", {0, 1}, std::string(400, 'b'), now);
  EXPECT_EQ(store.size(), 2u);
  store.insert("s", "c", {1, 1}, std::string(400, 'c'), now);  // over 1200 bytes: "a" goes
  EXPECT_EQ(store.size(), 2u);
  EXPECT_LE(store.bytes(), 1200u);
  EXPECT_FALSE(store.exact("s", "a", now));
  EXPECT_TRUE(store.exact("s", "c", now));
  store.insert("s", "huge", {1, 0}, std::string(5000, 'x'), now);  // alone over the bound: not kept
  EXPECT_FALSE(store.exact("s", "huge", now));
  EXPECT_EQ(store.size(), 2u);
}

TEST(VectorStoreTest, NonFiniteVectorsAreNeitherKeptNorSearched) {
  VectorStore store(10, 1 << 20, std::chrono::hours(1));
  auto now = Clock::now();
  store.insert("s", "nan", {NAN, 1}, "x", now);
  store.insert("s", "inf", {INFINITY, 0}, "x", now);
  EXPECT_EQ(store.size(), 0u);
  store.insert("s", "ok", {1, 0}, "ok", now);
  EXPECT_FALSE(store.nearest("s", {NAN, 0}, 2, now));
  EXPECT_TRUE(store.nearest("s", {1, 0}, 0.01, now));
}

std::vector<float> randomUnit(std::mt19937& rng, size_t dims) {
  std::normal_distribution<float> normal;
  std::vector<float> v(dims);
  for (float& x : v) x = normal(rng);
  VectorStore::normalize(v);
  return v;
}

TEST(VectorStoreTest, ALargeScopeIsSearchedThroughItsGraph) {
  const size_t dims = 32, count = VectorStore::kIndexFrom + 500;
  VectorStore store(count, size_t(1) << 30, std::chrono::hours(1));
  auto now = Clock::now();
  std::mt19937 rng(7);
  std::vector<std::vector<float>> kept;
  for (size_t i = 0; i < count; ++i) {
    kept.push_back(randomUnit(rng, dims));
    store.insert("s", "q" + std::to_string(i), kept.back(), "a" + std::to_string(i), now);
    if (i + 1 == VectorStore::kIndexFrom - 1) EXPECT_FALSE(store.indexed("s"));
  }
  ASSERT_TRUE(store.indexed("s"));
  // A slightly moved copy of a kept question finds that question's answer.
  size_t found = 0;
  for (size_t i = 0; i < count; i += 25) {
    std::vector<float> q = kept[i];
    for (float& x : q) x += 0.01f * std::normal_distribution<float>()(rng);
    VectorStore::normalize(q);
    auto hit = store.nearest("s", q, 0.05, now);
    if (hit && *hit->answer == "a" + std::to_string(i)) ++found;
  }
  EXPECT_GE(found, (count / 25) * 98 / 100);
  // Full: each insert evicts the oldest and reuses its slot in the graph.
  for (size_t i = 0; i < 300; ++i) {
    auto v = randomUnit(rng, dims);
    store.insert("s", "n" + std::to_string(i), v, "n" + std::to_string(i), now);
    auto hit = store.nearest("s", v, 0.001, now);
    ASSERT_TRUE(hit);
    EXPECT_EQ(*hit->answer, "n" + std::to_string(i));
  }
  EXPECT_EQ(store.size(), count);
  EXPECT_FALSE(store.nearest("s", kept[0], 0.001, now));  // evicted: never answered again
}

}  // namespace
}  // namespace causeway::gateway::ai
