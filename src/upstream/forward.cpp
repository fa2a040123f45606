#include "upstream/forward.h"

#include <cstring>

#include "upstream/h1_client.h"
#include "upstream/h2_client.h"

namespace causeway::upstream {
namespace {

// An https server whose protocol ALPN has not settled yet (or settled on http/1.1): HTTP/1.1,
// unless a new connection's ALPN chose h2.
awaitable<ForwardResult> forwardByAlpn(exchange::Exchange& ex, const UpstreamEndpoint& endpoint,
                                       const ForwardOptions& options) {
  ForwardResult result = co_await forwardHttp1(ex, endpoint, options);
  if (result.http2Connection)
    co_return co_await forwardHttp2(ex, endpoint, options, std::move(result.http2Connection));
  co_return result;
}

}  // namespace

int statusFor(ProxyError error) {
  switch (error) {
    case ProxyError::None: return 200;
    case ProxyError::DialFailed: return 502;
    case ProxyError::DialTimeout: return 504;
    case ProxyError::ResponseHeaderTimeout: return 504;
    case ProxyError::UpstreamClosed: return 502;
    case ProxyError::BadResponse: return 502;
    case ProxyError::RequestBodyFailed: return 400;
    case ProxyError::ClientGone: return 499;
  }
  return 502;
}

const char* describe(ProxyError error) {
  switch (error) {
    case ProxyError::None: return "";
    case ProxyError::DialFailed: return "dial upstream failed";
    case ProxyError::DialTimeout: return "dial upstream timed out";
    case ProxyError::ResponseHeaderTimeout: return "upstream response header timeout";
    case ProxyError::UpstreamClosed: return "upstream closed the connection";
    case ProxyError::BadResponse: return "malformed upstream response";
    case ProxyError::RequestBodyFailed: return "client request body failed";
    case ProxyError::ClientGone: return "client went away";
  }
  return "";
}

bool wantsPrefetch(const exchange::Exchange& ex) {
  const exchange::BodySource* body = ex.request.body;
  const uint64_t limit = ex.connection.bodyPrefetchBytes;
  if (!body || limit == 0 || ex.limits.bodyPrefetched) return false;
  std::optional<uint64_t> length = body->length();
  return length && *length > 0 && *length <= limit && !body->finished();
}

awaitable<bool> prefetchBody(exchange::Exchange& ex) {
  ex.limits.bodyPrefetched = true;
  if (std::optional<std::string_view> whole = ex.request.body->whole()) {
    ex.limits.prefetchedBody = *whole;  // already in memory (a body a middleware rewrote)
    co_return true;
  }
  const size_t length = size_t(*ex.request.body->length());
  char* data = static_cast<char*>(ex.arena.allocate(length, 1));
  size_t got = 0;
  while (true) {
    exchange::BodyChunk chunk = co_await ex.request.body->read();
    if (chunk.error || got + chunk.data.size() > length) co_return false;
    std::memcpy(data + got, chunk.data.data(), chunk.data.size());
    got += chunk.data.size();
    if (chunk.last) break;
  }
  ex.limits.prefetchedBody = std::string_view(data, got);
  ex.request.body = ex.arena.make<exchange::MemoryBody>(ex.limits.prefetchedBody);
  co_return true;
}

// Not a coroutine: it hands back the chosen client's awaitable (every argument is a
// reference the caller keeps alive while it awaits), saving a frame per request.
awaitable<ForwardResult> forward(exchange::Exchange& ex, const UpstreamEndpoint& endpoint, const ForwardOptions& options) {
  if (endpoint.scheme == UpstreamScheme::H2c) return forwardHttp2(ex, endpoint, options);
  if (endpoint.https()) {
    if (endpoint.transport->disableHTTP2) return forwardHttp1(ex, endpoint, options);
    auto known = ex.worker.h2Sessions().protocolOf(endpoint.poolId);
    if (known && *known) return forwardHttp2(ex, endpoint, options);
    return forwardByAlpn(ex, endpoint, options);
  }
  return forwardHttp1(ex, endpoint, options);
}

}  // namespace causeway::upstream
