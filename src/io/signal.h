// A wake-up for coroutines of one worker: wait() suspends until notify(). A notify() that
// comes while nobody waits is remembered, so the next wait() returns at once (no lost
// wake-ups). Single-threaded.
//
// The timer it waits on is made by the first wait() that has to suspend: most signals of
// a request (an HTTP/2 stream's body and send signals) are notified but never waited on, and
// a timer costs a service lookup under Asio's registry lock to make.
#pragma once

#include <optional>

#include "io/asio.h"

namespace causeway::io {

class Signal {
 public:
  explicit Signal(asio::any_io_executor executor) : executor_(std::move(executor)) {}
  awaitable<void> wait() {
    if (!pending_) {
      if (!timer_) timer_.emplace(executor_);
      timer_->expires_at(asio::steady_timer::time_point::max());
      co_await timer_->async_wait(nothrow);
    }
    pending_ = false;
  }
  void notify() {
    pending_ = true;
    if (timer_) timer_->cancel();
  }

 private:
  asio::any_io_executor executor_;
  std::optional<asio::steady_timer> timer_;
  bool pending_ = false;
};

}  // namespace causeway::io
