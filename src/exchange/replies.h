// Answers written the way Go's net/http and Traefik write them (a bare status, a status with
// a body and no Content-Type, redirects). Local replies with a text body are in
// local_reply.h.
#pragma once

#include <string>
#include <string_view>

#include "exchange/exchange.h"

namespace causeway::exchange {

// rw.WriteHeader(status) with nothing written: an empty body and no Content-Type.
void bareStatusReply(Exchange& ex, int status);

// Go's http.Redirect(w, r, url, code) for an absolute or root-relative URL (a relative one is
// resolved against the request path as Go does).
void goRedirect(Exchange& ex, std::string_view url, int status);

// A response as Traefik writes it with `rw.WriteHeader(status); rw.Write(body)`: the
// entryPoint disables Content-Type sniffing (contenttype.DisableAutoDetection), so there is
// no Content-Type and no nosniff. An empty body leaves ex.response.body null.
void bareReply(Exchange& ex, int status, std::string_view body);

// Traefik's redirect answer (moveHandler): Location, 302 for GET and 307 for any other
// method (301/308 when permanent), the status text as body, no Content-Type.
void redirectReply(Exchange& ex, std::string_view location, bool permanent);

}  // namespace causeway::exchange
