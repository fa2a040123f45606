// Sticky sessions by cookie (`sticky.cookie`), as Traefik v3 writes and reads them
// (pkg/server/cookie, pkg/server/service/loadbalancer/sticky.go):
//  - the cookie name is the configured one with non-token characters replaced by '_', or by
//    default "_" + the first 5 hex digits of sha1("_TRAEFIK_BACKEND_" + qualified service name);
//  - the value names the chosen child (a server URL, or a child service name as written):
//    the first 16 hex digits of its sha256. Values of older Traefik versions (the raw name,
//    its fnv64 hash, or the fnv64 of that) are still honoured, and the cookie is rewritten.
// Built once per service at snapshot build; read-only afterwards (any worker).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/dynamic_service.h"
#include "http/headers.h"

namespace causeway::service {

// The cookie name for `configured` (may be empty) in service `qualifiedService`.
std::string stickyCookieName(std::string_view configured, std::string_view qualifiedService);
// Traefik's default name: "_" + sha1("_TRAEFIK_BACKEND_" + name) cut to 6 characters.
std::string defaultStickyCookieName(std::string_view qualifiedService);
// The value that pins `childName`: sha256 hex cut to 16 characters.
std::string stickyCookieValue(std::string_view childName);

// The cookie attributes, rendered as Go's http.Cookie.String() does.
struct StickyCookieOptions {
  std::string name;
  std::string path = "/";
  std::string domain;
  int maxAge = 0;  // > 0: Max-Age=N; < 0: Max-Age=0; 0: session cookie
  bool secure = false;
  bool httpOnly = false;
  std::string sameSite;  // "", none, lax, strict (any case)

  static StickyCookieOptions from(const config::Cookie& cookie, std::string_view qualifiedService);
  // The Set-Cookie field value for `value`; "" when the name is not a valid token.
  std::string render(std::string_view value) const;
};

// The first valid value of cookie `name` in the request's Cookie fields (Go's req.Cookie).
std::optional<std::string_view> findCookie(const http::Headers& headers, std::string_view name);

// Cookie value → child index, with the values of older Traefik versions.
class StickyTable {
 public:
  explicit StickyTable(StickyCookieOptions options) : options_(std::move(options)) {}
  // Adds child `index` under `childName`; returns its Set-Cookie field value.
  std::string add(std::string_view childName, size_t index);

  struct Match {
    size_t index;
    bool rewrite;  // an old-style value: write the cookie again with the current value
  };
  // The child pinned by the request's cookie, if any.
  std::optional<Match> find(const http::Headers& headers) const;
  const std::string& cookieName() const { return options_.name; }

 private:
  StickyCookieOptions options_;
  std::map<std::string, size_t, std::less<>> current_;
  std::map<std::string, size_t, std::less<>> compatible_;
};

}  // namespace causeway::service
