// The HTTP/2 downstream codec (RFC 9113) on nghttp2, over a TLS (ALPN h2) or cleartext
// (h2c prior knowledge) stream. Frames end here: every stream becomes the same internal
// Request/Response as HTTP/1.1 and runs the same handler chain, each stream in its own
// coroutine on the connection's worker. Request bodies flow with HTTP/2 flow control as
// back-pressure: window credit is returned only as the handler consumes data.
//
// Hardening (docs/security.md, F01–F11): nghttp2 validates messages (malformed requests reset
// the stream before anything reaches an upstream); rapid resets are rate-limited;
// CONTINUATION sequences are capped; decoded header lists are bounded per stream and per
// connection (HPACK bombs); queued control-frame acknowledgements are bounded (floods).
#pragma once

#include "exchange/exchange.h"
#include "io/asio.h"
#include "io/read_buffer.h"
#include "runtime/entry_point.h"
#include "runtime/worker.h"

namespace causeway::downstream {

// Serves an HTTP/2 connection until it ends. `initial` holds bytes already read (the
// client preface for h2c).
template <class Stream>
awaitable<void> serveHttp2(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket& socket, Stream& stream,
                           exchange::ConnectionInfo& info, io::ReadBuffer initial);

}  // namespace causeway::downstream
