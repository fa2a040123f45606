// The CORS part of the headers middleware.
#include <gtest/gtest.h>

#include "core/arena.h"
#include "middleware/headers/cors.h"

namespace causeway::middleware {
namespace {

Cors make(CorsOptions o) {
  std::string error;
  auto c = Cors::make(std::move(o), error);
  EXPECT_TRUE(c) << error;
  return std::move(*c);
}

TEST(CorsTest, OriginMatching) {
  auto c = make({.allowOriginList = {"https://a.example"},
                 .allowOriginListRegex = {R"(^https://.*\.b\.example$)"}});
  EXPECT_EQ(c.matchOrigin("https://a.example"), "https://a.example");
  EXPECT_EQ(c.matchOrigin("https://x.b.example"), "https://x.b.example");
  EXPECT_FALSE(c.matchOrigin("https://evil.example"));
  auto star = make({.allowOriginList = {"*"}});
  EXPECT_EQ(star.matchOrigin("https://any"), "*");
  EXPECT_EQ(star.matchOrigin(""), "*");
  auto credentials = make({.allowCredentials = true, .allowOriginList = {"*"}});
  EXPECT_EQ(credentials.matchOrigin("https://any"), "https://any");
  std::string error;
  EXPECT_FALSE(Cors::make({.allowOriginListRegex = {"("}}, error));
}

TEST(CorsTest, Preflight) {
  Arena arena;
  http::Headers request;
  request.add("Origin", "https://a.example");
  request.add("Access-Control-Request-Method", "PATCH");
  request.add("Access-Control-Request-Headers", "X-One, X-Two");
  EXPECT_TRUE(Cors::isPreflight("OPTIONS", request));
  EXPECT_FALSE(Cors::isPreflight("GET", request));

  auto c = make({.allowHeaders = {"X-One", "X-Two"},
                 .allowMethods = {"GET", "PATCH"},
                 .allowOriginList = {"https://a.example"},
                 .exposeHeaders = {"X-Exposed"},
                 .maxAge = 0});
  http::Headers response;
  c.preflight(request, response, arena);
  EXPECT_EQ(response.get("Access-Control-Allow-Headers"), "X-One,X-Two");
  EXPECT_EQ(response.get("Access-Control-Allow-Methods"), "GET,PATCH");
  EXPECT_EQ(response.get("Access-Control-Allow-Origin"), "https://a.example");
  EXPECT_EQ(response.get("Access-Control-Max-Age"), "0");
  EXPECT_EQ(response.get("Access-Control-Expose-Headers"), "X-Exposed");
  EXPECT_FALSE(response.has("Access-Control-Allow-Credentials"));

  // Wildcards with credentials echo what was asked.
  auto w = make({.allowCredentials = true,
                 .allowHeaders = {"*"},
                 .allowMethods = {"*"},
                 .exposeHeaders = {"*"}});
  http::Headers echoed;
  w.preflight(request, echoed, arena);
  EXPECT_EQ(echoed.get("Access-Control-Allow-Headers"), "X-One, X-Two");
  EXPECT_EQ(echoed.get("Access-Control-Allow-Methods"), "PATCH");
  EXPECT_EQ(echoed.get("Access-Control-Allow-Credentials"), "true");
  EXPECT_FALSE(echoed.has("Access-Control-Expose-Headers"));
  EXPECT_FALSE(echoed.has("Access-Control-Max-Age"));
}

TEST(CorsTest, VaryHeader) {
  Arena arena;
  auto c = make({.allowOriginList = {"*"}, .addVaryHeader = true});
  http::Headers a;
  c.decorate("https://x", a, arena);
  EXPECT_EQ(a.get("Access-Control-Allow-Origin"), "*");
  EXPECT_EQ(a.get("Vary"), "Origin");
  http::Headers b;
  b.add("Vary", "Accept-Encoding");
  c.decorate("https://x", b, arena);
  EXPECT_EQ(b.get("Vary"), "Accept-Encoding,Origin");
  http::Headers d;
  d.add("Vary", "Origin");
  c.decorate("https://x", d, arena);
  EXPECT_EQ(d.count("Vary"), 1u);
  EXPECT_EQ(d.get("Vary"), "Origin");
}

}  // namespace
}  // namespace causeway::middleware
