// libFuzzer target for the response cache's RFC 9111 rules (http/cache_control.h), which read
// request and response fields from clients and servers. The input is lines "Name: value"; the
// same fields serve as the request's and the response's. Properties checked:
//  - nothing crashes; delta-seconds are -1 (absent) or within [0, 2^31], max-stale also "any";
//  - a parsed HTTP-date within years 0–9999 formats and parses back to itself;
//  - freshness lifetime and initial age are never negative.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/cache_control.h"

namespace http = causeway::http;

namespace {

void checkDelta(int64_t value, bool anyAllowed) {
  if (value == -1 || (value >= 0 && value <= (int64_t(1) << 31))) return;
  if (anyAllowed && value == http::CacheDirectives::kAnyStale) return;
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  http::Headers headers;
  size_t start = 0;
  while (start < input.size()) {
    size_t end = input.find('\n', start);
    if (end == std::string_view::npos) end = input.size();
    std::string_view line = input.substr(start, end - start);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos) headers.add(line.substr(0, colon), line.substr(colon + 1));
    start = end + 1;
  }

  http::CacheDirectives d = http::parseCacheControl(headers);
  for (int64_t v : {d.maxAge, d.sMaxAge, d.minFresh, d.staleWhileRevalidate, d.staleIfError}) checkDelta(v, false);
  checkDelta(d.maxStale, true);

  for (const http::HeaderField& field : headers) {
    auto seconds = http::parseHttpDate(field.value);
    if (seconds && *seconds >= -62167219200 && *seconds <= 253402300799) {
      if (http::parseHttpDate(http::formatHttpDate(*seconds)) != seconds) std::abort();
    }
  }

  (void)http::mayStore({"GET", 200, &headers, &d, &headers, &d});
  if (http::freshnessLifetime(headers, d) < 0) std::abort();
  if (http::initialAge(headers, 1000, 1000) < 0) std::abort();
  (void)http::notModified(headers, headers.get("ETag"), headers.get("Last-Modified"));
  return 0;
}
