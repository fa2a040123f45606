// The contract of TCP routing (Traefik's tcp.routers/services/middlewares; docs/tcp-udp.md):
// a connection chosen by a TCP router becomes a TcpSession, which the router's middlewares
// and then its service serve until the connection ends. The HTTP exchange plays no part.
//
// Threading: a TcpHandler is immutable once built (part of a snapshot) and serve() runs on
// the worker that accepted the connection, for many connections at once. Handlers keep
// shared state (inFlightConn counts, balancer positions) thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "config/dynamic_tcp.h"
#include "exchange/exchange.h"
#include "io/asio.h"
#include "io/watchdog.h"
#include "net/ip.h"

namespace causeway::exchange {

// One routed TCP connection. The downstream owns it; handlers fill in the outcome fields.
struct TcpSession {
  DuplexStream& client;      // plain, or TLS terminated by causeway
  std::string_view pending;  // bytes already read from the client, to forward first (passthrough: the ClientHello)
  net::IpAddress clientIp{};   // after the PROXY protocol, when trusted
  uint16_t clientPort = 0;
  io::Watchdog* watchdog = nullptr;  // the worker's: coarse deadlines without a timer each
  tcp::socket* socket = nullptr;     // the client's socket (its local address, read on demand)
  // The address the client connected to: set by the downstream after a trusted PROXY header,
  // else read from `socket` by local() the first time it is needed (the PROXY header out).
  bool localKnown = false;
  net::IpAddress localIp{};
  uint16_t localPort = 0;
  std::string_view serverName{};  // SNI ("" when none or cleartext)
  std::string_view router{};      // qualified router name
  std::string_view entryPoint{};

  // Outcome, for the access log and metrics.
  std::string service{};       // qualified name of the service that dialed
  std::string upstream{};      // "host:port" of the server, "" when none was reached
  std::string error{};       // why the session ended early ("" when it ran to the end)
  uint64_t bytesFromClient = 0;
  uint64_t bytesToClient = 0;

  void ensureLocal() {
    if (localKnown || !socket) return;
    localKnown = true;
    error_code ec;
    tcp::endpoint local = socket->local_endpoint(ec);
    if (ec) return;
    auto address = local.address();
    if (address.is_v6() && address.to_v6().is_v4_mapped())
      address = asio::ip::make_address_v4(asio::ip::v4_mapped, address.to_v6());
    localIp = address.is_v4() ? net::IpAddress::v4(address.to_v4().to_uint()) : net::IpAddress::v6(address.to_v6().to_bytes());
    localPort = local.port();
  }
};

class TcpHandler {
 public:
  virtual ~TcpHandler() = default;
  // Serves the session until the connection ends. Never throws; closing the client is the
  // caller's once this returns.
  virtual awaitable<void> serve(TcpSession& session) const = 0;
};
using TcpHandlerPtr = std::shared_ptr<const TcpHandler>;

// A TCP middleware built from its options: wraps the next handler once per router.
class TcpMiddlewareFactory {
 public:
  virtual ~TcpMiddlewareFactory() = default;
  virtual TcpHandlerPtr wrap(TcpHandlerPtr next) const = 0;
};
using TcpMiddlewareFactoryPtr = std::shared_ptr<const TcpMiddlewareFactory>;

// TCP middlewares register by Traefik's type name, as HTTP ones do (middleware/tcp/*.cpp).
// A creator returns nullptr with `error` set when the options are unusable.
using TcpMiddlewareCreator =
    std::function<TcpMiddlewareFactoryPtr(const config::TcpMiddleware& options, std::string& error)>;

class TcpMiddlewareRegistry {
 public:
  static TcpMiddlewareRegistry& instance();
  void add(std::string type, TcpMiddlewareCreator creator) { creators_[std::move(type)] = std::move(creator); }
  // The creator for a type as config::TcpMiddleware::typeName() gives it, or nullptr.
  const TcpMiddlewareCreator* find(std::string_view type) const {
    auto it = creators_.find(std::string(type));
    return it == creators_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::string, TcpMiddlewareCreator> creators_;
};

struct TcpMiddlewareRegistration {
  TcpMiddlewareRegistration(std::string type, TcpMiddlewareCreator creator) {
    TcpMiddlewareRegistry::instance().add(std::move(type), std::move(creator));
  }
};

}  // namespace causeway::exchange
