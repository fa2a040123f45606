// Small Go-compatible helpers the middlewares share: status texts as Go's http.StatusText,
// header key canonicalization, base64, constant-time comparison, random keys, and the
// replies Go's http package writes (http.Error, a bare WriteHeader, http.Redirect).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace causeway::server {
struct Exchange;
}

namespace causeway::middleware {

// Go's http.StatusText: "" for codes Go does not know (499 included).
std::string_view goStatusText(int status);

// Go's textproto.CanonicalMIMEHeaderKey ("x-auth-user" → "X-Auth-User"); returned unchanged
// when it holds a byte that is not a token character.
std::string canonicalHeaderKey(std::string_view name);

std::string base64Encode(std::string_view data, bool pad = true);
// Strict standard base64 with padding (Go's base64.StdEncoding.DecodeString, which also
// skips CR and LF); false on malformed input.
bool base64Decode(std::string_view text, std::string& out);

// Compares in time that depends only on the lengths.
bool constantTimeEquals(std::string_view a, std::string_view b);

// `n` random bytes from the system CSPRNG.
std::string randomBytes(size_t n);

// Lower-case hex of `data`.
std::string hexEncode(std::string_view data);

// rw.WriteHeader(status) with nothing written: an empty body and no Content-Type.
void bareStatusReply(server::Exchange& ex, int status);

// Go's http.Redirect(w, r, url, code) for an absolute or root-relative URL (a relative one is
// resolved against the request path as Go does).
void goRedirect(server::Exchange& ex, std::string_view url, int status);

}  // namespace causeway::middleware
