// WebSocket over one stream of a multiplexed connection: RFC 8441 (HTTP/2) and RFC 9220 (HTTP/3)
// extended CONNECT. The request goes through the handler chain as an HTTP/1.1 WebSocket Upgrade;
// when the upstream switches protocols, the client gets 200 and the stream's DATA frames carry
// the tunnel both ways (docs/compatibility.md, after the middleware table).
#pragma once

#include <cstring>
#include <string>
#include <string_view>
#include <tuple>

#include "core/arena.h"
#include "exchange/body.h"
#include "exchange/exchange.h"
#include "io/asio.h"
#include "io/signal.h"

namespace causeway::downstream {

// The tunnel's bytes toward the client become the stream's response body. The tunnel writes a piece; the response pump takes it when it asks
// for the next one (the previous one is framed by then), so one piece is in flight at a time.
class TunnelPipe final : public exchange::BodySource {
 public:
  explicit TunnelPipe(const asio::any_io_executor& executor) : readable_(executor), writable_(executor) {}
  awaitable<exchange::BodyChunk> read() override {
    while (!full_ && !last_ && !closed_) co_await readable_.wait();
    if (full_) {
      out_.swap(buffer_);
      full_ = false;
      writable_.notify();
      co_return exchange::BodyChunk{out_, false, false};
    }
    if (closed_) co_return exchange::BodyChunk{{}, false, true};
    finished_ = true;
    co_return exchange::BodyChunk{{}, true, false};
  }
  bool finished() const override { return finished_; }
  awaitable<bool> write(std::string_view data) {
    while (full_ && !closed_) co_await writable_.wait();
    if (closed_ || last_) co_return false;
    buffer_.assign(data);
    full_ = true;
    readable_.notify();
    co_return true;
  }
  void end() {
    last_ = true;
    readable_.notify();
  }
  void close() {
    closed_ = true;
    readable_.notify();
    writable_.notify();
  }

 private:
  io::Signal readable_, writable_;
  std::string buffer_, out_;
  bool full_ = false, last_ = false, closed_ = false, finished_ = false;
};

// The client's side of a tunnel over a stream: reads its DATA frames, writes through the pipe.
// The stream's end (END_STREAM, FIN) is the tunnel's EOF; a reset is an error.
class StreamTunnelDuplex final : public exchange::DuplexStream {
 public:
  StreamTunnelDuplex(exchange::BodySource* in, TunnelPipe& out) : in_(in), out_(out) {}
  awaitable<std::tuple<error_code, size_t>> readSome(asio::mutable_buffer buffer) override {
    while (left_.empty()) {
      if (ended_ || !in_) co_return std::tuple<error_code, size_t>{asio::error::eof, 0};
      exchange::BodyChunk chunk = co_await in_->read();
      if (chunk.error) co_return std::tuple<error_code, size_t>{asio::error::connection_reset, 0};
      left_ = chunk.data;
      ended_ = chunk.last;
    }
    size_t n = std::min(left_.size(), buffer.size());
    std::memcpy(buffer.data(), left_.data(), n);
    left_.remove_prefix(n);
    co_return std::tuple<error_code, size_t>{error_code(), n};
  }
  awaitable<std::tuple<error_code, size_t>> writeAll(asio::const_buffer buffer) override {
    bool ok = co_await out_.write(std::string_view(static_cast<const char*>(buffer.data()), buffer.size()));
    co_return std::tuple<error_code, size_t>{ok ? error_code() : error_code(asio::error::broken_pipe),
                                             ok ? buffer.size() : 0};
  }
  void shutdownSend() override { out_.end(); }
  void close() override { out_.close(); }
  size_t queuedBytes() override { return left_.size(); }

 private:
  exchange::BodySource* in_;
  TunnelPipe& out_;
  std::string_view left_;  // of the last piece read, valid until the next read
  bool ended_ = false;
};

// An extended CONNECT with `protocol` made ready for the handler chain: 0 and a GET with a
// WebSocket Upgrade (with a Sec-WebSocket-Key, which HTTP/1.1's handshake needs and the client
// over a stream does not send), or 501 for another protocol.
int prepareExtendedConnect(exchange::Request& r, std::string_view protocol, Arena& arena);

struct StreamTunnel {
  exchange::UpgradeTunnel* tunnel = nullptr;  // null: no tunnel opened
  TunnelPipe* pipe = nullptr;
};

// After the handler of an extended CONNECT: when the upstream switched protocols (101), the
// response becomes a 200 whose body is the tunnel's bytes toward the client, and the tunnel
// runs in ex.background reading the stream's DATA from `in`. A 2xx without the switch becomes
// 502 (the client would think a tunnel is open). Objects live in `arena`.
StreamTunnel openStreamTunnel(exchange::Exchange& ex, exchange::BodySource* in, Arena& arena,
                              const asio::any_io_executor& executor);

}  // namespace causeway::downstream
