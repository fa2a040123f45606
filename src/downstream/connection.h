// Where an accepted connection starts: its first bytes decide the protocol. A TLS record
// (0x16) starts a handshake whose ALPN picks HTTP/2 or HTTP/1.1; the HTTP/2 connection
// preface on a cleartext port is h2c with prior knowledge; anything else is HTTP/1.1.
// Every TCP entryPoint accepts both TLS and cleartext, as Traefik's do.
#pragma once

#include "exchange/exchange.h"
#include "io/asio.h"
#include "runtime/entry_point.h"
#include "runtime/worker.h"

namespace causeway::downstream {

// What a handler learns of a client at `address`:`port` on `localPort` of the entryPoint
// (also for QUIC connections, which have no TCP socket).
exchange::ConnectionInfo describePeer(const runtime::EntryPoint& entryPoint, const asio::ip::address& address,
                                      uint16_t port, uint16_t localPort);

// Serves one accepted socket until it closes (runs on the accepting worker).
awaitable<void> serveConnection(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket socket, tcp::endpoint peer,
                                uint16_t localPort);

}  // namespace causeway::downstream
