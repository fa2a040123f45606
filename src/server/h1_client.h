// The HTTP/1.1 upstream side of the proxy: sends the exchange's request to one upstream
// server over a pooled connection and fills the exchange's response, whose body then
// streams from the upstream socket as the downstream codec pulls it.
#pragma once

#include "server/exchange.h"
#include "server/upstream_pool.h"

namespace causeway::server {

enum class ProxyError {
  None,
  DialFailed,             // 502
  DialTimeout,            // 504
  ResponseHeaderTimeout,  // 504
  UpstreamClosed,         // 502: closed or reset before a complete response head
  BadResponse,            // 502: the response head broke HTTP/1.1 rules
  RequestBodyFailed,      // the client's body broke off (client error, 400/499)
  ClientGone,             // 499: the client went away while the upstream had not answered
};
int statusFor(ProxyError error);
const char* describe(ProxyError error);

struct ForwardOptions {
  bool passHostHeader = true;
  bool preservePath = false;
  bool encodeQuerySemicolons = false;
  bool appendXForwardedFor = true;
  // Send Proxy-Authorization (forwardAuth's request to its authentication server, as
  // Traefik does); a proxied request never carries it.
  bool sendProxyAuthorization = false;
};

struct ForwardResult {
  ProxyError error = ProxyError::None;
  bool requestSent = false;  // some bytes of the request reached the upstream
};

// The request head as it goes upstream: always HTTP/1.1, re-serialized from the parsed
// form (never the client's bytes); hop-by-hop fields dropped; Host from the request
// (passHostHeader) or the server; X-Forwarded-For with the peer appended; framing decided
// here (Content-Length, or chunked for a body of unknown length).
void serializeRequestHead(const Request& request, const ConnectionInfo& connection,
                          const UpstreamEndpoint& endpoint, const ForwardOptions& options,
                          std::string& out);

// On success ex.response holds the upstream's status, headers and a body that reads from
// the upstream connection; the connection goes back to the pool when that body has been
// read to its end and the exchange is reset. On failure ex.response is untouched.
awaitable<ForwardResult> forwardHttp1(Exchange& ex, const UpstreamEndpoint& endpoint,
                                      const ForwardOptions& options);

}  // namespace causeway::server
