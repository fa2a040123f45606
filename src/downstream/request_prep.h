// The codec-independent steps between a parsed request and its handler, shared by the
// HTTP/1.1 and HTTP/2 codecs so every protocol routes and validates the same way
// (docs/security.md, T09: protocol-path parity).
#pragma once

#include <string>
#include <string_view>

#include "exchange/exchange.h"
#include "io/asio.h"
#include "runtime/entry_point.h"

namespace causeway::downstream {

// Fills the path-related fields of `r` from the target's parts (Traefik's rules): query
// ';' → '&' (or %3B with encodeQuerySemicolons), path sanitized and normalized, routing
// path, encodedCharacters checks. `r.authority` must be set; r.host is derived from
// `routingHost`. Returns 0, or 400 for a path that cannot be served.
int prepareRequestPath(exchange::Request& r, Arena& arena, const runtime::EntryPoint& entryPoint, std::string& scratch,
                       std::string_view rawPath, std::string_view rawQuery, bool hasQuery, bool asterisk,
                       std::string_view routingHost);

// 400 when a field that must be single is repeated (Authorization, Proxy-Authorization,
// Host, Content-Length): two values would give the middlewares and the upstream two
// different views of one request (docs/security.md, H07). Else 0.
int checkRequestFields(const http::Headers& headers);

// Routes the exchange on its entryPoint (TLS routers for TLS connections), applies the
// 421 rule, and runs the matched handler; 404 when nothing matches. ex.snapshot must be
// pinned by the caller.
awaitable<void> routeAndServe(exchange::Exchange& ex, const runtime::EntryPoint& entryPoint);

}  // namespace causeway::downstream
