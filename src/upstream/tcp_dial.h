// Dialing a TCP service's server (Traefik's tcp.serversTransports; docs/tcp-udp.md): connect
// within dialTimeout, TCP keep-alive, TLS when the server says `tls: true`, and the PROXY
// protocol header when the transport asks for one. The result is a byte stream that the
// TCP service pipes to the client.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "exchange/exchange.h"
#include "io/asio.h"
#include "io/stream_read.h"
#include "io/watchdog.h"
#include "tls/tls_stream.h"

namespace causeway::upstream {

// A built tcp serversTransport (immutable, shared by the services that use it).
struct TcpTransport {
  std::string name;  // qualified, e.g. "default@internal"
  std::chrono::nanoseconds dialTimeout{std::chrono::seconds(30)};
  std::chrono::nanoseconds dialKeepAlive{std::chrono::seconds(15)};  // ≤ 0: keep-alive off
  // After one direction of a proxied connection ends, how long the other may still run
  // (negative: until it ends by itself).
  std::chrono::nanoseconds terminationDelay{std::chrono::milliseconds(100)};
  int proxyProtocolVersion = 0;  // 0: none; 1 or 2
  tls::TlsClientSettings tls;    // for servers with `tls: true`
};

// One server of a TCP or UDP loadBalancer: "host:port".
struct ServerAddress {
  std::string address;  // as configured: "host:port"
  std::string host;     // without brackets
  uint16_t port = 0;
  std::optional<tcp::endpoint> resolved;  // set when host is an IP literal
  bool tls = false;
};

// Parses "host:port" ("[v6]:port" for IPv6). False with `error` set otherwise.
bool parseServerAddress(const std::string& address, ServerAddress& out, std::string& error);

// An upstream connection as a DuplexStream (plain or TLS).
class TcpUpstream final : public exchange::DuplexStream {
 public:
  explicit TcpUpstream(asio::any_io_executor executor) : socket_(executor) {}
  awaitable<std::tuple<error_code, size_t>> readSome(asio::mutable_buffer buffer) override;
  awaitable<std::tuple<error_code, size_t>> writeAll(asio::const_buffer buffer) override;
  void shutdownSend() override;
  void close() override;
  tcp::socket* plainSocket() override { return tls_ ? nullptr : &socket_; }
  size_t queuedBytes() override { return tls_ ? tls_->queuedBytes() : io::queuedBytes(socket_); }

  tcp::socket& socket() { return socket_; }
  tls::TlsStream* tlsStream() { return tls_.get(); }

 private:
  friend awaitable<std::unique_ptr<TcpUpstream>> dialTcp(const ServerAddress&, const TcpTransport&, std::string_view,
                                                         io::Watchdog*, std::string&);
  tcp::socket socket_;
  std::unique_ptr<tls::TlsStream> tls_;
};

// Connects to `server` with `transport` (TLS handshake included in dialTimeout, enforced by
// `watchdog` when given) and writes `proxyHeader` first when it is not empty. nullptr with
// `error` set when it fails.
awaitable<std::unique_ptr<TcpUpstream>> dialTcp(const ServerAddress& server, const TcpTransport& transport,
                                               std::string_view proxyHeader, io::Watchdog* watchdog,
                                               std::string& error);

}  // namespace causeway::upstream
