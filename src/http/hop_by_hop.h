// Hop-by-hop fields (RFC 9110 §7.6.1): what a proxy must not forward, for every codec
// (HTTP/1.1 both ways, and the HTTP/2 → HTTP/1.1 downgrade).
#pragma once

#include <span>
#include <string_view>

#include "http/headers.h"

namespace causeway::http {

// The fixed hop-by-hop set. It is Go's httputil.ReverseProxy hopHeaders list, which Traefik
// uses (Connection, Proxy-Connection, Keep-Alive, Proxy-Authenticate, Proxy-Authorization,
// TE, Trailer, Transfer-Encoding, Upgrade), plus HTTP2-Settings (docs/security.md, S61/S62).
// "Trailer" is Go's choice too: the forwarder announces the trailers it actually sends.
bool isHopByHopField(std::string_view name);

// Names a Connection field may never remove, because framing, routing, authentication or
// the gateway's own forwarding headers depend on them (docs/security.md, S60, Traefik
// CVE-2021-32813): Host, Content-Length, Transfer-Encoding, Authorization, Cookie,
// Forwarded, X-Real-Ip, X-Scheme and X-Forwarded-*. A Connection token naming one of these
// is ignored.
bool isProtectedFromConnection(std::string_view name);

// Calls fn(std::string_view token) for every non-empty token of every Connection field.
template <class Fn> void forEachConnectionToken(const Headers& headers, Fn&& fn) {
  for (const HeaderField& field : headers) {
    if (!iequals(field.name, "Connection")) continue;
    std::string_view v = field.value;
    size_t i = 0;
    while (i < v.size()) {
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
        ++i;
      size_t start = i;
      while (i < v.size() && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
        ++i;
      if (i > start) fn(v.substr(start, i - start));
    }
  }
}

struct HopByHopOptions {
  // Keep the Upgrade field (the caller forwards an accepted WebSocket upgrade and sets
  // "Connection: Upgrade" itself, as Go's ReverseProxy does).
  bool keepUpgrade = false;
  // Forward "TE: trailers" when the TE field lists "trailers" (RFC 9110 §10.1.4; Go does).
  bool keepTeTrailers = true;
  // Keep Proxy-Authorization: Traefik's forwardAuth sends it to the authentication server
  // (RFC 7235 §4.4), so it reaches the middlewares; the forwarders still drop it upstream.
  bool keepProxyAuthorization = false;
  // Names nominated by Connection that must still be forwarded (Traefik's
  // entryPoints.<ep>.forwardedHeaders.connection).
  std::span<const std::string_view> keepNominated = {};
};

// Removes from `headers` every hop-by-hop field and every field nominated by a Connection
// token (except protected and kept names), then returns how many fields were removed (a
// TE field replaced by "TE: trailers" does not count). Allocation-free: replacement values
// are string literals.
size_t removeHopByHop(Headers& headers, const HopByHopOptions& options = {});

}  // namespace causeway::http
