// KeepAliveStream (gateway/mcp/keep_alive.h): pieces pass through in order and whole, keep-alive
// comments go only between events while the server is silent, and a client that leaves (or an
// exchange that ends with the stream unfinished) ends the reading task, so that the codec's join
// returns.
#include <gtest/gtest.h>

#include <deque>

#include "exchange/exchange.h"
#include "gateway/mcp/keep_alive.h"

namespace causeway::gateway::mcp {
namespace {

using namespace std::chrono_literals;

struct TestWorker final : exchange::WorkerContext {
  TestWorker() : WorkerContext(0) {}
};

// A server's stream: each piece is given after its delay; a read waits (cancellably) for it.
class ScriptedStream final : public exchange::BodySource {
 public:
  struct Piece {
    std::chrono::milliseconds after;
    std::string data;
    bool last = false;
  };
  explicit ScriptedStream(std::deque<Piece> pieces) : pieces_(std::move(pieces)) {}
  awaitable<exchange::BodyChunk> read() override {
    ++reads;
    if (pieces_.empty()) co_return exchange::BodyChunk{{}, false, true};
    Piece p = std::move(pieces_.front());
    pieces_.pop_front();
    asio::steady_timer t(co_await asio::this_coro::executor, p.after);
    co_await t.async_wait(asio::use_awaitable);  // throws when the read is cancelled
    current_ = std::move(p.data);
    finished_ = p.last;
    co_return exchange::BodyChunk{current_, p.last, false};
  }
  bool finished() const override { return finished_; }
  int reads = 0;

 private:
  std::deque<Piece> pieces_;
  std::string current_;
  bool finished_ = false;
};

struct KeepAliveTest : ::testing::Test {
  TestWorker worker;
  Arena arena;
  exchange::ConnectionInfo info;
  exchange::Exchange ex{worker, arena, info};

  // Reads `stream` as a codec would until its end, an error or `stopAfter` pieces; then ends the
  // exchange (endWaits, join). Returns the pieces read, "!" for an error.
  std::vector<std::string> drain(exchange::BodySource& stream, size_t stopAfter = 1000) {
    std::vector<std::string> got;
    bool joined = false;
    asio::co_spawn(
        worker.io(),
        [&]() -> awaitable<void> {
          while (got.size() < stopAfter) {
            exchange::BodyChunk c = co_await stream.read();
            if (c.error) {
              got.push_back("!");
              break;
            }
            if (!c.data.empty()) got.emplace_back(c.data);
            if (c.last) break;
          }
          ex.endWaits();
          co_await ex.background.join();
          joined = true;
        },
        asio::detached);
    worker.io().run_for(5s);
    EXPECT_TRUE(joined) << "the reading task outlived the exchange";
    return got;
  }
};

TEST_F(KeepAliveTest, PassesPiecesThroughInOrder) {
  ScriptedStream server({{0ms, "event: a\ndata: 1\n\n"}, {2ms, "data: 2\n\n"}, {0ms, "", true}});
  KeepAliveStream s(&server, ex, 1s);
  EXPECT_EQ(drain(s), (std::vector<std::string>{"event: a\ndata: 1\n\n", "data: 2\n\n"}));
  EXPECT_TRUE(s.finished());
  EXPECT_EQ(ex.waiting, nullptr);
}

TEST_F(KeepAliveTest, CommentsOnlyBetweenEventsWhileTheServerIsSilent) {
  ScriptedStream server({{0ms, "data: 1\n\n"},
                         {130ms, "data: 2\n"},  // an event split across pieces
                         {130ms, "\n"},
                         {0ms, "", true}});
  KeepAliveStream s(&server, ex, 50ms);
  std::vector<std::string> got = drain(s);
  // Comments after "data: 1\n\n" and after the empty line, none inside the second event.
  size_t split = std::find(got.begin(), got.end(), "data: 2\n") - got.begin();
  ASSERT_LT(split + 1, got.size());
  EXPECT_EQ(got[split + 1], "\n");
  EXPECT_GE(std::count(got.begin(), got.begin() + split, ": keep-alive\n\n"), 2);
  EXPECT_EQ(got.front(), "data: 1\n\n");
}

TEST_F(KeepAliveTest, AClientThatLeavesEndsTheRead) {
  ScriptedStream server({{0ms, "data: 1\n\n"}, {60s, "data: never\n\n"}, {0ms, "", true}});
  KeepAliveStream s(&server, ex, 10s);
  bool errored = false;
  asio::co_spawn(
      worker.io(),
      [&]() -> awaitable<void> {
        exchange::BodyChunk first = co_await s.read();
        EXPECT_EQ(first.data, "data: 1\n\n");
        asio::steady_timer t(co_await asio::this_coro::executor, 20ms);
        co_await t.async_wait(asio::use_awaitable);
        ex.clientGone();  // what the codec does when the connection is lost
        exchange::BodyChunk next = co_await s.read();
        errored = next.error;
        co_await ex.background.join();
      },
      asio::detached);
  worker.io().run_for(5s);
  EXPECT_TRUE(errored);
  EXPECT_TRUE(ex.background.empty());
  EXPECT_FALSE(s.finished());
}

TEST_F(KeepAliveTest, AnExchangeThatEndsEarlyDoesNotWaitForTheServer) {
  // The codec stops after the first piece (a stream reset without an error code): the task has
  // read ahead and waits for the slot; endWaits() must end it.
  ScriptedStream server({{0ms, "data: 1\n\n"}, {0ms, "data: 2\n\n"}, {60s, "data: 3\n\n"}});
  KeepAliveStream s(&server, ex, 10s);
  EXPECT_EQ(drain(s, 1), (std::vector<std::string>{"data: 1\n\n"}));
  EXPECT_TRUE(ex.background.empty());
}

}  // namespace
}  // namespace causeway::gateway::mcp
