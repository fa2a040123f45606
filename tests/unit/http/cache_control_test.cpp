// RFC 9111 rules of the response cache (docs/cache.md): directives, dates, storability,
// freshness, age and the conditional checks a cache answers itself.
#include <gtest/gtest.h>

#include "http/cache_control.h"

namespace causeway::http {
namespace {

Headers fields(std::initializer_list<std::pair<std::string_view, std::string_view>> list) {
  Headers h;
  for (const auto& [name, value] : list) h.add(name, value);
  return h;
}

TEST(CacheControl, DirectivesAcrossLinesFirstWins) {
  Headers h = fields({{"Cache-Control", "public, max-age=60"}, {"cache-control", "max-age=5, s-maxage=\"30\""}});
  CacheDirectives d = parseCacheControl(h);
  EXPECT_TRUE(d.isPublic);
  EXPECT_EQ(d.maxAge, 60);
  EXPECT_EQ(d.sMaxAge, 30);
  EXPECT_FALSE(d.noStore);
  EXPECT_EQ(d.staleIfError, -1);
}

TEST(CacheControl, MalformedDeltaIsStaleAndHugeIsClamped) {
  EXPECT_EQ(parseCacheControl(fields({{"Cache-Control", "max-age=abc"}})).maxAge, 0);
  EXPECT_EQ(parseCacheControl(fields({{"Cache-Control", "max-age=99999999999999999999"}})).maxAge, int64_t(1) << 31);
}

TEST(CacheControl, QualifiedFormsAndRequestDirectives) {
  CacheDirectives d = parseCacheControl(
      fields({{"Cache-Control", "private=\"Set-Cookie, X\", no-cache=\"A\", max-stale, min-fresh=10, only-if-cached"}}));
  EXPECT_TRUE(d.isPrivate);
  EXPECT_TRUE(d.noCache);
  EXPECT_EQ(d.maxStale, CacheDirectives::kAnyStale);
  EXPECT_EQ(d.minFresh, 10);
  EXPECT_TRUE(d.onlyIfCached);
  EXPECT_EQ(parseCacheControl(fields({{"Cache-Control", "max-stale=7"}})).maxStale, 7);
}

TEST(CacheControl, PragmaOnlyWithoutCacheControl) {
  EXPECT_TRUE(parseCacheControl(fields({{"Pragma", "no-cache"}})).noCache);
  EXPECT_FALSE(parseCacheControl(fields({{"Pragma", "no-cache"}, {"Cache-Control", "max-age=1"}})).noCache);
}

TEST(HttpDate, ThreeFormsAndRoundTrip) {
  EXPECT_EQ(parseHttpDate("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parseHttpDate("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parseHttpDate("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_EQ(formatHttpDate(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(formatHttpDate(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  EXPECT_EQ(parseHttpDate(formatHttpDate(1796601600)), 1796601600);
  for (std::string_view bad : {"0", "", "-1", "Sun, 06 Nov 1994 08:49:37", "Sun, 32 Nov 1994 08:49:37 GMT",
                               "Sun, 06 Nov 1994 08:49:37 GMTX", "tomorrow"})
    EXPECT_FALSE(parseHttpDate(bad)) << bad;
}

struct Verdict {
  StoreVerdict operator()(Headers request, Headers response, int status = 200, std::string_view method = "GET") {
    CacheDirectives rq = parseCacheControl(request), rs = parseCacheControl(response);
    return mayStore({method, status, &request, &rq, &response, &rs});
  }
};

TEST(MayStore, SharedCacheRules) {
  Verdict v;
  EXPECT_EQ(v({}, fields({{"Cache-Control", "max-age=60"}})), StoreVerdict::Storable);
  EXPECT_EQ(v({}, fields({{"Expires", "Sun, 06 Nov 1994 08:49:37 GMT"}})), StoreVerdict::Storable);
  EXPECT_EQ(v({}, fields({{"Cache-Control", "max-age=60"}}), 200, "POST"), StoreVerdict::Method);
  EXPECT_EQ(v({}, fields({{"Cache-Control", "max-age=60"}}), 206), StoreVerdict::Status);
  EXPECT_EQ(v({}, fields({{"Cache-Control", "max-age=60"}}), 304), StoreVerdict::Status);
  EXPECT_EQ(v(fields({{"Cache-Control", "no-store"}}), fields({{"Cache-Control", "max-age=60"}})),
            StoreVerdict::RequestNoStore);
  EXPECT_EQ(v({}, fields({{"Cache-Control", "max-age=60, no-store"}})), StoreVerdict::NoStore);
  EXPECT_EQ(v({}, fields({{"Cache-Control", "private, max-age=60"}})), StoreVerdict::Private);
  EXPECT_EQ(v({}, fields({{"Cache-Control", "max-age=60"}, {"Set-Cookie", "a=b"}})), StoreVerdict::SetCookie);
  EXPECT_EQ(v({}, fields({{"Cache-Control", "max-age=60"}, {"Vary", "Accept, *"}})), StoreVerdict::VaryStar);
  // No heuristic freshness: a Last-Modified alone is not enough, but no-cache with a validator is.
  EXPECT_EQ(v({}, fields({{"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"}})), StoreVerdict::NoFreshness);
  EXPECT_EQ(v({}, fields({{"Cache-Control", "no-cache"}, {"ETag", "\"x\""}})), StoreVerdict::Storable);
  EXPECT_EQ(v({}, fields({{"Cache-Control", "public"}})), StoreVerdict::NoFreshness);
}

TEST(MayStore, AuthorizationNeedsExplicitSharing) {
  Verdict v;
  Headers auth = fields({{"Authorization", "Bearer x"}});
  EXPECT_EQ(v(auth, fields({{"Cache-Control", "max-age=60"}})), StoreVerdict::Authorization);
  EXPECT_EQ(v(auth, fields({{"Cache-Control", "max-age=60, public"}})), StoreVerdict::Storable);
  EXPECT_EQ(v(auth, fields({{"Cache-Control", "s-maxage=60"}})), StoreVerdict::Storable);
  EXPECT_EQ(v(auth, fields({{"Cache-Control", "max-age=60, must-revalidate"}})), StoreVerdict::Storable);
}

TEST(Freshness, SharedCacheOrder) {
  Headers h = fields({{"Cache-Control", "max-age=10, s-maxage=20"}});
  EXPECT_EQ(freshnessLifetime(h, parseCacheControl(h)), 20);
  h = fields({{"Cache-Control", "max-age=10"}, {"Expires", "Sun, 06 Nov 1994 09:49:37 GMT"}});
  EXPECT_EQ(freshnessLifetime(h, parseCacheControl(h)), 10);
  h = fields({{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}, {"Expires", "Sun, 06 Nov 1994 09:49:37 GMT"}});
  EXPECT_EQ(freshnessLifetime(h, parseCacheControl(h)), 3600);
  h = fields({{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}, {"Expires", "0"}});
  EXPECT_EQ(freshnessLifetime(h, parseCacheControl(h)), 0);
}

TEST(Freshness, InitialAge) {
  int64_t date = 784111777;
  Headers h = fields({{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}, {"Age", "30"}});
  EXPECT_EQ(initialAge(h, date + 1, date + 3), 32);  // Age + response delay
  h = fields({{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}});
  EXPECT_EQ(initialAge(h, date + 99, date + 100), 100);  // apparent age from a clock behind
  EXPECT_EQ(initialAge({}, date, date), 0);
}

TEST(Conditional, IfNoneMatchThenIfModifiedSince) {
  EXPECT_TRUE(notModified(fields({{"If-None-Match", "\"a\", W/\"b\""}}), "\"b\"", ""));
  EXPECT_TRUE(notModified(fields({{"If-None-Match", "W/\"b\""}}), "\"b\"", ""));
  EXPECT_TRUE(notModified(fields({{"If-None-Match", "*"}}), "\"b\"", ""));
  EXPECT_FALSE(notModified(fields({{"If-None-Match", "\"c\""}}), "\"b\"", ""));
  EXPECT_FALSE(notModified(fields({{"If-None-Match", "\"c\""}, {"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"}}),
                           "\"b\"", "Sun, 06 Nov 1994 08:49:37 GMT"));
  EXPECT_TRUE(notModified(fields({{"If-Modified-Since", "Sun, 06 Nov 1994 08:49:37 GMT"}}), "",
                          "Sun, 06 Nov 1994 08:49:37 GMT"));
  EXPECT_FALSE(notModified(fields({{"If-Modified-Since", "Sun, 06 Nov 1994 08:49:36 GMT"}}), "",
                           "Sun, 06 Nov 1994 08:49:37 GMT"));
  EXPECT_FALSE(notModified({}, "\"b\"", "Sun, 06 Nov 1994 08:49:37 GMT"));
  EXPECT_TRUE(entityTagsMatch("W/\"x\"", "\"x\"", true));
  EXPECT_FALSE(entityTagsMatch("W/\"x\"", "\"x\"", false));
  EXPECT_TRUE(entityTagsMatch("\"x\"", "\"x\"", false));
}

}  // namespace
}  // namespace causeway::http
