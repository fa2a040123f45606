// Sending an exchange's request to one upstream server, over HTTP/1.1 (upstream/h1_client.h)
// or HTTP/2 (upstream/h2_client.h): forward() picks the protocol from the server's scheme,
// what ALPN answered before, and the transport's disableHTTP2; the clients below it never
// call each other. Shared by the load balancer (service/) and middlewares that call out
// (forwardAuth).
#pragma once

#include "exchange/exchange.h"
#include "upstream/connection_pool.h"

namespace causeway::upstream {

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

// A small request body (Content-Length up to the entryPoint's requestBodyPrefetchBytes) is
// read into the exchange's arena before an upstream connection is taken, so that a slow
// upload holds no upstream connection (docs/security.md, H10). The check is inline; the
// coroutine runs only when there is something to read. False: the body broke off.
bool wantsPrefetch(const exchange::Exchange& ex);
awaitable<bool> prefetchBody(exchange::Exchange& ex);
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
  // Set by forwardHttp1 alone: a new https connection on which ALPN chose h2, handed back
  // unused so that the dispatcher sends the request over HTTP/2 instead.
  UpstreamConnectionPtr http2Connection;
};

// Picks HTTP/1.1 or HTTP/2 for the endpoint and forwards; see forwardHttp1 for what the
// exchange holds afterwards.
awaitable<ForwardResult> forward(exchange::Exchange& ex, const UpstreamEndpoint& endpoint, const ForwardOptions& options);

}  // namespace causeway::upstream
