// The deprecated v2 syntax (ruleSyntax: v2; Traefik matcher_v2.go on gorilla/mux).

#include <gtest/gtest.h>

#include "router/rule.h"
#include "rule_test_support.h"

namespace causeway::router {
namespace {

using testing::compileError;
using testing::host;
using testing::matchesV2;
using testing::path;
using testing::Request;

TEST(V2HostTest, AnyOfSeveralHosts) {
  const char* rule = "Host(`example.com`, `example.org`)";
  EXPECT_TRUE(matchesV2(rule, host("example.com")));
  EXPECT_TRUE(matchesV2(rule, host("example.org")));
  EXPECT_FALSE(matchesV2(rule, host("example.net")));
  EXPECT_FALSE(matchesV2(rule, host("")));
  EXPECT_TRUE(matchesV2("Host(`EXAMPLE.COM`)", host("example.com")));
  EXPECT_TRUE(matchesV2("Host(`example.com.`)", host("example.com")));
  EXPECT_TRUE(
      matchesV2("Host(`nope`,`localhost`) && PathPrefix(`/foo`)", host("nope").withPath("/foo")));
}

TEST(V2HostTest, HostHeaderIsHost) {
  EXPECT_TRUE(matchesV2("HostHeader(`localhost`)", host("localhost")));
  EXPECT_FALSE(matchesV2("HostHeader(`localhost`)", host("bar")));
}

TEST(V2HostTest, NoWildcardsInV2Host) {
  EXPECT_FALSE(matchesV2("Host(`*.example.com`)", host("a.example.com")));
  EXPECT_FALSE(matchesV2("Host(`*`)", host("a.example.com")));
  EXPECT_TRUE(matchesV2("Host(`*.example.com`)", host("*.example.com")));
}

TEST(V2HostRegexpTest, TemplatesWithPlaceholders) {
  const char* rule = "HostRegexp(`{sub:[a-z]+}.example.com`)";
  EXPECT_TRUE(matchesV2(rule, host("api.example.com")));
  EXPECT_FALSE(matchesV2(rule, host("api1.example.com")));
  EXPECT_FALSE(matchesV2(rule, host("a.b.example.com")));
  EXPECT_FALSE(matchesV2(rule, host("api.example.com.evil")));
  // {name} alone is one label.
  EXPECT_TRUE(matchesV2("HostRegexp(`{sub}.example.com`)", host("x-1.example.com")));
  EXPECT_FALSE(matchesV2("HostRegexp(`{sub}.example.com`)", host("a.b.example.com")));
  // Nested braces belong to the placeholder.
  EXPECT_TRUE(matchesV2("HostRegexp(`{id:[0-9]{3}}.example.com`)", host("123.example.com")));
  EXPECT_FALSE(matchesV2("HostRegexp(`{id:[0-9]{3}}.example.com`)", host("12.example.com")));
}

TEST(V2HostRegexpTest, LiteralTextIsQuotedAndAnchored) {
  // From Traefik's tests: outside placeholders the template is literal text.
  EXPECT_FALSE(matchesV2("HostRegexp(`(example.com`)", host("example.com")));
  EXPECT_FALSE(matchesV2(R"(HostRegexp(`^[A-Z]+\.com$`))", host("example.com")));
  EXPECT_TRUE(matchesV2("HostRegexp(`example.com`, `example.org`)", host("example.org")));
  EXPECT_FALSE(matchesV2("HostRegexp(`example.com`)", host("examplexcom")));
  EXPECT_FALSE(matchesV2("HostRegexp(`example.com`)", host("www.example.com")));
}

TEST(V2HostRegexpTest, IgnoresCase) {
  EXPECT_TRUE(matchesV2(R"(HostRegexp(`{domain:[a-zA-Z-]+\.com}`))", host("example.com")));
  EXPECT_TRUE(matchesV2(R"(HostRegexp(`{dummy:[A-Z-]+\.bar\.com}`))", host("foo.bar.com")));
  EXPECT_TRUE(matchesV2("HostRegexp(`FOO.bar.com`)", host("foo.bar.com")));
  EXPECT_TRUE(matchesV2(R"(HostRegexp(`{subdomain:(foo\.)?bar\.com}`))", host("bar.com")));
  EXPECT_TRUE(matchesV2(R"(HostRegexp(`{subdomain:(foo\.)?bar\.com}`))", host("foo.bar.com")));
  EXPECT_FALSE(matchesV2(R"(HostRegexp(`{subdomain:(foo\.)?bar\.com}`))", host("fooubar.com")));
}

TEST(V2PathTest, ExactPathsAndTemplates) {
  const char* rule = "Path(`/css`, `/js`)";
  EXPECT_TRUE(matchesV2(rule, path("/css")));
  EXPECT_TRUE(matchesV2(rule, path("/js")));
  EXPECT_FALSE(matchesV2(rule, path("/css/")));
  EXPECT_FALSE(matchesV2(rule, path("/js/main.js")));
  const char* withId = "Path(`/r/{id:[0-9]+}`)";
  EXPECT_TRUE(matchesV2(withId, path("/r/42")));
  EXPECT_FALSE(matchesV2(withId, path("/r/42/x")));
  EXPECT_FALSE(matchesV2(withId, path("/r/x")));
  EXPECT_TRUE(matchesV2("Path(`/users/{name}`)", path("/users/bob")));
  EXPECT_FALSE(matchesV2("Path(`/users/{name}`)", path("/users/bob/x")));
  EXPECT_FALSE(matchesV2("Path(`/users/{name}`)", path("/users/")));
  const char* optional = "Path(`/css{path:(/.*)?}`)";
  EXPECT_TRUE(matchesV2(optional, path("/css/main.css")));
  EXPECT_TRUE(matchesV2(optional, path("/css/components/component.css")));
  EXPECT_FALSE(matchesV2(optional, path("/css.css")));
  // Literal parts are not regexps.
  EXPECT_FALSE(matchesV2("Path(`/a.b/{x}`)", path("/axb/1")));
}

TEST(V2PathPrefixTest, PrefixesAndTemplates) {
  const char* rule = "PathPrefix(`/css`, `/js`)";
  EXPECT_TRUE(matchesV2(rule, path("/css/main.css")));
  EXPECT_TRUE(matchesV2(rule, path("/js/")));
  EXPECT_FALSE(matchesV2(rule, path("/html")));
  const char* tpl = "PathPrefix(`/css-{name:[0-9]?}`)";
  EXPECT_TRUE(matchesV2(tpl, path("/css-1/main.css")));
  EXPECT_TRUE(matchesV2(tpl, path("/css-222/main.css")));
  EXPECT_FALSE(matchesV2(tpl, path("/css.css")));
  EXPECT_TRUE(matchesV2("PathPrefix(`/api/{version}/`)", path("/api/v2/users")));
  EXPECT_FALSE(matchesV2("PathPrefix(`/api/{version}/`)", path("/api/v2")));
}

TEST(V2MethodTest, AnyOfSeveralMethods) {
  EXPECT_TRUE(matchesV2("Method(`GET`, `post`)", Request().withMethod("POST")));
  EXPECT_TRUE(matchesV2("Method(`GET`, `post`)", Request().withMethod("GET")));
  EXPECT_FALSE(matchesV2("Method(`GET`, `post`)", Request().withMethod("PUT")));
}

TEST(V2ClientIpTest, AnyOfSeveralNetworks) {
  const char* rule = "ClientIP(`10.0.0.0/8`, `::1`)";
  EXPECT_TRUE(matchesV2(rule, Request().withClientIp("10.1.2.3")));
  EXPECT_TRUE(matchesV2(rule, Request().withClientIp("::1")));
  EXPECT_FALSE(matchesV2(rule, Request().withClientIp("11.0.0.1")));
}

TEST(V2HeadersTest, NameValuePairsAllRequired) {
  const char* rule = "Headers(`X-Forwarded-Proto`, `https`)";
  EXPECT_TRUE(matchesV2(rule, Request().withHeader("X-Forwarded-Proto", "https")));
  EXPECT_TRUE(matchesV2(
      rule,
      Request().withHeader("X-Forwarded-Proto", "http").withHeader("X-Forwarded-Proto", "https")));
  EXPECT_FALSE(matchesV2(rule, Request().withHeader("X-Forwarded-Host", "example.com")));
  const char* two = "Headers(`A`, `1`, `B`, `2`)";
  EXPECT_TRUE(matchesV2(two, Request().withHeader("A", "1").withHeader("B", "2")));
  EXPECT_FALSE(matchesV2(two, Request().withHeader("A", "1")));
  // gorilla/mux keeps pairs in a map: a repeated name keeps its last value.
  const char* repeated = "Headers(`A`, `1`, `A`, `2`)";
  EXPECT_TRUE(matchesV2(repeated, Request().withHeader("A", "2")));
  EXPECT_FALSE(matchesV2(repeated, Request().withHeader("A", "1")));
}

TEST(V2HeadersRegexpTest, PlainGoRegexps) {
  const char* rule = "HeadersRegexp(`X-Forwarded-Proto`, `^https?$`)";
  EXPECT_TRUE(matchesV2(rule, Request().withHeader("X-Forwarded-Proto", "http")));
  EXPECT_FALSE(matchesV2(rule, Request().withHeader("X-Forwarded-Proto", "HTTPS")));
  // Not a template: "{secure:s?}" is literal text in a Go regexp.
  const char* literal = "HeadersRegexp(`X-Forwarded-Proto`, `http{secure:s?}`)";
  EXPECT_FALSE(matchesV2(literal, Request().withHeader("X-Forwarded-Proto", "https")));
  EXPECT_TRUE(matchesV2(literal, Request().withHeader("X-Forwarded-Proto", "http{secure:s}")));
  EXPECT_TRUE(matchesV2(literal, Request().withHeader("X-Forwarded-Proto", "http{secure:}")));
  EXPECT_TRUE(matchesV2("HeadersRegexp(`Content-Type`, `application/(text|json)`)",
                        Request().withHeader("Content-Type", "application/json")));
}

TEST(V2QueryTest, KeyValueTemplates) {
  const char* rule = "Query(`foo=bar`, `bar=baz`)";
  EXPECT_TRUE(matchesV2(rule, Request().withQuery("foo=bar&bar=baz")));
  EXPECT_FALSE(matchesV2(rule, Request().withQuery("bar=baz")));
  EXPECT_TRUE(matchesV2("Query(`foo=b=ar`)", Request().withQuery("foo=b=ar")));
  EXPECT_FALSE(matchesV2("Query(`foo=b=ar`)", Request().withQuery("foo=bar")));
  // Only the first value of the key counts.
  EXPECT_FALSE(matchesV2("Query(`a=2`)", Request().withQuery("a=1&a=2")));
  EXPECT_TRUE(matchesV2("Query(`a=1`)", Request().withQuery("a=1&a=2")));
  // Decoded like Go's ParseQuery.
  EXPECT_TRUE(matchesV2("Query(`q=a b`)", Request().withQuery("q=a+b")));
}

TEST(V2QueryTest, EmptyValueMeansAnyValueAndPlaceholdersWork) {
  EXPECT_TRUE(matchesV2("Query(`debug=`)", Request().withQuery("debug=1")));
  EXPECT_TRUE(matchesV2("Query(`debug=`)", Request().withQuery("debug")));
  EXPECT_FALSE(matchesV2("Query(`debug=`)", Request().withQuery("other=1")));
  EXPECT_TRUE(matchesV2("Query(`id={id:[0-9]+}`)", Request().withQuery("id=42")));
  EXPECT_FALSE(matchesV2("Query(`id={id:[0-9]+}`)", Request().withQuery("id=4x")));
  // Arguments are split at their first '=' and then taken two by two.
  EXPECT_TRUE(matchesV2("Query(`a`, `b`)", Request().withQuery("a=b")));
}

TEST(V2SyntaxTest, V3OnlyMatchersAreUnknownAndV2NamesTakeCaseVariants) {
  EXPECT_TRUE(compileError("QueryRegexp(`a`)", RuleSyntax::V2));
  EXPECT_TRUE(compileError("HeaderRegexp(`a`, `b`)", RuleSyntax::V2));
  EXPECT_TRUE(matchesV2("HEADERS(`A`, `1`) && headersregexp(`A`, `1`) && Hostheader(`h`)",
                        host("h").withHeader("A", "1")));
}

TEST(V2SyntaxTest, NotAndCombinations) {
  EXPECT_TRUE(matchesV2("!Host(`tchouk`)", host("test")));
  EXPECT_FALSE(matchesV2("!Host(`a`, `b`)", host("b")));
  EXPECT_TRUE(matchesV2(R"(Host("tchouk","pouet") && Path("/powpow", "/titi"))",
                        host("pouet").withPath("/titi")));
  EXPECT_FALSE(matchesV2(R"(Host("tchouk","pouet") && Path("/powpow", "/titi"))",
                         host("pouet").withPath("/toto")));
}

} // namespace
} // namespace causeway::router
