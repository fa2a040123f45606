// Per-worker pools of idle upstream connections, keyed by endpoint and transport. A
// worker owns its pool and never locks it. Connections come back only after a complete,
// keep-alive response; anything else closes them.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "http/h1/response_parser.h"
#include "io/abandonable.h"
#include "io/asio.h"
#include "io/read_buffer.h"
#include "io/send_now.h"
#include "io/stream_read.h"
#include "io/watchdog.h"
#include "tls/tls_stream.h"

namespace causeway::upstream {

// How to talk to upstream servers (a serversTransport, resolved). Immutable, shared.
struct Transport {
  std::string name;  // qualified, e.g. "default@internal"
  std::chrono::nanoseconds dialTimeout{std::chrono::seconds(30)};
  std::chrono::nanoseconds responseHeaderTimeout{0};
  std::chrono::nanoseconds idleConnTimeout{std::chrono::seconds(90)};
  int maxIdleConnsPerHost = 200;  // < 0: no reuse
  // https:// servers: trust, client certificate, SNI, ALPN (h2 unless disableHTTP2).
  tls::TlsClientSettings tls;
  bool disableHTTP2 = false;

  // The pool id of (scheme, host, port) through this transport: equal ids ⇔ interchangeable
  // connections. Ids are small integers, unique in the process (the pools' hash maps key on
  // them); the table lives and goes with the transport, so a reload that replaces transports
  // leaves nothing behind.
  uint64_t poolIdFor(const std::string& key) const;

 private:
  mutable std::mutex poolIdsMutex_;
  mutable std::unordered_map<std::string, uint64_t> poolIds_;
};

enum class UpstreamScheme : uint8_t { Http, Https, H2c };

// One upstream server (a loadBalancer server URL), resolved at snapshot build. There is one
// per server of every load balancer (20,000 for 5,000 Kubernetes routes), so the parts of the
// URL are positions in `url` rather than copies, and what is rare is boxed: 120 bytes (it was
// 256 with a string per part).
struct UpstreamEndpoint {
  std::string url;  // as configured; set by makeEndpoint only (the parts below are positions in it)
  UpstreamScheme scheme = UpstreamScheme::Http;
  uint16_t port = 80;
  std::optional<tcp::endpoint> address;  // set when host is an IP literal
  std::shared_ptr<const Transport> transport;
  uint64_t poolId = 0;  // same id ⇔ connections are interchangeable

  bool https() const { return scheme == UpstreamScheme::Https; }
  std::string_view schemeName() const;  // "http", "https", "h2c"
  std::string_view host() const;       // without brackets
  std::string_view authority() const;  // host[:port] as it goes in Host when passHostHeader is false
  std::string_view path() const;       // URL path (used with preservePath)
  // Set when every dial fails at once (a port number out of range); "" otherwise.
  std::string_view dialError() const { return rare_ ? std::string_view(rare_->dialError) : std::string_view(); }

 private:
  friend bool makeEndpoint(const std::string&, std::shared_ptr<const Transport>, UpstreamEndpoint&, std::string&);
  struct Part {
    uint16_t offset = 0, size = 0;
  };
  struct Rare {
    std::string host;  // a host name that is not written as-is in url (percent-encoded)
    std::string dialError;
  };
  std::string_view part(Part p) const { return std::string_view(url).substr(p.offset, p.size); }
  Part host_, authority_, path_;
  std::shared_ptr<const Rare> rare_;
};

// Parses a server URL ("http://10.0.0.1:8080/base") into an endpoint using `transport`.
// False with `error` set for malformed URLs and schemes causeway cannot reach yet.
bool makeEndpoint(const std::string& url, std::shared_ptr<const Transport> transport,
                  UpstreamEndpoint& endpoint, std::string& error);

class UpstreamConnection : public io::Watched, public io::Abandonable {
 public:
  // 32 KiB: a head and a 16 KiB body arrive in one read (untouched pages cost no memory).
  explicit UpstreamConnection(asio::io_context& io) : socket(io), buffer(32768) {}
  // A connection that ends in good order (given up by the pool, or its response complete)
  // says so with close_notify over TLS; a broken or abandoned one just closes.
  ~UpstreamConnection() override {
    if (tls && !timedOut && !abandoned && socket.is_open()) tls->closeNotify();
  }
  void onDeadline() override {
    timedOut = true;
    error_code ignored;
    socket.cancel(ignored);
  }
  // The client went away while this connection waited for a response head: it is closed
  // (never reused, the upstream sees the request given up).
  void abandon() override {
    abandoned = true;
    error_code ignored;
    socket.cancel(ignored);
  }
  // Reads and writes go through TLS for https:// servers.
  awaitable<std::tuple<error_code, size_t>> readSome(asio::mutable_buffer b) {
    if (tls) return tls->readSome(b);
    return socket.async_read_some(b, nothrow);
  }
  // Bytes received and not read yet (over TLS, what the stream holds too).
  size_t queuedBytes() { return tls ? tls->queuedBytes() : io::queuedBytes(socket); }
  awaitable<std::tuple<error_code, size_t>> write(std::span<const asio::const_buffer> b) {
    if (tls) return tls->write(b);
    return io::writeAllDirect(socket, b);
  }
  awaitable<std::tuple<error_code, size_t>> write(asio::const_buffer b) {
    if (tls) return tls->write(b);
    return io::writeAllDirect(socket, b);
  }
  tcp::socket socket;
  std::unique_ptr<tls::TlsStream> tls;  // set for https:// servers
  bool http2 = false;              // ALPN chose h2: the connection belongs to an HTTP/2 session
  io::ReadBuffer buffer;
  std::string writeBuffer;  // the request head being sent
  http::h1::ResponseHead responseHead;  // the response head being read (views into `buffer`)
  Clock::time_point idleSince{};
  uint64_t requests = 0;   // requests sent on this connection
  bool timedOut = false;
  bool abandoned = false;
};
using UpstreamConnectionPtr = std::unique_ptr<UpstreamConnection>;

struct Acquired {
  UpstreamConnectionPtr connection;
  bool reused = false;
  error_code error;        // dial failure (connection is null)
  bool timedOut = false;   // the dial hit dialTimeout
  std::string tlsError;    // TLS handshake failure
};

class UpstreamPool {
 public:
  UpstreamPool(asio::io_context& io, io::Watchdog& watchdog) : io_(io), watchdog_(watchdog) {}
  // An idle connection to `endpoint` when one is alive, without a coroutine (the common case
  // of a busy pool); else an empty result, and the caller dials.
  Acquired takeIdle(const UpstreamEndpoint& endpoint);
  // A newly dialed connection (with TLS for https:// servers).
  awaitable<Acquired> dial(const UpstreamEndpoint& endpoint);
  // Gives back a connection after a complete keep-alive exchange.
  void release(const UpstreamEndpoint& endpoint, UpstreamConnectionPtr connection);
  // Closes connections idle longer than their transport's idleConnTimeout.
  void sweep(Clock::time_point now);
  void clear() { idle_.clear(); }
  size_t idleCount() const;

 private:
  struct IdleList {
    std::vector<UpstreamConnectionPtr> connections;
    std::chrono::nanoseconds idleTimeout{0};
  };
  asio::io_context& io_;
  io::Watchdog& watchdog_;
  std::unordered_map<uint64_t, IdleList> idle_;
};

}  // namespace causeway::upstream
