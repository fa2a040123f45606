
#include <gtest/gtest.h>

#include "io/read_buffer.h"

namespace causeway::io {
namespace {

void put(ReadBuffer& b, std::string_view data, size_t limit = 1 << 20) {
  auto space = b.prepare(data.size(), limit);
  ASSERT_GE(space.size(), data.size());
  std::memcpy(space.data(), data.data(), data.size());
  b.commit(data.size());
}

TEST(ReadBufferTest, GrowsCompactsAndKeepsData) {
  ReadBuffer b(8);
  put(b, "hello");
  put(b, "world!!!");
  EXPECT_EQ(b.data(), "helloworld!!!");
  b.consume(5);
  EXPECT_EQ(b.data(), "world!!!");
  put(b, "0123456789");
  EXPECT_EQ(b.data(), "world!!!0123456789");
  b.consume(b.size());
  EXPECT_TRUE(b.empty());
}

TEST(ReadBufferTest, RespectsTheLimit) {
  ReadBuffer b(16);
  put(b, std::string(16, 'x'), 32);
  auto space = b.prepare(64, 32);
  EXPECT_EQ(space.size(), 16u);  // only up to the limit
  b.commit(16);
  EXPECT_EQ(b.prepare(1, 32).size(), 0u);
}

TEST(ReadBufferTest, ReleaseFreesAnEmptyBuffer) {
  ReadBuffer b(1024);
  put(b, "abc");
  b.release();
  EXPECT_EQ(b.capacity(), 1024u);  // not empty: kept
  b.consume(3);
  b.release();
  EXPECT_EQ(b.capacity(), 0u);
  put(b, "again");
  EXPECT_EQ(b.data(), "again");
}

}  // namespace
}  // namespace causeway::io
