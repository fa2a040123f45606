// Header hygiene that runs on every request before routing, as Traefik's entryPoint
// forwardedHeaders handler does (reference §9.1):
//  - from peers that are not trusted (forwardedHeaders.trustedIPs / insecure), every
//    X-Forwarded-*, X-Real-Ip and X-Scheme field (and underscore spellings of them) is
//    dropped, so clients cannot spoof them;
//  - X-Forwarded-Proto/-Host/-Port/-Server and X-Real-Ip are set when absent, several
//    X-Forwarded-For fields are folded into one;
//  - hop-by-hop fields and the fields named in Connection are removed (except the
//    managed X- fields and forwardedHeaders.connection), so a client cannot make the
//    proxy drop headers it adds (CVE-2021-32813, CVE-2024-45410).
#pragma once

#include <string_view>

#include "exchange/exchange.h"
#include "runtime/entry_point.h"

namespace causeway::downstream {

// `arena` holds any value built here (a folded X-Forwarded-For); `conn` is the downstream
// connection that carried the request.
void applyForwardedHeaders(exchange::Request& request, Arena& arena, const exchange::ConnectionInfo& conn,
                           const runtime::EntryPoint& entryPoint);

// The name this host reports in X-Forwarded-Server (the machine's host name).
std::string_view forwardedServerName();

}  // namespace causeway::downstream
