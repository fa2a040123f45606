#include "io/signal.h"

#include <gtest/gtest.h>

#include <vector>

namespace causeway::io {
namespace {

// Runs `body` as a coroutine on `context` until the context has nothing left to do.
template <class Body>
void runOn(asio::io_context& context, Body body) {
  asio::co_spawn(context, std::move(body), asio::detached);
  context.run();
  context.restart();
}

TEST(SignalTest, ANotifyBeforeTheWaitIsKept) {
  asio::io_context context;
  Signal signal(context.get_executor());
  signal.notify();
  bool passed = false;
  runOn(context, [&]() -> awaitable<void> {
    co_await signal.wait();  // returns at once: the notify came first
    passed = true;
  });
  EXPECT_TRUE(passed);
}

TEST(SignalTest, AWaiterResumesOnEachNotify) {
  asio::io_context context;
  Signal signal(context.get_executor());
  std::vector<int> seen;
  asio::co_spawn(context, [&]() -> awaitable<void> {
    for (int round = 0; round < 3; ++round) {
      co_await signal.wait();
      seen.push_back(round);
    }
  }, asio::detached);
  context.poll();
  EXPECT_TRUE(seen.empty());  // suspended: nothing notified yet
  for (int round = 0; round < 3; ++round) {
    signal.notify();
    context.poll();
    EXPECT_EQ(seen.size(), size_t(round + 1));
  }
  context.poll();
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2}));
}

TEST(SignalTest, NotifiesWithoutAWaiterCollapseIntoOne) {
  asio::io_context context;
  Signal signal(context.get_executor());
  signal.notify();
  signal.notify();
  int passes = 0;
  asio::co_spawn(context, [&]() -> awaitable<void> {
    co_await signal.wait();
    ++passes;
    co_await signal.wait();  // the second notify was the same wake-up: this one waits
    ++passes;
  }, asio::detached);
  context.poll();
  EXPECT_EQ(passes, 1);
  signal.notify();
  context.poll();
  EXPECT_EQ(passes, 2);
}

}  // namespace
}  // namespace causeway::io
