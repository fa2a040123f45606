#include <gtest/gtest.h>

#include "service/sticky_cookie.h"
#include "service/strategies.h"

namespace causeway::service {
namespace {

// Traefik's own test vectors (pkg/server/cookie/cookie_test.go).
TEST(StickyCookieName, TraefikVectors) {
  EXPECT_EQ(defaultStickyCookieName("backend"), "_76eb3");
  EXPECT_EQ(stickyCookieName("", "/my/BACKEND-v1.0~rc1"), "_5f7bc");
  EXPECT_EQ(stickyCookieName("/my/BACKEND-v1.0~rc1", ""), "_my_BACKEND-v1.0~rc1");
  EXPECT_EQ(stickyCookieName("cookie", "backend"), "cookie");
  EXPECT_EQ(stickyCookieName("!#$%&'()*+-./:<=>?@[]^_`{|}~", "x"), "!#$%&'__*+-._________^_`_|_~");
}

TEST(StickyCookieName, DefaultIsSixCharactersOfSha1) {
  std::string name = defaultStickyCookieName("whoami@file");
  EXPECT_EQ(name, "_" + sha1Hex("_TRAEFIK_BACKEND_whoami@file").substr(0, 5));
  EXPECT_EQ(name.size(), 6u);
}

TEST(StickyCookieValue, Sha256Cut) {
  EXPECT_EQ(stickyCookieValue("http://127.0.0.1:8080"), "d30a576c03187167");
}

TEST(StickyCookieRender, GoCookieString) {
  StickyCookieOptions options;
  options.name = "_abcde";
  EXPECT_EQ(options.render("v"), "_abcde=v; Path=/");
  options.path = "";
  EXPECT_EQ(options.render("v"), "_abcde=v");
  options.path = "/app";
  options.domain = ".example.com";
  options.maxAge = 60;
  options.httpOnly = true;
  options.secure = true;
  options.sameSite = "Lax";
  EXPECT_EQ(options.render("v"),
            "_abcde=v; Path=/app; Domain=example.com; Max-Age=60; HttpOnly; Secure; SameSite=Lax");
  options.maxAge = -1;
  options.sameSite = "none";
  options.domain = "bad domain";
  options.httpOnly = false;
  EXPECT_EQ(options.render("v"), "_abcde=v; Path=/app; Max-Age=0; Secure; SameSite=None");
  options.sameSite = "strict";
  options.domain = "10.0.0.1";
  EXPECT_EQ(options.render("v"),
            "_abcde=v; Path=/app; Domain=10.0.0.1; Max-Age=0; Secure; SameSite=Strict");
}

TEST(StickyCookieRender, FromConfigUsesDefaults) {
  config::Cookie cookie;
  auto options = StickyCookieOptions::from(cookie, "backend");
  EXPECT_EQ(options.name, "_76eb3");
  EXPECT_EQ(options.render("x"), "_76eb3=x; Path=/");
}

TEST(FindCookie, GoReadCookies) {
  http::Headers headers;
  headers.add("Cookie", "a=1; _s=\"quoted\"; b=2");
  headers.add("cookie", " _t=second ;_u=bad\\value; _u=good");
  EXPECT_EQ(findCookie(headers, "a").value(), "1");
  EXPECT_EQ(findCookie(headers, "_s").value(), "quoted");
  EXPECT_EQ(findCookie(headers, "_t").value(), "second");
  EXPECT_EQ(findCookie(headers, "_u").value(), "good");  // the invalid value is skipped
  EXPECT_FALSE(findCookie(headers, "A").has_value());    // names are case-sensitive
  EXPECT_FALSE(findCookie(headers, "missing").has_value());
}

TEST(StickyTable, CurrentAndLegacyValues) {
  StickyCookieOptions options;
  options.name = "_sticky";
  StickyTable table(options);
  EXPECT_EQ(table.add("http://127.0.0.1:8080", 0), "_sticky=d30a576c03187167; Path=/");
  table.add("http://127.0.0.1:8081", 1);
  auto lookup = [&](const std::string& value) {
    http::Headers headers;
    std::string field = "_sticky=" + value;
    headers.add("Cookie", field);
    return table.find(headers);
  };
  auto current = lookup("d30a576c03187167");
  ASSERT_TRUE(current);
  EXPECT_EQ(current->index, 0u);
  EXPECT_FALSE(current->rewrite);
  // Older Traefik versions: the raw URL, its fnv64 hash, the fnv64 of that hash.
  for (std::string legacy :
       {std::string("http://127.0.0.1:8081"), hexNumber(fnv1Hash64("http://127.0.0.1:8081")),
        hexNumber(fnv1Hash64(hexNumber(fnv1Hash64("http://127.0.0.1:8081"))))}) {
    auto match = lookup(legacy);
    ASSERT_TRUE(match) << legacy;
    EXPECT_EQ(match->index, 1u);
    EXPECT_TRUE(match->rewrite);
  }
  EXPECT_FALSE(lookup("unknown"));
}

}  // namespace
}  // namespace causeway::service
