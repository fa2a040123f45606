#include "http/cache_control.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "core/strings.h"

namespace causeway::http {
namespace {

// RFC 9111 §1.2.2: delta-seconds past 2^31 count as 2^31; a malformed value as 0 (stale).
int64_t deltaSeconds(std::string_view text) {
  if (text.empty()) return 0;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    value = std::min<int64_t>(value * 10 + (c - '0'), int64_t(1) << 31);
  }
  return value;
}

// Calls fn(name, value) for each directive of every Cache-Control field line; a quoted value
// is given without its quotes (escapes are not undone: no directive this cache reads needs them).
template <class Fn>
void forEachDirective(const Headers& headers, Fn&& fn) {
  for (const HeaderField& field : headers) {
    if (!iequals(field.name, "Cache-Control")) continue;
    std::string_view v = field.value;
    size_t i = 0;
    while (i < v.size()) {
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) ++i;
      size_t start = i;
      while (i < v.size() && v[i] != '=' && v[i] != ',') ++i;
      std::string_view name = trimOws(v.substr(start, i - start));
      std::string_view value;
      if (i < v.size() && v[i] == '=') {
        ++i;
        while (i < v.size() && (v[i] == ' ' || v[i] == '\t')) ++i;
        if (i < v.size() && v[i] == '"') {
          size_t open = ++i;
          while (i < v.size() && v[i] != '"') i += v[i] == '\\' ? 2 : 1;
          value = v.substr(open, std::min(i, v.size()) - open);
          if (i < v.size()) ++i;
          while (i < v.size() && v[i] != ',') ++i;
        } else {
          size_t open = i;
          while (i < v.size() && v[i] != ',') ++i;
          value = trimOws(v.substr(open, i - open));
        }
      }
      if (!name.empty()) fn(name, value);
    }
  }
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::array<std::string_view, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

// A cursor over a date's text; every step fails the whole parse once one fails.
struct DateReader {
  std::string_view s;
  size_t i = 0;
  bool ok = true;

  int number(size_t minDigits, size_t maxDigits) {
    size_t start = i;
    int value = 0;
    while (ok && i < s.size() && i - start < maxDigits && s[i] >= '0' && s[i] <= '9') value = value * 10 + (s[i++] - '0');
    if (i - start < minDigits) ok = false;
    return value;
  }
  void literal(std::string_view text) {
    if (!ok || s.substr(i, text.size()) != text) ok = false;
    else i += text.size();
  }
  unsigned month() {
    for (size_t m = 0; ok && m < kMonths.size(); ++m)
      if (s.substr(i, 3) == kMonths[m]) {
        i += 3;
        return unsigned(m + 1);
      }
    ok = false;
    return 0;
  }
  void dayName(bool longForm) {
    for (std::string_view d : kDays)
      if (s.substr(i, 3) == d) {
        i += 3;
        if (longForm)
          while (i < s.size() && s[i] >= 'a' && s[i] <= 'z') ++i;
        return;
      }
    ok = false;
  }
  void time(int& h, int& m, int& sec) {
    h = number(2, 2);
    literal(":");
    m = number(2, 2);
    literal(":");
    sec = number(2, 2);
  }
};

std::optional<int64_t> epochOf(int64_t year, unsigned month, int day, int h, int m, int s) {
  if (month < 1 || month > 12 || day < 1 || day > 31 || h > 23 || m > 59 || s > 60) return std::nullopt;
  return daysFromCivil(year, month, unsigned(day)) * 86400 + h * 3600 + m * 60 + s;
}

}  // namespace

CacheDirectives parseCacheControl(const Headers& headers) {
  CacheDirectives d;
  auto first = [](int64_t& slot, std::string_view value) {
    if (slot < 0) slot = deltaSeconds(value);
  };
  forEachDirective(headers, [&](std::string_view name, std::string_view value) {
    d.any = true;
    if (iequals(name, "max-age")) first(d.maxAge, value);
    else if (iequals(name, "s-maxage")) first(d.sMaxAge, value);
    else if (iequals(name, "max-stale")) {
      if (d.maxStale < 0) d.maxStale = value.empty() ? CacheDirectives::kAnyStale : deltaSeconds(value);
    } else if (iequals(name, "min-fresh")) first(d.minFresh, value);
    else if (iequals(name, "stale-while-revalidate")) first(d.staleWhileRevalidate, value);
    else if (iequals(name, "stale-if-error")) first(d.staleIfError, value);
    else if (iequals(name, "no-store")) d.noStore = true;
    else if (iequals(name, "no-cache")) d.noCache = true;
    else if (iequals(name, "private")) d.isPrivate = true;
    else if (iequals(name, "public")) d.isPublic = true;
    else if (iequals(name, "must-revalidate")) d.mustRevalidate = true;
    else if (iequals(name, "proxy-revalidate")) d.proxyRevalidate = true;
    else if (iequals(name, "only-if-cached")) d.onlyIfCached = true;
  });
  // RFC 9111 §5.4: Pragma: no-cache counts only where Cache-Control is absent.
  if (!d.any)
    for (const HeaderField& field : headers)
      if (iequals(field.name, "Pragma") && listContainsToken(field.value, "no-cache")) d.noCache = true;
  return d;
}

std::optional<int64_t> parseHttpDate(std::string_view text) {
  DateReader r{trimOws(text)};
  int h = 0, m = 0, s = 0;
  if (r.s.find(',') != std::string_view::npos) {
    // IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT" or RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT".
    bool imf = r.s.size() > 3 && r.s[3] == ',';
    std::string_view separator = imf ? " " : "-";
    r.dayName(!imf);
    r.literal(", ");
    int day = r.number(2, 2);
    r.literal(separator);
    unsigned month = r.month();
    r.literal(separator);
    int year = imf ? r.number(4, 4) : r.number(2, 2);
    r.literal(" ");
    r.time(h, m, s);
    r.literal(" GMT");
    if (!r.ok || r.i != r.s.size()) return std::nullopt;
    // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is in the past century.
    if (!imf) year += year < 70 ? 2000 : 1900;
    return epochOf(year, month, day, h, m, s);
  }
  // asctime: Sun Nov  6 08:49:37 1994
  r.dayName(false);
  r.literal(" ");
  unsigned month = r.month();
  r.literal(" ");
  if (r.ok && r.i < r.s.size() && r.s[r.i] == ' ') ++r.i;
  int day = r.number(1, 2);
  r.literal(" ");
  r.time(h, m, s);
  r.literal(" ");
  int year = r.number(4, 4);
  if (!r.ok || r.i != r.s.size()) return std::nullopt;
  return epochOf(year, month, day, h, m, s);
}

std::string formatHttpDate(int64_t seconds) {
  int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  int64_t rest = seconds - days * 86400;
  // civil_from_days (Howard Hinnant)
  int64_t z = days + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = unsigned(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned month = mp < 10 ? mp + 3 : mp - 9;
  const int64_t year = int64_t(yoe) + era * 400 + (month <= 2);
  unsigned weekday = unsigned(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04lld %02d:%02d:%02d GMT", kDays[weekday].data(), d,
                std::string(kMonths[month - 1]).c_str(), static_cast<long long>(year), int(rest / 3600),
                int(rest / 60 % 60), int(rest % 60));
  return buf;
}

std::string_view storeVerdictText(StoreVerdict verdict) {
  switch (verdict) {
    case StoreVerdict::Storable: return "storable";
    case StoreVerdict::Method: return "method";
    case StoreVerdict::Status: return "status";
    case StoreVerdict::RequestNoStore: return "request-no-store";
    case StoreVerdict::NoStore: return "no-store";
    case StoreVerdict::Private: return "private";
    case StoreVerdict::Authorization: return "authorization";
    case StoreVerdict::NoFreshness: return "no-explicit-freshness";
    case StoreVerdict::SetCookie: return "set-cookie";
    case StoreVerdict::VaryStar: return "vary-star";
  }
  return "";
}

StoreVerdict mayStore(const StoreQuestion& q) {
  if (q.method != "GET") return StoreVerdict::Method;
  if (q.status < 200 || q.status == 206 || q.status == 304 || q.status > 599) return StoreVerdict::Status;
  if (q.request->noStore) return StoreVerdict::RequestNoStore;
  const CacheDirectives& r = *q.response;
  if (r.noStore) return StoreVerdict::NoStore;
  if (r.isPrivate) return StoreVerdict::Private;
  // RFC 9111 §3.5: a shared cache stores an answer to an authenticated request only when
  // the response says it may be shared.
  if (q.requestHeaders->has("Authorization") && !r.mustRevalidate && !r.isPublic && r.sMaxAge < 0)
    return StoreVerdict::Authorization;
  if (q.responseHeaders->has("Set-Cookie")) return StoreVerdict::SetCookie;
  for (const HeaderField& field : *q.responseHeaders)
    if (iequals(field.name, "Vary") && listContainsToken(field.value, "*")) return StoreVerdict::VaryStar;
  bool validator = q.responseHeaders->has("ETag") || q.responseHeaders->has("Last-Modified");
  bool explicitFreshness = r.maxAge >= 0 || r.sMaxAge >= 0 || q.responseHeaders->has("Expires");
  // No heuristic freshness: without explicit freshness only an answer that can be revalidated
  // (a validator, with no-cache or public) is worth keeping.
  if (!explicitFreshness && !((r.noCache || r.isPublic) && validator)) return StoreVerdict::NoFreshness;
  return StoreVerdict::Storable;
}

int64_t freshnessLifetime(const Headers& headers, const CacheDirectives& response) {
  if (response.sMaxAge >= 0) return response.sMaxAge;
  if (response.maxAge >= 0) return response.maxAge;
  std::string_view expires = headers.get("Expires");
  if (expires.empty()) return 0;
  auto expiresAt = parseHttpDate(expires);
  auto date = parseHttpDate(headers.get("Date"));
  if (!expiresAt || !date) return 0;  // an invalid Expires (often "0") means already expired
  return std::max<int64_t>(0, *expiresAt - *date);
}

int64_t initialAge(const Headers& headers, int64_t requestTime, int64_t responseTime) {
  std::string_view ageText = trimOws(headers.get("Age"));
  int64_t age = ageText.empty() ? 0 : deltaSeconds(ageText);
  int64_t date = parseHttpDate(headers.get("Date")).value_or(responseTime);
  int64_t apparent = std::max<int64_t>(0, responseTime - date);
  int64_t corrected = age + std::max<int64_t>(0, responseTime - requestTime);
  return std::max(apparent, corrected);
}

bool entityTagsMatch(std::string_view a, std::string_view b, bool weak) {
  bool aWeak = a.starts_with("W/"), bWeak = b.starts_with("W/");
  if (!weak && (aWeak || bWeak)) return false;
  if (aWeak) a.remove_prefix(2);
  if (bWeak) b.remove_prefix(2);
  return a.size() >= 2 && a.front() == '"' && a == b;
}

bool notModified(const Headers& request, std::string_view etag, std::string_view lastModified) {
  bool sawIfNoneMatch = false;
  for (const HeaderField& field : request) {
    if (!iequals(field.name, "If-None-Match")) continue;
    sawIfNoneMatch = true;
    std::string_view v = field.value;
    size_t i = 0;
    while (i < v.size()) {
      while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) ++i;
      if (i >= v.size()) break;
      if (v[i] == '*') return true;  // any current representation
      size_t start = i;
      if (v.substr(i, 2) == "W/") i += 2;
      if (i >= v.size() || v[i] != '"') return false;  // malformed: no match
      size_t close = v.find('"', i + 1);
      if (close == std::string_view::npos) return false;
      i = close + 1;
      if (!etag.empty() && entityTagsMatch(v.substr(start, i - start), etag, true)) return true;
    }
  }
  // RFC 9110 §13.1.3: If-Modified-Since is ignored when If-None-Match is present.
  if (sawIfNoneMatch) return false;
  std::string_view since = request.get("If-Modified-Since");
  if (since.empty() || lastModified.empty()) return false;
  auto sinceTime = parseHttpDate(since);
  auto modified = parseHttpDate(lastModified);
  return sinceTime && modified && *modified <= *sinceTime;
}

bool isConditional(const Headers& request) {
  return request.has("If-None-Match") || request.has("If-Modified-Since");
}

}  // namespace causeway::http
