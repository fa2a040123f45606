// Responses causeway writes itself (errors, redirects), with Traefik's bodies:
// Go's http.Error shape, "text/plain; charset=utf-8" and X-Content-Type-Options: nosniff.
#pragma once

#include <string_view>

#include "exchange/exchange.h"

namespace causeway::exchange {

// Sets ex.response to `status` with `body` (copied into the arena) as text/plain.
void localReply(Exchange& ex, int status, std::string_view body);
// Go's http.Error(w, text, status): body is text + "\n".
void errorReply(Exchange& ex, int status, std::string_view text);
// Traefik's proxy errors: 502/504/499 with the status text as body.
void statusTextReply(Exchange& ex, int status);

}  // namespace causeway::exchange
