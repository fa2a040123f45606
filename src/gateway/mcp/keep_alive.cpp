#include "gateway/mcp/keep_alive.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <optional>

namespace causeway::gateway::mcp {

// What the reading task hands over: one piece of the server's stream, copied.
struct KeepAliveStream::Shared {
  std::optional<asio::steady_timer> signal;     // cancelled when a piece is ready (a wake-up)
  std::optional<asio::steady_timer> abandoned;  // cancelled when the client is gone
  std::string data;
  bool last = false;
  bool error = false;
  bool ready = false;
};

namespace {

// Reads one piece of the server's stream into `shared` and wakes the reader.
awaitable<void> readOnce(exchange::BodySource* upstream,
                         std::shared_ptr<KeepAliveStream::Shared> shared) {
  using namespace asio::experimental::awaitable_operators;
  shared->abandoned->expires_at(asio::steady_timer::time_point::max());
  auto first = co_await (upstream->read() || shared->abandoned->async_wait(nothrow));
  if (first.index() == 0) {
    const exchange::BodyChunk& chunk = std::get<0>(first);
    shared->data.assign(chunk.data);
    shared->last = chunk.last;
    shared->error = chunk.error;
  } else {
    shared->data.clear();
    shared->error = true;  // the client is gone: the server's stream is given up
  }
  shared->ready = true;
  if (shared->signal) shared->signal->cancel();
}

// Whether the stream sent so far ends between events (with an empty line), after `sent`.
bool endsBetweenEvents(std::string_view sent, bool before) {
  if (sent.find_first_not_of("\r\n") == std::string_view::npos) return before || sent.size() >= 2;
  return sent.ends_with("\n\n") || sent.ends_with("\r\n\r\n");
}

}  // namespace

KeepAliveStream::KeepAliveStream(exchange::BodySource* upstream, exchange::Exchange& ex,
                                 std::chrono::nanoseconds interval)
    : upstream_(upstream), ex_(ex), interval_(interval), shared_(std::make_shared<Shared>()) {}

void KeepAliveStream::abandon() {
  if (shared_->abandoned) shared_->abandoned->cancel();
}

awaitable<exchange::BodyChunk> KeepAliveStream::read() {
  auto executor = co_await asio::this_coro::executor;
  if (!shared_->signal) {
    shared_->signal.emplace(executor);
    shared_->abandoned.emplace(executor);
    if (!ex_.waiting) ex_.waiting = this;  // the client leaving reaches abandon()
  }
  if (!reading_) {
    reading_ = true;
    ex_.background.spawn(executor, readOnce(upstream_, shared_));
  }
  while (!shared_->ready) {
    shared_->signal->expires_at(asio::steady_timer::time_point::max());
    asio::steady_timer tick(executor, interval_);
    using namespace asio::experimental::awaitable_operators;
    auto woke = co_await (shared_->signal->async_wait(nothrow) || tick.async_wait(nothrow));
    if (woke.index() == 1 && !shared_->ready && boundary_) {
      out_.assign(": keep-alive\n\n");
      co_return exchange::BodyChunk{out_, false, false};
    }
  }
  shared_->ready = false;
  reading_ = false;
  out_.swap(shared_->data);
  boundary_ = endsBetweenEvents(out_, boundary_);
  if (shared_->error || shared_->last) {
    if (ex_.waiting == this) ex_.waiting = nullptr;
  }
  if (shared_->error) co_return exchange::BodyChunk{{}, false, true};
  done_ = shared_->last;
  co_return exchange::BodyChunk{out_, shared_->last, false};
}

}  // namespace causeway::gateway::mcp
