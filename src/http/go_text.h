// Status texts (the standard reason phrases, and Go's http.StatusText, which Traefik's
// bodies show) and header keys as Go's textproto canonicalizes them. Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace causeway::http {

// The standard reason phrase for a status ("Not Found"); "" for unknown codes.
std::string_view reasonPhrase(int status);

// Go's http.StatusText: "" for codes Go does not know (499 included).
std::string_view goStatusText(int status);

// Go's textproto.CanonicalMIMEHeaderKey ("x-auth-user" → "X-Auth-User"); returned unchanged
// when it holds a byte that is not a token character.
std::string canonicalHeaderKey(std::string_view name);
void appendCanonicalHeaderKey(std::string& out, std::string_view name);

}  // namespace causeway::http
