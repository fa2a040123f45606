// Where the API gateway's authentication middlewares find a caller's credentials (the
// Authorization header with a scheme, another header, a query parameter, a cookie, a form
// field), how they take them off the request before it goes on, and how they refuse: 401 with
// a `WWW-Authenticate` challenge, or 403 (RFC 6750 §3 for Bearer tokens).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "io/asio.h"

namespace boost::json {
class value;
}
namespace causeway::exchange {
struct Exchange;
}

namespace causeway::gateway::api {

// The value after `scheme` (case-insensitive, then a space) in the request's only Authorization
// header; nullopt when there is none or it has another scheme.
std::optional<std::string_view> schemeCredential(const exchange::Exchange& ex,
                                                 std::string_view scheme);

// The first value of query parameter `name`, unescaped; nullopt when absent.
std::optional<std::string> queryParameter(std::string_view query, std::string_view name);
// The query without any `name` parameter (the others unchanged).
std::string withoutParameter(std::string_view query, std::string_view name);
// Removes query parameter `name` from the request (its path and raw path keep their own form).
void removeQueryParameter(exchange::Exchange& ex, std::string_view name);

// The value of cookie `name` in the request's Cookie headers; nullopt when absent.
std::optional<std::string_view> cookieValue(const exchange::Exchange& ex, std::string_view name);
// Removes cookie `name` from the request's Cookie headers (a header left empty goes).
void removeCookie(exchange::Exchange& ex, std::string_view name);

// Field `name` of an application/x-www-form-urlencoded request body of at most 1 MiB. The body
// is read into the arena (and replaced by that copy); with `remove`, the field is taken out of
// it. nullopt when the request has no such body or field.
awaitable<std::optional<std::string>> formField(exchange::Exchange& ex, std::string_view name,
                                                bool remove);

// Where a credential may be (Hub's apiKey `keySource`, oAuthIntrospection `tokenSource`): a
// header (with `headerAuthScheme`, its value must be "<scheme> <credential>"), a query
// parameter, a cookie; tried in that order.
struct CredentialSource {
  std::string header;
  std::string headerAuthScheme;
  std::string query;
  std::string cookie;
  static void describe(auto& self, auto& v) {
    v("header", self.header);
    v("headerAuthScheme", self.headerAuthScheme);
    v("query", self.query);
    v("cookie", self.cookie);
  }
  bool empty() const { return header.empty() && query.empty() && cookie.empty(); }
};

struct FoundCredential {
  enum class In : uint8_t { None, Header, Query, Cookie } in = In::None;
  std::string value;
};
FoundCredential findCredential(const exchange::Exchange& ex, const CredentialSource& source);
// Takes the credential found by findCredential off the request.
void removeCredential(exchange::Exchange& ex, const CredentialSource& source,
                      FoundCredential::In in);

// A secret option: the value itself, or the one an `env:NAME`/`file:/path` reference names
// (gateway/ai/secret.h). nullopt with `error` when the reference cannot be read.
std::optional<std::string> secretOption(const std::string& value, std::string& error);

// The 32 bytes of the SHA-256 of `data` (keys remembered or looked up by their digest).
std::string sha256Bytes(std::string_view data);

// Seconds since the epoch, as token times (`exp`, `iat`) count them.
double epochSeconds();

// Member `key` of a JSON object when it is a string (else "") or a number (else 0): for token
// answers and claims, whose members may be missing or of another type.
std::string stringMember(const boost::json::value& v, std::string_view key);
double numberMember(const boost::json::value& v, std::string_view key);

// Hash for maps keyed by a token's text and looked up by a string_view of it.
struct TokenTextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

// An outage warning a middleware logs at most once every 10 s, whichever worker sees it.
class ThrottledWarning {
 public:
  bool due() const;

 private:
  mutable std::atomic<int64_t> last_{0};
};

// 401 with `WWW-Authenticate: <challenge>` (no header when empty), or 403; a short text body.
// `detail` goes to the access log's error detail, never to the client.
void refuse(exchange::Exchange& ex, int status, std::string_view challenge,
            std::string_view detail);

// A Bearer challenge (RFC 6750 §3): `Bearer realm="…"`, with error="…" and error_description
// when `error` is set. `description` must not hold the token or a secret.
std::string bearerChallenge(std::string_view realm, std::string_view error,
                            std::string_view description, std::string_view extra = {});

}  // namespace causeway::gateway::api
