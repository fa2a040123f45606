#include "downstream/connection.h"

#include <charconv>

#include "core/log.h"
#include "downstream/h1_connection.h"
#include "downstream/h2_connection.h"
#include "downstream/streams.h"
#include "downstream/tcp_connection.h"
#include "net/client_hello.h"
#include "net/proxy_protocol.h"
#include "runtime/entry_point.h"
#include "runtime/snapshot.h"
#include "runtime/worker.h"
#include "tls/tls_stream.h"

namespace causeway::downstream {
namespace {

constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";


// Deadline for the connection's first bytes and the TLS handshake (readTimeout).
class StartDeadline final : public io::Watched {
 public:
  explicit StartDeadline(tcp::socket& socket) : socket_(socket) {}
  void onDeadline() override {
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.cancel(ignored);
  }

 private:
  tcp::socket& socket_;
};

struct OpenConnection {
  OpenConnection(runtime::Worker& w, const runtime::EntryPoint& ep) : worker(w), entryPoint(ep.index) {
    worker.connectionOpened(entryPoint);
  }
  ~OpenConnection() { worker.connectionClosed(entryPoint); }
  runtime::Worker& worker;
  size_t entryPoint;
};

awaitable<void> serveTls(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket& socket, exchange::ConnectionInfo& info,
                         io::ReadBuffer& first, StartDeadline& deadline) {
  // The TLS store of the snapshot current at accept time serves the whole connection.
  runtime::SnapshotPtr snapshot = worker.snapshot();
  if (!snapshot || !snapshot->tls) co_return;
  tls::TlsStorePtr store = snapshot->tls;
  snapshot.reset();
  tls::TlsHandshakeState state;
  state.store = store.get();
  state.entryPointIndex = entryPoint.index;
  tls::TlsStream tls(socket, state);
  tls.feed(first.data());
  first.consume(first.size());
  if (!co_await tls.handshake()) {
    log::debug("TLS handshake failed", {{"peer", info.peerAddress}, {"error", tls.error()}});
    co_return;
  }
  deadline.disarm();
  info.tls = true;
  info.tlsVersion = tls.version();
  info.tlsCipher = tls.cipher();
  info.serverName = state.serverName;
  info.tlsOptions = state.options;
  info.tlsStore = store.get();
  info.peerCertificate = tls.peerCertificate();
  info.peerChain = SSL_get_peer_cert_chain(tls.ssl());
  if (state.acmeTlsAlpn) {
    log::debug("TLS-ALPN-01 challenge answered", {{"peer", info.peerAddress}, {"serverName", state.serverName}});
  } else if (tls.alpn() == "h2") {
    co_await serveHttp2(worker, entryPoint, socket, tls, info, io::ReadBuffer(4096));
  } else {
    Http1Connection<tls::TlsStream> connection(worker, entryPoint, socket, tls, info, io::ReadBuffer(4096));
    co_await connection.run();
  }
  co_await tls.close();
}

// proxyProtocol: reads a PROXY header (v1 or v2) at the start of the connection when there is
// one, optional per connection as in Traefik. From a trusted peer its source address becomes the
// client's (forwarded headers, ipAllowList and access logs see it); from another peer it is
// removed and its addresses are ignored. A malformed header closes the connection.
awaitable<bool> readProxyHeader(tcp::socket& socket, const runtime::EntryPoint& entryPoint, io::ReadBuffer& first,
                                exchange::ConnectionInfo& info, uint16_t localPort, TcpLocal& local) {
  while (true) {
    net::ProxyHeader header;
    size_t consumed = 0;
    switch (net::parseProxyHeader(first.data(), header, consumed)) {
    case net::ProxyParse::Absent: co_return true;
    case net::ProxyParse::Invalid:
      log::debug("malformed PROXY protocol header; closing", {{"peer", info.peerAddress}});
      co_return false;
    case net::ProxyParse::Complete:
      first.consume(consumed);
      if (header.hasAddresses && entryPoint.trustsProxyHeader(info.peerIp)) {
        const auto& bytes = header.source.bytes();
        tcp::endpoint client = header.source.isV4()
                                   ? tcp::endpoint(asio::ip::address_v4({bytes[12], bytes[13], bytes[14], bytes[15]}),
                                                   header.sourcePort)
                                   : tcp::endpoint(asio::ip::address_v6(bytes), header.sourcePort);
        info = describePeer(entryPoint, client.address(), client.port(), localPort);
        local.known = true;
        local.ip = header.destination;
        local.port = header.destinationPort;
      }
      co_return true;
    case net::ProxyParse::NeedMore: break;
    }
    auto buffer = first.prepare(512, net::kMaxProxyHeader);
    if (buffer.size() == 0) co_return false;
    auto [ec, n] = co_await socket.async_read_some(buffer, nothrow);
    if (ec) co_return false;
    first.commit(n);
  }
}

// Reads until `first` holds a whole ClientHello (or proves it is none). False when the
// connection must close: a malformed hello, a read error, or the hello's bound exceeded.
awaitable<bool> readClientHello(tcp::socket& socket, io::ReadBuffer& first, net::ClientHello& hello,
                                const exchange::ConnectionInfo& info) {
  while (true) {
    switch (net::parseClientHello(first.data(), hello)) {
    case net::HelloParse::Complete: co_return true;
    case net::HelloParse::NotTls: co_return true;
    case net::HelloParse::Invalid:
      log::debug("malformed TLS ClientHello; closing", {{"peer", info.peerAddress}});
      co_return false;
    case net::HelloParse::NeedMore: break;
    }
    auto buffer = first.prepare(4096, net::kMaxClientHello);
    if (buffer.size() == 0) co_return false;
    auto [ec, n] = co_await socket.async_read_some(buffer, nothrow);
    if (ec) co_return false;
    first.commit(n);
  }
}

// PostgreSQL's SSLRequest: length 8, then the code 80877103 (the protocol's "SSL" number).
constexpr std::string_view kPostgresSslRequest("\x00\x00\x00\x08\x04\xd2\x16\x2f", 8);

enum class Postgres { No, Yes, Broken };

// At the start of `first`: an SSLRequest (read whole when it is split), answered 'S' and
// consumed, then at least the first byte of what follows.
awaitable<Postgres> readPostgresSslRequest(tcp::socket& socket, io::ReadBuffer& first) {
  while (first.size() < kPostgresSslRequest.size()) {
    if (!kPostgresSslRequest.starts_with(first.data())) co_return Postgres::No;
    auto [ec, n] = co_await socket.async_read_some(first.prepare(4096, 4096), nothrow);
    if (ec) co_return Postgres::Broken;
    first.commit(n);
  }
  if (!first.data().starts_with(kPostgresSslRequest)) co_return Postgres::No;
  first.consume(kPostgresSslRequest.size());
  static constexpr char kYes = 'S';
  auto [writeError, written] = co_await asio::async_write(socket, asio::buffer(&kYes, 1), nothrow);
  if (writeError) co_return Postgres::Broken;
  if (first.empty()) {
    auto [ec, n] = co_await socket.async_read_some(first.prepare(4096, 4096), nothrow);
    if (ec) co_return Postgres::Broken;
    first.commit(n);
  }
  co_return Postgres::Yes;
}

}  // namespace

exchange::ConnectionInfo describePeer(const runtime::EntryPoint& entryPoint, const asio::ip::address& address,
                                      uint16_t port, uint16_t localPort) {
  exchange::ConnectionInfo info;
  info.entryPoint = &entryPoint;
  info.peerIp = address.is_v4() ? net::IpAddress::v4(address.to_v4().to_uint())
                                : net::IpAddress::v6(address.to_v6().to_bytes());  // v4-mapped counts as v4
  info.peerIpText = info.peerIp.toString();
  info.peerPort = port;
  char portText[8];
  auto end = std::to_chars(portText, portText + sizeof portText, info.peerPort).ptr;
  bool v6 = !info.peerIp.isV4();
  info.peerAddress.reserve(info.peerIpText.size() + 8);
  if (v6) info.peerAddress += '[';
  info.peerAddress += info.peerIpText;
  info.peerAddress += v6 ? "]:" : ":";
  info.peerAddress.append(portText, size_t(end - portText));
  info.localPort = localPort;
  info.peerTrusted = entryPoint.trusts(info.peerIp);
  info.notAppendForwardedFor = entryPoint.notAppendXForwardedFor;
  info.bodyPrefetchBytes = entryPoint.requestBodyPrefetchBytes;
  return info;
}

awaitable<void> serveConnection(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket socket, tcp::endpoint peer,
                                uint16_t localPort) {
  OpenConnection open(worker, entryPoint);
  exchange::ConnectionInfo info = describePeer(entryPoint, peer.address(), peer.port(), localPort);
  StartDeadline deadline(socket);
  worker.watchdog().watch(deadline);
  deadline.armIn(entryPoint.readTimeout.count() > 0 ? entryPoint.readTimeout : entryPoint.idleTimeout);

  // TCP routers (docs/tcp-udp.md) are arbitrated with the routes of the snapshot current at
  // accept time, as Traefik's TCP router does.
  runtime::SnapshotPtr snapshot = worker.snapshot();
  const runtime::EntryPointRoutes* routes =
      snapshot && entryPoint.index < snapshot->routes.size() ? &snapshot->routes[entryPoint.index] : nullptr;
  const bool tcpPlain = routes && routes->tcpTable.size() > 0;
  const bool tcpTls = routes && routes->tcpTlsTable.size() > 0;
  if (!tcpPlain && !tcpTls) snapshot.reset();
  // TCP_NODELAY, as nginx sets it: at once for TLS, HTTP/2, TCP routing and tunnels; for plain
  // HTTP/1.1 only before a connection's second write (Http1Connection::writeNow), since a
  // response written whole in one call is never held by Nagle's algorithm. A connection per
  // request then makes one system call fewer.
  if (tcpPlain || tcpTls) setNoDelay(socket);
  TcpLocal local;
  io::ReadBuffer first(4096);

  // Only cleartext TCP routers and no TLS router of either kind: the connection is matched
  // without reading from it, so protocols where the server speaks first work (Traefik #7366).
  if (tcpPlain && !tcpTls && routes->tlsTable.size() == 0 && !entryPoint.proxyProtocol) {
    router::MatchInput input;
    input.clientIp = &info.peerIp;
    if (const runtime::TcpRouteTargetPtr* target = routes->tcpTable.match(input)) {
      deadline.disarm();
      co_await serveTcpPlain(worker, entryPoint, socket, info, local, {}, first, **target);
      error_code ignored;
      socket.close(ignored);
      co_return;
    }
  }

  auto [ec, n] = co_await socket.async_read_some(first.prepare(4096, 4096), nothrow);
  if (ec) co_return;
  first.commit(n);
  if (entryPoint.proxyProtocol) {
    if (!co_await readProxyHeader(socket, entryPoint, first, info, localPort, local)) co_return;
    if (first.empty()) {
      auto [again, more] = co_await socket.async_read_some(first.prepare(4096, 4096), nothrow);
      if (again) co_return;
      first.commit(more);
    }
  }

  // PostgreSQL STARTTLS, as Traefik: the client's SSLRequest is answered 'S' here and the TLS
  // that follows is routed like any, to TCP routers that terminate it.
  bool postgres = false;
  if (tcpTls) {
    switch (co_await readPostgresSslRequest(socket, first)) {
    case Postgres::No: break;
    case Postgres::Broken: co_return;
    case Postgres::Yes: postgres = true; break;
    }
  }

  std::string_view start = first.data();
  if (postgres && uint8_t(start[0]) != 0x16) co_return;  // 'S' was answered: TLS must follow
  if (uint8_t(start[0]) == 0x16 && tcpTls) {
    net::ClientHello hello;
    if (!co_await readClientHello(socket, first, hello, info)) co_return;
    router::MatchInput input;
    input.host = hello.serverName;
    input.clientIp = &info.peerIp;
    input.alpn = &hello.alpn;
    // Traefik's order: an HTTPS router for this very host, then a TCP router with a specific
    // rule, then an HTTPS catch-all, then a TCP catch-all, then HTTPS (404).
    // A TLS-ALPN-01 validation of ours (ALPN acme-tls/1 for a name we are validating) is
    // answered by the TLS handshake below; any other acme-tls/1 goes where the SNI says, so a
    // server behind a passthrough router can answer its own.
    const runtime::TcpRouteTargetPtr* target = nullptr;
    const tls::AcmeState* acme = snapshot->tls ? snapshot->tls->acme() : nullptr;
    bool acmeTls = acme && std::find(hello.alpn.begin(), hello.alpn.end(), "acme-tls/1") != hello.alpn.end() &&
                   acme->tlsAlpnCertificate(hello.serverName) != nullptr;
    if (!acmeTls && !routes->httpsHostMatches(hello.serverName)) {
      target = routes->tcpTlsTable.match(input);
      if (target && (*target)->catchAll && routes->httpsCatchAll) target = nullptr;
    }
    if (postgres && (!target || (*target)->tls == runtime::TcpRouteTarget::Tls::Passthrough)) {
      // The server behind a passthrough router (or an HTTPS router) would not expect TLS
      // after an SSLRequest it never saw.
      log::debug("PostgreSQL STARTTLS without a TCP router terminating TLS; closing",
                 {{"peer", info.peerAddress}, {"serverName", hello.serverName}});
      co_return;
    }
    if (target) {
      const runtime::TcpRouteTarget& route = **target;
      if (route.tls == runtime::TcpRouteTarget::Tls::Passthrough) {
        deadline.disarm();
        co_await serveTcpPlain(worker, entryPoint, socket, info, local, hello.serverName, first, route);
      } else {
        co_await serveTcpTerminated(worker, entryPoint, socket, info, local, first, deadline, snapshot->tls, route);
      }
      error_code ignored;
      socket.close(ignored);
      co_return;
    }
  } else if (uint8_t(start[0]) != 0x16 && tcpPlain) {
    router::MatchInput input;
    input.clientIp = &info.peerIp;
    if (const runtime::TcpRouteTargetPtr* target = routes->tcpTable.match(input)) {
      deadline.disarm();
      co_await serveTcpPlain(worker, entryPoint, socket, info, local, {}, first, **target);
      error_code ignored;
      socket.close(ignored);
      co_return;
    }
  }
  snapshot.reset();
  start = first.data();

  if (uint8_t(start[0]) == 0x16) {
    if (!tcpPlain && !tcpTls) setNoDelay(socket);  // else set already
    co_await serveTls(worker, entryPoint, socket, info, first, deadline);
  } else {
    deadline.disarm();
    PlainStream plain(socket, tcpPlain || tcpTls);
    if (start.size() >= 3 && start.substr(0, 3) == kH2Preface.substr(0, 3) &&
        kH2Preface.starts_with(start.substr(0, std::min(start.size(), kH2Preface.size())))) {
      plain.noDelay();
      co_await serveHttp2(worker, entryPoint, socket, plain, info, std::move(first));
    } else {
      Http1Connection<PlainStream> connection(worker, entryPoint, socket, plain, info, std::move(first));
      co_await connection.run();
    }
  }
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

}  // namespace causeway::downstream
