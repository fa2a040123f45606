#include "upstream/tcp_dial.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <charconv>

#include "core/log.h"
#include "io/tcp_connect.h"

namespace causeway::upstream {

bool parseServerAddress(const std::string& address, ServerAddress& out, std::string& error) {
  out.address = address;
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    error = "address " + address + ": missing port in address";
    return false;
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  else if (host.find(':') != std::string::npos) {
    error = "address " + address + ": too many colons in address";
    return false;
  }
  unsigned port = 0;
  std::string_view digits(address.data() + colon + 1, address.size() - colon - 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535) {
    error = "address " + address + ": invalid port";
    return false;
  }
  if (host.empty()) host = "127.0.0.1";  // Go dials ":port" on the local system
  out.host = host;
  out.port = uint16_t(port);
  error_code parseError;
  auto ip = asio::ip::make_address(host, parseError);
  if (!parseError) out.resolved = tcp::endpoint(ip, out.port);
  return true;
}

awaitable<std::tuple<error_code, size_t>> TcpUpstream::readSome(asio::mutable_buffer buffer) {
  if (tls_) co_return co_await tls_->readSome(buffer);
  co_return co_await socket_.async_read_some(buffer, nothrow);
}

awaitable<std::tuple<error_code, size_t>> TcpUpstream::writeAll(asio::const_buffer buffer) {
  if (tls_) co_return co_await tls_->write(buffer);
  co_return co_await asio::async_write(socket_, buffer, nothrow);
}

void TcpUpstream::shutdownSend() {
  if (tls_) tls_->closeNotify();
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
}

void TcpUpstream::close() {
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.cancel(ignored);
}

namespace {

void setKeepAlive(tcp::socket& socket, std::chrono::nanoseconds period) {
  error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (period <= std::chrono::nanoseconds(0)) return;
  socket.set_option(asio::socket_base::keep_alive(true), ignored);
  // Go's dialer sets both the idle time and the probe interval to dialKeepAlive.
  int seconds = int(std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(period).count()));
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPIDLE, &seconds, sizeof seconds);
  ::setsockopt(socket.native_handle(), IPPROTO_TCP, TCP_KEEPINTVL, &seconds, sizeof seconds);
}

// Connects and (for TLS servers) shakes hands; false with `error` set.
// `timedOut` turns true when the dial's deadline closed the socket: no further attempt then.
awaitable<bool> connect(TcpUpstream& upstream, const ServerAddress& server, const TcpTransport& transport,
                        std::unique_ptr<tls::TlsStream>& tls, const bool& timedOut, std::string& error) {
  tcp::socket& socket = upstream.socket();
  std::vector<tcp::endpoint> candidates;
  if (server.resolved) {
    candidates.push_back(*server.resolved);
  } else {
    tcp::resolver resolver(socket.get_executor());
    std::string port = std::to_string(server.port);
    auto [ec, results] = co_await resolver.async_resolve(server.host, port, nothrow);
    if (ec) {
      error = "dial tcp " + server.address + ": lookup " + server.host + ": " + ec.message();
      co_return false;
    }
    for (const auto& entry : results) candidates.push_back(entry.endpoint());
  }
  error_code last = asio::error::host_not_found;
  for (const auto& candidate : candidates) {
    if (timedOut) break;
    last = co_await io::connectTcp(socket, candidate);
    if (!last) break;
  }
  if (last) {
    error = "dial tcp " + server.address + ": " + last.message();
    co_return false;
  }
  setKeepAlive(socket, transport.dialKeepAlive);
  if (server.tls) {
    tls = std::make_unique<tls::TlsStream>(socket, transport.tls,
                                           transport.tls.serverName.empty() ? server.host : transport.tls.serverName);
    if (!co_await tls->handshake()) {
      error = "TLS handshake with " + server.address + ": " + tls->error();
      co_return false;
    }
  }
  co_return true;
}

}  // namespace

namespace {

// The dial's deadline: on expiry the socket is closed, which ends the pending connect,
// resolve or handshake with an error.
class DialDeadline final : public io::Watched {
 public:
  explicit DialDeadline(tcp::socket& socket) : socket_(socket) {}
  void onDeadline() override {
    timedOut = true;
    error_code ignored;
    socket_.close(ignored);
  }
  bool timedOut = false;

 private:
  tcp::socket& socket_;
};

}  // namespace

awaitable<std::unique_ptr<TcpUpstream>> dialTcp(const ServerAddress& server, const TcpTransport& transport,
                                               std::string_view proxyHeader, io::Watchdog* watchdog,
                                               std::string& error) {
  auto executor = co_await asio::this_coro::executor;
  auto upstream = std::make_unique<TcpUpstream>(executor);
  DialDeadline deadline(upstream->socket_);
  if (watchdog && transport.dialTimeout > std::chrono::nanoseconds(0)) {
    watchdog->watch(deadline);
    deadline.armIn(std::chrono::duration_cast<Clock::duration>(transport.dialTimeout));
  }
  bool connected = co_await connect(*upstream, server, transport, upstream->tls_, deadline.timedOut, error);
  if (deadline.timedOut) {
    connected = false;
    error = "dial tcp " + server.address + ": i/o timeout";
  }
  deadline.disarm();
  if (!connected) co_return nullptr;
  if (!proxyHeader.empty()) {
    asio::const_buffer header(proxyHeader.data(), proxyHeader.size());
    auto [ec, n] = co_await upstream->writeAll(header);
    if (ec) {
      error = "writing the PROXY header to " + server.address + ": " + ec.message();
      co_return nullptr;
    }
  }
  co_return upstream;
}

}  // namespace causeway::upstream
