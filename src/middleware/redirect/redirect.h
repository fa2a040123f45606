// What redirectRegex and redirectScheme share (Traefik's redirect handler): the request URL
// as both match it, and the answer once a regexp has rewritten it.
#pragma once

#include <string>
#include <string_view>

#include "exchange/exchange.h"
#include "router/go_regexp.h"

namespace causeway::middleware::redirect {

// Appends the request's path ("/" when empty) and "?query" when it has one.
void appendPathAndQuery(std::string& url, const exchange::Request& request);

// Rewrites `oldUrl` with `regex` and `replacement` (Go's ${1} expansion). Returns false when
// the request passes through (no match, or the same URL); otherwise answers it: a redirect to
// the new URL (302/307, or 301/308 when `permanent`), or 500 when the new URL does not parse
// (`errorDetail` then goes to the access log).
bool redirectIfRewritten(exchange::Exchange& ex, const router::GoRegexp& regex, std::string_view replacement,
                         const std::string& oldUrl, bool permanent, std::string_view errorDetail);

}  // namespace causeway::middleware::redirect
