// The HTTP/1.1 upstream side of the proxy: sends the exchange's request to one upstream
// server over a pooled connection and fills the exchange's response, whose body then
// streams from the upstream socket as the downstream codec pulls it.
#pragma once

#include "exchange/exchange.h"
#include "upstream/connection_pool.h"
#include "upstream/forward.h"

namespace causeway::upstream {

// The request head as it goes upstream: always HTTP/1.1, re-serialized from the parsed
// form (never the client's bytes); hop-by-hop fields dropped; Host from the request
// (passHostHeader) or the server; X-Forwarded-For with the peer appended; framing decided
// here (Content-Length, or chunked for a body of unknown length).
void serializeRequestHead(const exchange::Request& request, const exchange::ConnectionInfo& connection,
                          const UpstreamEndpoint& endpoint, const ForwardOptions& options,
                          std::string& out);

// On success ex.response holds the upstream's status, headers and a body that reads from
// the upstream connection; the connection goes back to the pool when that body has been
// read to its end and the exchange is reset. On failure ex.response is untouched. When a
// new https connection negotiated h2 by ALPN, nothing is sent: the connection comes back
// in ForwardResult::http2Connection for forwardHttp2 (upstream/forward.h does this).
awaitable<ForwardResult> forwardHttp1(exchange::Exchange& ex, const UpstreamEndpoint& endpoint,
                                      const ForwardOptions& options);

}  // namespace causeway::upstream
