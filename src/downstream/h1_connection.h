// The HTTP/1.1 downstream codec: one coroutine per client connection, on the worker that
// accepted it, over a plain or TLS stream. It reads request heads (pipelined requests are
// answered in order), turns each into the internal Request, runs the routed handler, and
// writes the Response with HTTP/1.1 framing. Malformed input gets a 4xx and a closed
// connection; nothing of it reaches an upstream.
//
// Timeouts (entryPoint transport.respondingTimeouts): readTimeout for the whole request
// including its body (also while waiting for a connection's first request), idleTimeout
// between requests, writeTimeout from the end of the request head to the end of the
// response.
#pragma once

#include <optional>
#include <string>

#include "core/arena.h"
#include "exchange/exchange.h"
#include "http/h1/parser.h"
#include "io/asio.h"
#include "io/read_buffer.h"
#include "io/watchdog.h"
#include "runtime/entry_point.h"
#include "runtime/worker.h"

namespace causeway::tls {
class TlsStream;
}  // namespace causeway::tls

namespace causeway::downstream {

template <class Stream>
class Http1Connection final : public runtime::DownstreamConnection, public io::Watched {
 public:
  // `initial` holds bytes already read from the connection (its first bytes).
  Http1Connection(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket& socket, Stream& stream,
                  exchange::ConnectionInfo& info, io::ReadBuffer initial);
  ~Http1Connection() override;

  // Serves requests until the connection ends.
  awaitable<void> run();

  void drain() override;
  void onDeadline() override;

 private:
  class RequestBody;
  friend class RequestBody;
  enum class Phase { Idle, ReadingHead, Handling, Writing, Closing };

  awaitable<bool> readHead(http::h1::RequestHead& head);
  // Fills ex.request from the parsed head; returns 0 or the 4xx status to answer.
  int buildRequest(exchange::Exchange& ex, const http::h1::RequestHead& head);
  awaitable<bool> writeResponse(exchange::Exchange& ex, bool headRequest, bool& close);
  awaitable<void> writeError(int status);
  awaitable<void> lingeringClose();
  awaitable<bool> writeAll(std::span<const asio::const_buffer> buffers);
  // writeAll in two steps, so that the usual case runs no coroutine: a plain socket takes the
  // whole response at once. writeNow() sends what the socket takes now and returns whether
  // the write succeeded, or nullopt when `sent` bytes went and writeRest() must send the rest
  // (always, for TLS).
  std::optional<bool> writeNow(std::span<const asio::const_buffer> buffers, size_t& sent);
  awaitable<bool> writeRest(std::span<const asio::const_buffer> buffers, size_t sent);
  void updateDeadline();
  void armSend();  // before a write that may wait: the sendTimeout deadline
  // TLS: close_notify before an orderly close (nothing for a plain stream).
  void closeNotify() {
    if constexpr (requires(Stream& s) { s.closeNotify(); }) stream_.closeNotify();
  }

  runtime::Worker& worker_;
  const runtime::EntryPoint& entryPoint_;
  tcp::socket& socket_;
  Stream& stream_;
  exchange::ConnectionInfo& info_;
  io::ReadBuffer in_;
  Arena arena_;
  std::string out_;
  std::string scratch_;
  http::h1::HeadScanner scanner_;
  Phase phase_ = Phase::Idle;
  bool timedOut_ = false;
  bool draining_ = false;
  bool wrote_ = false;  // plain streams: TCP_NODELAY is set before the second write
  uint64_t served_ = 0;
  Clock::time_point openedAt_;
  Clock::time_point readDeadline_ = Clock::time_point::max();
  Clock::time_point writeDeadline_ = Clock::time_point::max();
  bool readingBody_ = false;
  // While the handler waits (request read, response not started), the watchdog checks every
  // kClientProbe whether the client has gone; if so the exchange is told (clientGone), which
  // abandons the upstream request, as Go's server cancels the request context on EOF.
  exchange::Exchange* handling_ = nullptr;
  Clock::time_point probeAt_ = Clock::time_point::max();
  bool clientLeft_ = false;
  bool peerClosed() const;
  size_t headBudget_ = 0;  // taken from requestHeadBudget() for a large head being read
  void giveBackHeadMemory();
  std::chrono::nanoseconds nextIdleTimeout_{0};  // between requests: the entryPoint's, or the last router's
  // Plain keep-alive connections idle for kIdleRelease give their buffers back (nginx does the
  // same): the watchdog ends the pending read, the buffers go, and the connection waits for
  // readability without a buffer until its idle deadline (idleUntil_).
  static constexpr std::chrono::seconds kIdleRelease{1};
  bool releaseArmed_ = false;  // the deadline set is kIdleRelease, not a timeout
  bool releaseNow_ = false;    // the read was ended to release the buffers
  Clock::time_point idleUntil_;
  void releaseIdleMemory(http::h1::RequestHead& head);
};

class PlainStream;
extern template class Http1Connection<PlainStream>;
extern template class Http1Connection<tls::TlsStream>;

}  // namespace causeway::downstream
