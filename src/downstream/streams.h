// The byte streams a downstream codec runs on. PlainStream is a zero-cost wrapper over the
// socket (its operations are the socket's own Asio operations, no extra coroutine frame);
// TlsStream (tls_stream.h) has the same shape. Codecs are templates over the stream type.
#pragma once

#include <span>
#include <tuple>
#include <type_traits>

#include "exchange/exchange.h"
#include "io/asio.h"
#include "io/send_now.h"
#include "io/stream_read.h"

namespace causeway::downstream {

// TCP_NODELAY on a connection's socket: set at once for TLS, HTTP/2, TCP routes and tunnels,
// for plain HTTP/1.1 only before its second write (connection.cpp).
inline void setNoDelay(tcp::socket& socket) {
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
}

class PlainStream {
 public:
  // noDelaySet: the connection already has TCP_NODELAY (connection.cpp sets it at once where
  // TCP routes may take the connection).
  explicit PlainStream(tcp::socket& socket, bool noDelaySet = false) : socket_(socket), noDelay_(noDelaySet) {}
  auto readSome(asio::mutable_buffer buffer) { return socket_.async_read_some(buffer, nothrow); }
  // Writes through here (HTTP/2, tunnels) come in many small pieces: without Nagle's delay.
  auto write(std::span<const asio::const_buffer> buffers) {
    noDelay();
    return io::writeAllDirect(socket_, buffers);
  }
  auto write(asio::const_buffer buffer) {
    noDelay();
    return io::writeAllDirect(socket_, buffer);
  }
  awaitable<void> close() { co_return; }
  tcp::socket& socket() { return socket_; }
  size_t queuedBytes() { return io::queuedBytes(socket_); }  // as TlsStream::queuedBytes
  // TCP_NODELAY, once (HTTP/1.1 sets it only before a connection's second write).
  void noDelay() {
    if (noDelay_) return;
    noDelay_ = true;
    setNoDelay(socket_);
  }

 private:
  tcp::socket& socket_;
  bool noDelay_;
};

// A codec's stream seen through the virtual interface tunnels use (after a 101).
template <class Stream>
class StreamDuplex final : public exchange::DuplexStream {
 public:
  explicit StreamDuplex(Stream& stream) : stream_(stream) {}
  awaitable<std::tuple<error_code, size_t>> readSome(asio::mutable_buffer buffer) override {
    co_return co_await stream_.readSome(buffer);
  }
  awaitable<std::tuple<error_code, size_t>> writeAll(asio::const_buffer buffer) override {
    co_return co_await stream_.write(buffer);
  }
  void shutdownSend() override {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
  void close() override {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().cancel(ignored);
  }
  tcp::socket* plainSocket() override {
    if constexpr (std::is_same_v<Stream, PlainStream>) return &stream_.socket();
    else return nullptr;
  }
  size_t queuedBytes() override { return stream_.queuedBytes(); }

 private:
  Stream& stream_;
};

}  // namespace causeway::downstream
