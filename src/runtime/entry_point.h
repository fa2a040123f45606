// An entryPoint as the data plane uses it: the static configuration resolved once at
// start (addresses parsed, networks compiled, durations converted). Never changes while
// running; shared read-only by every worker.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "http/h1/parser.h"
#include "io/asio.h"
#include "net/ip.h"

namespace causeway::runtime {

struct EntryPoint {
  size_t index = 0;  // position in Server::entryPoints(); snapshots index routes by it
  std::string name;
  std::string address;       // as configured, e.g. ":8080" or "[::1]:8443"
  tcp::endpoint endpoint;    // resolved bind address
  bool dualStack = false;    // bound to [::] with IPV6_V6ONLY off (":port" form)
  bool reusePort = false;    // user asked for SO_REUSEPORT sharing with other processes
  bool asDefault = false;
  // A UDP entryPoint ("…/udp"): only UDP routers use it (downstream/udp_listener.h); an idle
  // session is released after udpTimeout.
  bool udp = false;
  std::chrono::nanoseconds udpTimeout{std::chrono::seconds(3)};

  // forwardedHeaders
  std::vector<net::IpNetwork> trustedIPs;
  bool forwardedInsecure = false;
  std::vector<std::string> keepConnectionHeaders;  // forwardedHeaders.connection
  bool notAppendXForwardedFor = false;
  bool addXForwardedSchemeHeaders = false;

  // proxyProtocol: a PROXY header (v1 or v2) is read when present; its addresses are believed
  // only from these peers (or from everyone with proxyProtocolInsecure).
  bool proxyProtocol = false;
  bool proxyProtocolInsecure = false;
  std::vector<net::IpNetwork> proxyProtocolTrustedIPs;

  // transport
  std::chrono::nanoseconds readTimeout{0};
  std::chrono::nanoseconds writeTimeout{0};
  std::chrono::nanoseconds idleTimeout{0};
  std::chrono::nanoseconds requestAcceptGraceTimeout{0};
  std::chrono::nanoseconds graceTimeout{0};
  uint64_t keepAliveMaxRequests = 0;
  std::chrono::nanoseconds keepAliveMaxTime{0};
  // causeway extensions (docs/security.md): a write stalled this long closes the connection
  // (0: never); open connections at which accepting pauses (0: no cap); request bodies up to
  // this size (Content-Length) are read before routing (0: never).
  std::chrono::nanoseconds sendTimeout{0};
  uint64_t maxConnections = 0;
  uint64_t requestBodyPrefetchBytes = 0;

  // http
  http::h1::Limits limits;
  bool sanitizePath = true;
  struct {
    bool slash = true, backslash = true, nul = true, semicolon = true, percent = true,
         questionMark = true, hash = true;
  } allowEncoded;
  bool encodeQuerySemicolons = false;
  enum class UnderscoreHeaders { Keep, Delete, Reject } underscoreHeaders = UnderscoreHeaders::Keep;
  std::vector<std::string> defaultMiddlewares;  // http.middlewares (qualified names)
  // http.tls: every router on this entryPoint is a TLS router with these defaults.
  bool defaultTls = false;
  std::string defaultTlsOptions;

  // http2
  uint32_t http2MaxConcurrentStreams = 250;
  uint32_t http2MaxDecoderHeaderTableSize = 4096;
  uint32_t http2MaxEncoderHeaderTableSize = 4096;
  // http3: QUIC on the same port number over UDP (downstream/quic_listener.h); responses over
  // TLS on TCP announce it with this Alt-Svc value (empty: no HTTP/3).
  bool http3 = false;
  std::string altSvc;

  bool trustsProxyHeader(const net::IpAddress& peer) const {
    if (proxyProtocolInsecure) return true;
    for (const auto& n : proxyProtocolTrustedIPs)
      if (n.contains(peer)) return true;
    return false;
  }

  bool trusts(const net::IpAddress& peer) const {
    if (forwardedInsecure) return true;
    for (const auto& n : trustedIPs)
      if (n.contains(peer)) return true;
    return false;
  }
};

}  // namespace causeway::runtime
