// The v3 matchers, positive and negative (Traefik pkg/muxer/http/matcher.go semantics).

#include <atomic>
#include <gtest/gtest.h>
#include <thread>

#include "router/rule.h"
#include "rule_test_support.h"

namespace causeway::router {
namespace {

using testing::compileOk;
using testing::host;
using testing::matches;
using testing::path;
using testing::Request;

TEST(HostMatcherTest, ExactHostIgnoringCase) {
  EXPECT_TRUE(matches("Host(`example.com`)", host("example.com")));
  EXPECT_TRUE(matches("Host(`EXAMPLE.com`)", host("example.com")));
  EXPECT_FALSE(matches("Host(`example.com`)", host("example.org")));
  EXPECT_FALSE(matches("Host(`example.com`)", host("www.example.com")));
  EXPECT_FALSE(matches("Host(`example.com`)", host("")));
}

TEST(HostMatcherTest, TrailingDotInTheRuleIsIgnored) {
  EXPECT_TRUE(matches("Host(`example.com.`)", host("example.com")));
  EXPECT_TRUE(matches("Host(`localhost.`)", host("localhost")));
}

TEST(HostMatcherTest, IpLiteralsAndPunycode) {
  EXPECT_TRUE(matches("Host(`127.0.0.1`)", host("127.0.0.1")));
  EXPECT_TRUE(matches("Host(`10::10`)", host("10::10")));
  EXPECT_TRUE(matches("Host(`xn--9t9h.com`)", host("xn--9t9h.com")));
}

TEST(HostMatcherTest, OneLabelWildcard) {
  const char* rule = "Host(`*.example.com`)";
  EXPECT_TRUE(matches(rule, host("a.example.com")));
  EXPECT_TRUE(matches(rule, host("api-1.example.com")));
  EXPECT_FALSE(matches(rule, host("a.b.example.com")));
  EXPECT_FALSE(matches(rule, host("example.com")));
  EXPECT_FALSE(matches(rule, host("a.example.org")));
  EXPECT_FALSE(matches(rule, host("")));
  EXPECT_TRUE(matches("Host(`*.EXAMPLE.com.`)", host("a.example.com")));
}

TEST(HostMatcherTest, StarMatchesEveryRequestEvenWithoutHost) {
  EXPECT_TRUE(matches("Host(`*`)", host("example.com")));
  EXPECT_TRUE(matches("Host(`*`)", host("")));
  EXPECT_FALSE(matches("!Host(`*`)", host("")));
}

TEST(HostMatcherTest, StarDotMatchesSingleLabelHosts) {
  // Go's DomainMatchHostExpression with the expression "*" (from "*." minus its dot).
  EXPECT_TRUE(matches("Host(`*.`)", host("localhost")));
  EXPECT_FALSE(matches("Host(`*.`)", host("a.b")));
  EXPECT_FALSE(matches("Host(`*.`)", host("")));
}

TEST(HostRegexpMatcherTest, UnanchoredOnTheLowerCasedHost) {
  EXPECT_TRUE(matches(R"(HostRegexp(`^[a-z]+\.example\.com$`))", host("api.example.com")));
  EXPECT_FALSE(matches(R"(HostRegexp(`^[a-z]+\.example\.com$`))", host("example.com")));
  EXPECT_TRUE(matches("HostRegexp(`example`)", host("www.example.com")));
  EXPECT_FALSE(matches("HostRegexp(`^EXAMPLE`)", host("example.com")));
  EXPECT_TRUE(matches("HostRegexp(`(?i)^EXAMPLE`)", host("example.com")));
  EXPECT_FALSE(matches(R"(HostRegexp(`^[a-z]+\.traefik\.com$`))", host("")));
}

TEST(HostRegexpMatcherTest, GoNamedGroupSpelling) {
  const char* rule = R"(HostRegexp(`^(?<sub>[a-z]+)\.example\.com$`))";
  EXPECT_TRUE(matches(rule, host("api.example.com")));
  EXPECT_FALSE(matches(rule, host("1.example.com")));
  // Inside a class "(?<" stays literal.
  EXPECT_TRUE(matches("HostRegexp(`^[(?<]x$`)", host("<x")));
  EXPECT_FALSE(matches("HostRegexp(`^[(?<]x$`)", host("px")));
}

TEST(HostRegexpMatcherTest, RegexpMatchingTheEmptyStringMatchesEveryHost) {
  // Traefik also tries the regexp on the (empty) CNAME-flattened host.
  EXPECT_TRUE(matches("HostRegexp(`^$`)", host("example.com")));
  EXPECT_TRUE(matches("HostRegexp(`.*`)", host("")));
}

TEST(PathMatcherTest, ExactRoutingPath) {
  EXPECT_TRUE(matches("Path(`/css`)", path("/css")));
  EXPECT_FALSE(matches("Path(`/css`)", path("/css/")));
  EXPECT_FALSE(matches("Path(`/css`)", path("/css/main.css")));
  EXPECT_FALSE(matches("Path(`/css`)", path("/CSS")));
  EXPECT_TRUE(matches("Path(`/`)", path("/")));
}

TEST(PathMatcherTest, ComparesTheRoutingPathAsIs) {
  // The caller decodes unreserved characters and keeps reserved ones encoded.
  EXPECT_TRUE(matches("Path(`/foo bar`)", path("/foo bar")));
  EXPECT_TRUE(matches("Path(`/foo%2Fbar`)", path("/foo%2Fbar")));
  EXPECT_FALSE(matches("Path(`/foo/bar`)", path("/foo%2Fbar")));
}

TEST(PathPrefixMatcherTest, PlainStringPrefix) {
  EXPECT_TRUE(matches("PathPrefix(`/products`)", path("/products")));
  EXPECT_TRUE(matches("PathPrefix(`/products`)", path("/products/1")));
  EXPECT_TRUE(matches("PathPrefix(`/products`)", path("/products-for-sale")));
  EXPECT_FALSE(matches("PathPrefix(`/products`)", path("/product")));
  EXPECT_FALSE(matches("PathPrefix(`/products/`)", path("/products")));
  EXPECT_TRUE(matches("PathPrefix(`/`)", path("/anything")));
  EXPECT_TRUE(matches("PathPrefix(`/foo bar`)", path("/foo bar/x")));
}

TEST(PathRegexpMatcherTest, UnanchoredRegexpOnTheRoutingPath) {
  EXPECT_TRUE(matches("PathRegexp(`^/api/v[0-9]+/`)", path("/api/v2/users")));
  EXPECT_FALSE(matches("PathRegexp(`^/api/v[0-9]+/`)", path("/api/vx/users")));
  EXPECT_TRUE(matches("PathRegexp(`v1`)", path("/x/v1/y")));
  EXPECT_TRUE(matches(R"(PathRegexp(`\.(jpeg|jpg|png)$`))", path("/img/a.png")));
  EXPECT_FALSE(matches(R"(PathRegexp(`\.(jpeg|jpg|png)$`))", path("/img/a.gif")));
}

TEST(MethodMatcherTest, UpperCasedArgumentExactRequestMethod) {
  EXPECT_TRUE(matches("Method(`GET`)", Request().withMethod("GET")));
  EXPECT_TRUE(matches("Method(`get`)", Request().withMethod("GET")));
  EXPECT_FALSE(matches("Method(`GET`)", Request().withMethod("get")));
  EXPECT_FALSE(matches("Method(`GET`)", Request().withMethod("POST")));
  EXPECT_TRUE(matches("Method(`PURGE`)", Request().withMethod("PURGE")));
}

TEST(HeaderMatcherTest, AnyFieldWithTheExactValue) {
  const char* rule = "Header(`X-Forwarded-Proto`, `https`)";
  EXPECT_TRUE(matches(rule, Request().withHeader("X-Forwarded-Proto", "https")));
  EXPECT_TRUE(matches(rule, Request().withHeader("x-forwarded-proto", "https")));
  EXPECT_TRUE(matches("Header(`x-forwarded-proto`, `https`)",
                      Request().withHeader("X-Forwarded-Proto", "https")));
  EXPECT_TRUE(matches(
      rule,
      Request().withHeader("X-Forwarded-Proto", "http").withHeader("X-Forwarded-Proto", "https")));
  EXPECT_FALSE(matches(rule, Request().withHeader("X-Forwarded-Proto", "http, https")));
  EXPECT_FALSE(matches(rule, Request().withHeader("X-Forwarded-Proto", "HTTPS")));
  EXPECT_FALSE(matches(rule, Request().withHeader("X-Forwarded-Host", "https")));
  EXPECT_FALSE(matches(rule, Request()));
}

TEST(HeaderMatcherTest, HostFieldIsNotAHeader) {
  // Go moves Host out of the header map.
  EXPECT_FALSE(matches("Header(`Host`, `a.com`)", Request().withHeader("Host", "a.com")));
  EXPECT_FALSE(matches("HeaderRegexp(`host`, `.`)", Request().withHeader("Host", "a.com")));
}

TEST(HeaderMatcherTest, NoHeaderListNeverMatches) {
  auto rule = compileOk("Header(`X`, `1`) || HeaderRegexp(`X`, `.`)");
  ASSERT_TRUE(rule);
  MatchInput input;
  EXPECT_FALSE(rule->matches(input));
}

TEST(HeaderRegexpMatcherTest, AnyFieldValueMatches) {
  const char* rule = "HeaderRegexp(`X-Forwarded-Proto`, `^https?$`)";
  EXPECT_TRUE(matches(rule, Request().withHeader("X-Forwarded-Proto", "http")));
  EXPECT_TRUE(matches(rule, Request().withHeader("x-forwarded-proto", "https")));
  EXPECT_TRUE(matches(
      rule,
      Request().withHeader("X-Forwarded-Proto", "ws").withHeader("X-Forwarded-Proto", "https")));
  EXPECT_FALSE(matches(rule, Request().withHeader("X-Forwarded-Proto", "HTTPS")));
  EXPECT_FALSE(matches(rule, Request().withHeader("X-Other", "http")));
  EXPECT_TRUE(matches("HeaderRegexp(`Content-Type`, `json`)",
                      Request().withHeader("Content-Type", "application/json; charset=utf-8")));
}

TEST(QueryMatcherTest, KeyWithValue) {
  const char* rule = "Query(`mobile`, `true`)";
  EXPECT_TRUE(matches(rule, Request().withQuery("mobile=true")));
  EXPECT_TRUE(matches(rule, Request().withQuery("a=1&mobile=true&b")));
  EXPECT_TRUE(matches(rule, Request().withQuery("mobile=false&mobile=true")));
  EXPECT_FALSE(matches(rule, Request().withQuery("mobile=false")));
  EXPECT_FALSE(matches(rule, Request().withQuery("Mobile=true")));
  EXPECT_FALSE(matches(rule, Request().withQuery("mobile")));
  EXPECT_FALSE(matches(rule, Request().withQuery("")));
  EXPECT_TRUE(matches("Query(`k`, `a=b`)", Request().withQuery("k=a=b")));
}

TEST(QueryMatcherTest, DecodesLikeGoParseQuery) {
  const char* rule = "Query(`mobile`, `true`)";
  EXPECT_TRUE(matches(rule, Request().withQuery("mobile=tru%65")));
  EXPECT_TRUE(matches(rule, Request().withQuery("mo%62ile=true")));
  EXPECT_TRUE(matches("Query(`q`, `a b`)", Request().withQuery("q=a+b")));
  EXPECT_TRUE(matches("Query(`q`, `a b`)", Request().withQuery("q=a%20b")));
  EXPECT_TRUE(matches("Query(`q`, `a+b`)", Request().withQuery("q=a%2Bb")));
  EXPECT_FALSE(matches("Query(`q`, `a+b`)", Request().withQuery("q=a+b")));
  // A pair holding ';' or an invalid escape is dropped; the rest still counts.
  EXPECT_FALSE(matches(rule, Request().withQuery("mobile=true;x=1")));
  EXPECT_FALSE(matches(rule, Request().withQuery("x=1;mobile=true")));
  EXPECT_TRUE(matches(rule, Request().withQuery("x=1;y&mobile=true")));
  EXPECT_FALSE(matches(rule, Request().withQuery("mobile=true%")));
  EXPECT_FALSE(matches(rule, Request().withQuery("mobile=true%zz")));
  EXPECT_TRUE(matches(rule, Request().withQuery("mobile=%zz&mobile=true")));
  EXPECT_FALSE(matches(rule, Request().withQuery("mo%zbile=true")));
}

TEST(QueryMatcherTest, SingleArgumentMeansPresentWithEmptyValue) {
  const char* rule = "Query(`mobile`)";
  EXPECT_TRUE(matches(rule, Request().withQuery("mobile")));
  EXPECT_TRUE(matches(rule, Request().withQuery("mobile=")));
  EXPECT_TRUE(matches(rule, Request().withQuery("mobile=1&mobile")));
  EXPECT_FALSE(matches(rule, Request().withQuery("mobile=1")));
  EXPECT_FALSE(matches(rule, Request().withQuery("")));
  EXPECT_FALSE(matches(rule, Request().withQuery("mobiles")));
}

TEST(QueryRegexpMatcherTest, AnyValueOfTheKeyMatches) {
  const char* rule = "QueryRegexp(`id`, `^[0-9]+$`)";
  EXPECT_TRUE(matches(rule, Request().withQuery("id=42")));
  EXPECT_TRUE(matches(rule, Request().withQuery("id=x&id=7")));
  EXPECT_TRUE(matches(rule, Request().withQuery("id=%34%32")));
  EXPECT_FALSE(matches(rule, Request().withQuery("id=x")));
  EXPECT_FALSE(matches(rule, Request().withQuery("id")));
  EXPECT_FALSE(matches(rule, Request().withQuery("ID=42")));
  EXPECT_TRUE(matches("QueryRegexp(`q`, `a b`)", Request().withQuery("q=xa+by")));
}

TEST(QueryRegexpMatcherTest, SingleArgumentIsQuery) {
  EXPECT_TRUE(matches("QueryRegexp(`debug`)", Request().withQuery("debug")));
  EXPECT_FALSE(matches("QueryRegexp(`debug`)", Request().withQuery("debug=1")));
}

TEST(ModelMatcherTest, GlobsOnTheBodysModel) {
  EXPECT_TRUE(matches("Model(`gpt-4o`)", Request().withModel("gpt-4o")));
  EXPECT_FALSE(matches("Model(`gpt-4o`)", Request().withModel("gpt-4o-mini")));
  EXPECT_TRUE(matches("Model(`gpt-4*`)", Request().withModel("gpt-4o-mini")));
  EXPECT_TRUE(matches("Model(`*sonnet*`)", Request().withModel("claude-3-5-sonnet-latest")));
  EXPECT_FALSE(matches("Model(`claude-*`)", Request().withModel("gpt-4o")));
  EXPECT_FALSE(matches("Model(`*`)", Request()));  // no model: no match
  EXPECT_TRUE(compileOk("Model(`a`) && Path(`/v1/chat/completions`)")->usesModel());
  EXPECT_FALSE(compileOk("Path(`/v1/chat/completions`)")->usesModel());
  EXPECT_TRUE(testing::compileError("Model(``)"));
}

TEST(ClientIpMatcherTest, AddressesAndNetworks) {
  EXPECT_TRUE(matches("ClientIP(`192.168.1.0/24`)", Request().withClientIp("192.168.1.7")));
  EXPECT_FALSE(matches("ClientIP(`192.168.1.0/24`)", Request().withClientIp("192.168.2.1")));
  EXPECT_TRUE(matches("ClientIP(`10.0.0.1`)", Request().withClientIp("10.0.0.1")));
  EXPECT_FALSE(matches("ClientIP(`10.0.0.1`)", Request().withClientIp("10.0.0.2")));
  EXPECT_TRUE(matches("ClientIP(`2001:db8::/32`)", Request().withClientIp("2001:db8:1::5")));
  EXPECT_FALSE(matches("ClientIP(`2001:db8::/32`)", Request().withClientIp("2001:db9::5")));
  EXPECT_TRUE(matches("ClientIP(`::1`)", Request().withClientIp("::1")));
  EXPECT_FALSE(matches("ClientIP(`::1`)", Request().withClientIp("127.0.0.1")));
  EXPECT_FALSE(matches("ClientIP(`10.0.0.0/8`)", Request()));
}

TEST(ClientIpMatcherTest, NeverReadsForwardedHeaders) {
  Request request = Request().withClientIp("203.0.113.9").withHeader("X-Forwarded-For", "10.0.0.1");
  EXPECT_FALSE(matches("ClientIP(`10.0.0.0/8`)", request));
  EXPECT_TRUE(matches("ClientIP(`203.0.113.0/24`)", request));
}

TEST(CombinedRuleTest, TypicalRouterRules) {
  const char* rule = "Host(`api.example.com`) && PathPrefix(`/v1`) && Method(`POST`) && "
                     "Header(`Content-Type`, `application/json`)";
  Request request = host("api.example.com")
                        .withPath("/v1/orders")
                        .withMethod("POST")
                        .withHeader("Content-Type", "application/json");
  EXPECT_TRUE(matches(rule, request));
  request.method = "GET";
  EXPECT_FALSE(matches(rule, request));
}

TEST(CompiledRuleTest, SharedAcrossThreadsIsSafeToMatch) {
  auto rule = compileOk("HostRegexp(`^a`) && QueryRegexp(`x`, `^[0-9]+$`)");
  ASSERT_TRUE(rule);
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::atomic<int> hits{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Request request = host("abc").withQuery("x=%31%32");
      testing::BoundRequest bound(request);
      for (int i = 0; i < 2000; ++i)
        hits += rule->matches(bound.input());
    });
  }
  for (auto& thread : threads)
    thread.join();
  EXPECT_EQ(hits.load(), 8000);
}

} // namespace
} // namespace causeway::router
