// HTTP caching semantics (RFC 9111) that do not depend on a store: Cache-Control directives,
// HTTP dates, whether a shared cache may store a response, its freshness lifetime and age,
// and the conditional-request checks a cache answers itself (RFC 9110 §13). The httpCache
// middleware (src/middleware/cache) builds on these; docs/cache.md states the rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/headers.h"

namespace causeway::http {

// Cache-Control of a request or a response, every field line merged. Delta-seconds are -1
// when the directive is absent; a value that is not delta-seconds counts as 0 (RFC 9111
// §1.2.2: such a response is treated as stale). The first occurrence of a directive wins.
struct CacheDirectives {
  int64_t maxAge = -1;
  int64_t sMaxAge = -1;
  int64_t maxStale = -1;       // request; kAnyStale when given without a value
  int64_t minFresh = -1;       // request
  int64_t staleWhileRevalidate = -1;  // response (RFC 5861)
  int64_t staleIfError = -1;          // request or response (RFC 5861)
  bool noStore = false;
  bool noCache = false;        // also the qualified form no-cache="field" (treated as unqualified)
  bool isPrivate = false;      // also private="field" (a shared cache then stores nothing)
  bool isPublic = false;
  bool mustRevalidate = false;
  bool proxyRevalidate = false;
  bool onlyIfCached = false;   // request
  bool any = false;            // at least one Cache-Control field line was present

  static constexpr int64_t kAnyStale = INT64_MAX;
};

CacheDirectives parseCacheControl(const Headers& headers);

// An HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms) as seconds since the
// epoch; nullopt when `text` is not one.
std::optional<int64_t> parseHttpDate(std::string_view text);
// `seconds` since the epoch as an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT").
std::string formatHttpDate(int64_t seconds);

// Why a shared cache may not store a response (RFC 9111 §3); Storable when it may.
enum class StoreVerdict {
  Storable,
  Method,         // not GET
  Status,         // 1xx, 206, 304, or a status this cache does not store
  RequestNoStore,
  NoStore,
  Private,
  Authorization,  // the request had Authorization and the response did not allow sharing
  NoFreshness,    // no explicit freshness (heuristic freshness is off) and not public
  SetCookie,      // a response that sets cookies is specific to one client
  VaryStar,       // Vary: * never matches a later request
};
// The verdict as one token ("no-store", "no-explicit-freshness"), for Cache-Status' detail.
std::string_view storeVerdictText(StoreVerdict verdict);

struct StoreQuestion {
  std::string_view method;
  int status = 0;
  const Headers* requestHeaders = nullptr;
  const CacheDirectives* request = nullptr;
  const Headers* responseHeaders = nullptr;
  const CacheDirectives* response = nullptr;
};
StoreVerdict mayStore(const StoreQuestion& question);

// The freshness lifetime of a response in seconds (RFC 9111 §4.2.1, shared cache):
// s-maxage, else max-age, else Expires − Date; 0 when none applies (no heuristics).
int64_t freshnessLifetime(const Headers& responseHeaders, const CacheDirectives& response);

// The response's age when it arrived (RFC 9111 §4.2.3, corrected_initial_age): from its Age
// field, its Date, and when the request was sent and the response received (epoch seconds).
int64_t initialAge(const Headers& responseHeaders, int64_t requestTime, int64_t responseTime);

// RFC 9110 §8.8.3.2: two entity-tags compare weakly (W/ ignored) or strongly.
bool entityTagsMatch(std::string_view a, std::string_view b, bool weak);

// Whether a stored response with `etag` and `lastModified` answers the request's conditional
// fields with 304 (RFC 9110 §13.1.2 If-None-Match, weak comparison, "*" matches; else §13.1.3
// If-Modified-Since against Last-Modified). False when the request has neither.
bool notModified(const Headers& requestHeaders, std::string_view etag, std::string_view lastModified);

// Whether the request carries a conditional a cache evaluates (If-None-Match or If-Modified-Since).
bool isConditional(const Headers& requestHeaders);

}  // namespace causeway::http
