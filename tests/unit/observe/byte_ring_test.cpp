
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "observe/byte_ring.h"

namespace causeway::observe {
namespace {

std::vector<std::string> drainAll(ByteRing& ring) {
  std::vector<std::string> out;
  ring.drain([&](std::string_view a, std::string_view b) { out.push_back(std::string(a) + std::string(b)); });
  return out;
}

TEST(ByteRingTest, RecordsComeOutWholeAndInOrder) {
  ByteRing ring(256);
  EXPECT_TRUE(ring.push("one"));
  EXPECT_TRUE(ring.push("two", "+more"));
  EXPECT_TRUE(ring.push(""));
  EXPECT_EQ(drainAll(ring), (std::vector<std::string>{"one", "two+more", ""}));
  EXPECT_TRUE(ring.empty());
}

TEST(ByteRingTest, FullRingDropsInsteadOfWaiting) {
  ByteRing ring(64);
  std::string record(28, 'x');  // 32 bytes with its length
  EXPECT_TRUE(ring.push(record));
  EXPECT_TRUE(ring.push(record));
  EXPECT_FALSE(ring.push(record));
  EXPECT_FALSE(ring.push(std::string(100, 'y')));  // larger than the ring
  EXPECT_EQ(drainAll(ring).size(), 2u);
  EXPECT_TRUE(ring.push(record));
}

TEST(ByteRingTest, RecordsWrapAroundTheEnd) {
  ByteRing ring(64);
  for (int round = 0; round < 50; ++round) {
    std::string a(10 + round % 17, char('a' + round % 26));
    std::string b(7 + round % 5, char('A' + round % 26));
    ASSERT_TRUE(ring.push(a));
    ASSERT_TRUE(ring.push(b));
    EXPECT_EQ(drainAll(ring), (std::vector<std::string>{a, b}));
  }
}

TEST(ByteRingTest, OneProducerOneConsumer) {
  ByteRing ring(1024);
  constexpr int kCount = 20000;
  std::thread producer([&] {
    for (int i = 0; i < kCount;) {
      if (ring.push(std::to_string(i))) ++i;
    }
  });
  int expected = 0;
  while (expected < kCount) {
    ring.drain([&](std::string_view a, std::string_view b) {
      ASSERT_EQ(std::string(a) + std::string(b), std::to_string(expected));
      ++expected;
    });
  }
  producer.join();
  EXPECT_TRUE(ring.empty());
}

}  // namespace
}  // namespace causeway::observe
