#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "service/strategies.h"

namespace causeway::service {
namespace {

std::string wrrSequence(std::vector<int> weights, size_t picks, std::vector<bool> up = {}) {
  std::vector<int64_t> current(weights.size(), 0);
  std::string out;
  for (size_t n = 0; n < picks; ++n) {
    size_t i = smoothWrrPick(current, weights, [&](size_t k) { return up.empty() || up[k]; });
    out += i == weights.size() ? '-' : char('a' + i);
  }
  return out;
}

TEST(SmoothWrr, NginxReferenceSequence) {
  // nginx's documented example: weights 5, 1, 1 give a a b a c a a.
  EXPECT_EQ(wrrSequence({5, 1, 1}, 7), "aabacaa");
  EXPECT_EQ(wrrSequence({5, 1, 1}, 14), "aabacaaaabacaa");
}

TEST(SmoothWrr, EqualWeightsAlternate) {
  EXPECT_EQ(wrrSequence({1, 1, 1}, 6), "abcabc");
  EXPECT_EQ(wrrSequence({3, 1}, 8), "aabaaaba");
}

TEST(SmoothWrr, SharesMatchWeightsExactlyOverACycle) {
  std::vector<int> weights{5, 3, 2};
  std::vector<int64_t> current(3, 0);
  std::map<size_t, int> counts;
  for (int n = 0; n < 1000; ++n)
    ++counts[smoothWrrPick(current, weights, [](size_t) { return true; })];
  EXPECT_EQ(counts[0], 500);
  EXPECT_EQ(counts[1], 300);
  EXPECT_EQ(counts[2], 200);
}

TEST(SmoothWrr, SkipsZeroWeightsAndUnavailable) {
  EXPECT_EQ(wrrSequence({0, 1, 1}, 4), "bcbc");
  EXPECT_EQ(wrrSequence({2, 1, 1}, 4, {true, false, true}), "acaa");  // as weights {2, 1}
  EXPECT_EQ(wrrSequence({1, 1}, 2, {false, false}), "--");
  EXPECT_EQ(wrrSequence({}, 1), "-");
}

TEST(Edf, StaggeredStartAndWeights) {
  std::vector<int> weights{2, 1};
  EdfSchedule edf(weights);
  std::vector<size_t> both{0, 1};
  std::string out;
  for (int n = 0; n < 6; ++n)
    out += char('a' + edf.pick(both, weights));
  // Deadlines start at 0.5 and 1.5: a(0.5→1) a(1→1.5) a(tie→2) b(1.5→2.5) a(2→2.5) a(tie→3).
  EXPECT_EQ(out, "aaabaa");
  std::vector<size_t> onlySecond{1};
  EXPECT_EQ(edf.pick(onlySecond, weights), 1u);
}

TEST(Fnv, GoReferenceValues) {
  EXPECT_EQ(fnv1Hash64(""), 0xcbf29ce484222325ull);
  EXPECT_EQ(fnv1Hash64("a"), 0xaf63bd4c8601b7beull);
  EXPECT_EQ(fnv1aHash64("a"), 0xaf63dc4c8601ec8cull);
  EXPECT_EQ(hexNumber(fnv1Hash64("http://127.0.0.1:8080")), "5a1cc52f3f46040c");
  EXPECT_EQ(hexNumber(0x0f), "f");
}

TEST(Hrw, ScoreIsTraefiksFormula) {
  // 1 / -ln(fnv1a(key + name) / 2^64) × weight, values computed independently.
  EXPECT_NEAR(hrwScore("10.0.0.1", "http://a", 1), 37.24729382284006, 1e-9);
  EXPECT_NEAR(hrwScore("10.0.0.2", "http://b", 1), 0.9084214568165682, 1e-12);
  EXPECT_NEAR(hrwScore("10.0.0.2", "http://b", 3), 3 * 0.9084214568165682, 1e-12);
}

TEST(Hrw, SameKeySameServerAndWeightsShiftTheShare) {
  std::vector<std::string> names{"http://127.0.0.1:8081", "http://127.0.0.1:9092",
                                 "http://127.0.0.1:10003"};
  std::vector<int> equal{1, 1, 1};
  auto all = [](size_t) { return true; };
  std::map<size_t, int> counts;
  for (int i = 0; i < 3000; ++i) {
    std::string key = "10." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ".7";
    size_t first = hrwPick(key, names, equal, all);
    EXPECT_EQ(hrwPick(key, names, equal, all), first);
    ++counts[first];
  }
  for (size_t i = 0; i < 3; ++i)
    EXPECT_GT(counts[i], 500) << i;
  // A server that is down loses only its own keys.
  for (int i = 0; i < 300; ++i) {
    std::string key = "192.168.0." + std::to_string(i);
    size_t first = hrwPick(key, names, equal, all);
    size_t without = hrwPick(key, names, equal, [](size_t k) { return k != 1; });
    if (first != 1)
      EXPECT_EQ(without, first);
    else
      EXPECT_NE(without, 1u);
  }
  std::vector<int> heavy{8, 1, 1};
  std::map<size_t, int> weighted;
  for (int i = 0; i < 3000; ++i)
    ++weighted[hrwPick("172.16.0." + std::to_string(i), names, heavy, all)];
  EXPECT_GT(weighted[0], 2000);
}

TEST(Digests, Hex) {
  EXPECT_EQ(sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace causeway::service
