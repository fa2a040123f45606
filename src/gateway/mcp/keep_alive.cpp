#include "gateway/mcp/keep_alive.h"

namespace causeway::gateway::mcp {

// The slot between the reading task and the client's side.
struct KeepAliveStream::Shared {
  explicit Shared(const asio::any_io_executor& executor) : arrived(executor), taken(executor) {}
  asio::steady_timer arrived;  // the client's side waits on it; cancelled when a piece is ready
  asio::steady_timer taken;    // the task waits on it while the slot is full
  asio::cancellation_signal stop;  // cancels the task's read when the client is gone
  std::string data;            // the piece in the slot, copied
  bool ready = false;          // the slot holds a piece
  bool last = false;
  bool error = false;
  bool running = true;  // the task has not ended
  bool stopped = false;
  bool taskWaits = false;  // the task waits on `taken`
};

namespace {

// Reads the server's stream a piece ahead of the client's side until its end, an error, or the
// client leaving (a cancelled read throws; `ended` says so either way).
awaitable<void> readAhead(exchange::BodySource* upstream,
                          std::shared_ptr<KeepAliveStream::Shared> shared) {
  KeepAliveStream::Shared& s = *shared;
  struct Ended {
    KeepAliveStream::Shared& s;
    ~Ended() {
      s.running = false;
      s.arrived.cancel();
    }
  } ended{s};
  std::string piece;
  while (!s.stopped) {
    exchange::BodyChunk chunk = co_await upstream->read();
    piece.assign(chunk.data);
    while (s.ready && !s.stopped) {
      s.taskWaits = true;
      s.taken.expires_at(asio::steady_timer::time_point::max());
      co_await s.taken.async_wait(nothrow);
      s.taskWaits = false;
    }
    if (s.stopped) break;
    s.data.swap(piece);
    s.last = chunk.last;
    s.error = chunk.error;
    s.ready = true;
    s.arrived.cancel();
    if (chunk.last || chunk.error) break;
  }
}

// Whether the stream sent so far ends between events (with an empty line), after `sent`.
bool endsBetweenEvents(std::string_view sent, bool before) {
  if (sent.find_first_not_of("\r\n") == std::string_view::npos) return before || sent.size() >= 2;
  return sent.ends_with("\n\n") || sent.ends_with("\r\n\r\n");
}

}  // namespace

KeepAliveStream::KeepAliveStream(exchange::BodySource* upstream, exchange::Exchange& ex,
                                 std::chrono::nanoseconds interval)
    : upstream_(upstream), ex_(ex), interval_(interval) {}

void KeepAliveStream::abandon() {
  if (!shared_ || shared_->stopped) return;
  shared_->stopped = true;
  shared_->stop.emit(asio::cancellation_type::terminal);
  if (shared_->taskWaits) shared_->taken.cancel();
}

awaitable<exchange::BodyChunk> KeepAliveStream::read() {
  if (!shared_) {
    auto executor = co_await asio::this_coro::executor;
    shared_ = std::make_shared<Shared>(executor);
    if (!ex_.waiting) ex_.waiting = this;  // the client leaving reaches abandon()
    ex_.background.spawn(executor, readAhead(upstream_, shared_), shared_->stop.slot());
  }
  Shared& s = *shared_;
  while (!s.ready) {
    if (!s.running) {  // ended without a last piece: the client left, or the read failed
      if (ex_.waiting == this) ex_.waiting = nullptr;
      co_return exchange::BodyChunk{{}, false, true};
    }
    s.arrived.expires_after(interval_);
    auto [ec] = co_await s.arrived.async_wait(nothrow);
    if (!ec && !s.ready && s.running && boundary_) {
      out_.assign(": keep-alive\n\n");
      co_return exchange::BodyChunk{out_, false, false};
    }
  }
  s.ready = false;
  out_.swap(s.data);
  if (s.taskWaits) s.taken.cancel();
  boundary_ = endsBetweenEvents(out_, boundary_);
  if (s.error || s.last) {
    if (ex_.waiting == this) ex_.waiting = nullptr;
  }
  if (s.error) co_return exchange::BodyChunk{{}, false, true};
  done_ = s.last;
  co_return exchange::BodyChunk{out_, s.last, false};
}

}  // namespace causeway::gateway::mcp
