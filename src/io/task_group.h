// Coroutines that run beside an exchange (an HTTP/2 request-body pump feeding an upstream
// while the response streams back) and must end before the exchange's memory is
// released: the codec calls join() before resetting the exchange's arena. Single-threaded
// (one worker); creating an empty group costs nothing.
#pragma once

#include <optional>

#include "io/asio.h"

namespace causeway::io {

class TaskGroup {
 public:
  template <class Task>
  void spawn(asio::any_io_executor executor, Task task) {
    ++running_;
    asio::co_spawn(executor, std::move(task), [this](std::exception_ptr) { finished(); });
  }
  // The same, cancelled (terminal) through `slot`: the operation the task waits on ends with
  // operation_aborted (or throws, without `nothrow`), and every later co_await in it throws.
  // The slot's signal must outlive the task: join() before it goes.
  template <class Task>
  void spawn(asio::any_io_executor executor, Task task, asio::cancellation_slot slot) {
    ++running_;
    asio::co_spawn(executor, std::move(task),
                   asio::bind_cancellation_slot(slot, [this](std::exception_ptr) { finished(); }));
  }
  // Waits until every spawned task has finished.
  awaitable<void> join() {
    while (running_ > 0) {
      if (!waiter_) waiter_.emplace(co_await asio::this_coro::executor);
      waiter_->expires_at(asio::steady_timer::time_point::max());
      co_await waiter_->async_wait(nothrow);
    }
  }
  bool empty() const { return running_ == 0; }

 private:
  void finished() {
    if (--running_ == 0 && waiter_) waiter_->cancel();
  }
  size_t running_ = 0;
  std::optional<asio::steady_timer> waiter_;
};

}  // namespace causeway::io
