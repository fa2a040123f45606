// A wake-up for coroutines of one worker: wait() suspends until notify(). A notify() that
// comes while nobody waits is remembered, so the next wait() returns at once (no lost
// wake-ups). Single-threaded.
#pragma once

#include "io/asio.h"

namespace causeway::io {

class Signal {
 public:
  explicit Signal(asio::any_io_executor executor) : timer_(executor) {}
  awaitable<void> wait() {
    if (!pending_) {
      timer_.expires_at(asio::steady_timer::time_point::max());
      co_await timer_.async_wait(nothrow);
    }
    pending_ = false;
  }
  void notify() {
    pending_ = true;
    timer_.cancel();
  }

 private:
  asio::steady_timer timer_;
  bool pending_ = false;
};

}  // namespace causeway::io
