#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "exchange/spill_buffer.h"

namespace causeway::exchange {
namespace {

std::string replay(const SpillBuffer& buffer) {
  asio::io_context io;
  std::string out;
  bool ok = true;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        SpillBody body(buffer);
        EXPECT_EQ(body.length(), buffer.size());
        while (!body.finished()) {
          exchange::BodyChunk chunk = co_await body.read();
          if (chunk.error) {
            ok = false;
            break;
          }
          EXPECT_LE(chunk.data.size(), 64u * 1024);
          out.append(chunk.data);
          if (chunk.last) break;
        }
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(ok);
  return out;
}

TEST(SpillBufferTest, StaysInMemoryUpToTheLimit) {
  SpillBuffer b(16);
  ASSERT_TRUE(b.append("0123456789"));
  ASSERT_TRUE(b.append("abcdef"));
  EXPECT_FALSE(b.spilled());
  EXPECT_EQ(replay(b), "0123456789abcdef");
}

TEST(SpillBufferTest, SpillsToAnAnonymousFile) {
  SpillBuffer b(1000);
  std::string expected;
  for (int i = 0; i < 5000; ++i) {
    std::string piece = std::to_string(i) + ",";
    expected += piece;
    ASSERT_TRUE(b.append(piece));
  }
  EXPECT_TRUE(b.spilled());
  EXPECT_EQ(b.size(), expected.size());
  EXPECT_EQ(replay(b), expected);
  EXPECT_EQ(replay(b), expected);  // replayable
  char c = 0;
  EXPECT_EQ(b.readAt(expected.size() - 1, &c, 1), 1);
  EXPECT_EQ(c, ',');
  EXPECT_EQ(b.readAt(expected.size(), &c, 1), 0);
}

TEST(SpillBufferTest, EmptyBody) {
  SpillBuffer b(10);
  EXPECT_EQ(replay(b), "");
}

}  // namespace
}  // namespace causeway::exchange
