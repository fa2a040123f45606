// A connection that a TCP router took (docs/tcp-udp.md): served by the router's TCP handler
// (middlewares, then the service that pipes it to a server), plain, with TLS terminated
// here, or with the TLS bytes passed through untouched.
#pragma once

#include "exchange/exchange.h"
#include "io/asio.h"
#include "io/read_buffer.h"
#include "io/watchdog.h"
#include "runtime/entry_point.h"
#include "runtime/snapshot.h"
#include "runtime/worker.h"

namespace causeway::downstream {

// Where the client connected, when a trusted PROXY header said so (`known`); otherwise the
// socket's local address is read only if a handler needs it.
struct TcpLocal {
  bool known = false;
  net::IpAddress ip;
  uint16_t port = 0;
};

// Cleartext, or TLS passed through: `pending` (the bytes read so far, e.g. the ClientHello)
// is forwarded first, then the socket's bytes as they come.
awaitable<void> serveTcpPlain(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket& socket,
                              const exchange::ConnectionInfo& info, const TcpLocal& local, std::string_view serverName,
                              io::ReadBuffer& pending, const runtime::TcpRouteTarget& target);

// TLS terminated with the snapshot's certificates and the TLS options bound to the SNI;
// `hello` holds the ClientHello bytes already read; `deadline` (the handshake's) is disarmed
// once the handshake is done.
awaitable<void> serveTcpTerminated(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket& socket,
                                   const exchange::ConnectionInfo& info, const TcpLocal& local, io::ReadBuffer& hello,
                                   io::Watched& deadline,
                                   const tls::TlsStorePtr& store, const runtime::TcpRouteTarget& target);

}  // namespace causeway::downstream
