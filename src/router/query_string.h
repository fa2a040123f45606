// Lazy reading of a raw query string with Go's url.ParseQuery semantics, as Traefik's Query
// matchers see it: pairs are split on '&'; a pair containing ';' is skipped; key and value are
// split at the first '='; both are percent-decoded with '+' meaning space, and a pair whose key
// or value holds an invalid %-escape is skipped. Nothing here allocates except
// appendQueryUnescaped().
#pragma once

#include <string>
#include <string_view>

namespace causeway::router::detail {

// True when `raw` is a valid query component (every '%' followed by two hex digits).
bool isValidQueryEscape(std::string_view raw);

// True when `raw` is valid and decodes to exactly `decoded`.
bool queryUnescapedEquals(std::string_view raw, std::string_view decoded);

// Appends the decoding of `raw` (which must be valid) to `out`.
void appendQueryUnescaped(std::string_view raw, std::string& out);

// True when decoding changes `raw` (it holds '%' or '+').
inline bool needsQueryUnescape(std::string_view raw) {
  return raw.find_first_of("%+") != std::string_view::npos;
}

// Calls visit(rawKey, rawValue) for every pair Go would keep, in order, until visit returns
// true; returns whether it did. Pairs with invalid escapes are not visited.
template <class Visit> bool forEachQueryPair(std::string_view rawQuery, Visit&& visit) {
  while (!rawQuery.empty()) {
    size_t amp = rawQuery.find('&');
    std::string_view pair = rawQuery.substr(0, amp);
    rawQuery = amp == std::string_view::npos ? std::string_view() : rawQuery.substr(amp + 1);
    if (pair.empty() || pair.find(';') != std::string_view::npos) continue;
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (!isValidQueryEscape(key) || !isValidQueryEscape(value)) continue;
    if (visit(key, value)) return true;
  }
  return false;
}

} // namespace causeway::router::detail
