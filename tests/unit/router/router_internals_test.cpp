// Internal helpers: query-string decoding, gorilla/mux templates, Go regexp spelling.

#include <gtest/gtest.h>
#include <re2/re2.h>

#include "router/go_regexp.h"
#include "router/mux_template.h"
#include "router/query_string.h"

namespace causeway::router::detail {
namespace {

TEST(QueryStringTest, ValidEscapes) {
  EXPECT_TRUE(isValidQueryEscape(""));
  EXPECT_TRUE(isValidQueryEscape("a%20b+c"));
  EXPECT_TRUE(isValidQueryEscape("%41%4a%4A"));
  EXPECT_FALSE(isValidQueryEscape("%"));
  EXPECT_FALSE(isValidQueryEscape("a%2"));
  EXPECT_FALSE(isValidQueryEscape("%zz"));
  EXPECT_FALSE(isValidQueryEscape("%4g"));
}

TEST(QueryStringTest, DecodedComparison) {
  EXPECT_TRUE(queryUnescapedEquals("a+b", "a b"));
  EXPECT_TRUE(queryUnescapedEquals("a%2Bb", "a+b"));
  EXPECT_TRUE(queryUnescapedEquals("", ""));
  EXPECT_FALSE(queryUnescapedEquals("ab", "abc"));
  EXPECT_FALSE(queryUnescapedEquals("a%62c", "ab"));
  EXPECT_FALSE(queryUnescapedEquals("%zz", "%zz"));
  std::string out;
  appendQueryUnescaped("x%3D1+%26", out);
  EXPECT_EQ(out, "x=1 &");
}

TEST(QueryStringTest, PairsAsGoKeepsThem) {
  std::vector<std::pair<std::string, std::string>> pairs;
  forEachQueryPair("a=1&&b&c=&d;e=2&f=%zz&%zz=1&g=x=y", [&](auto key, auto value) {
    pairs.emplace_back(key, value);
    return false;
  });
  std::vector<std::pair<std::string, std::string>> expected = {
      {"a", "1"}, {"b", ""}, {"c", ""}, {"g", "x=y"}};
  EXPECT_EQ(pairs, expected);
}

TEST(MuxTemplateTest, BuildsGorillaPatterns) {
  std::string error;
  auto host = buildMuxTemplate("{sub}.example.com", MuxTemplateKind::Host, error);
  ASSERT_TRUE(host);
  EXPECT_EQ(host->pattern, R"((?i)^(?:[^.]+)\.example\.com$)");
  EXPECT_EQ(host->variables, std::vector<std::string>{"sub"});
  auto path = buildMuxTemplate("/r/{id:[0-9]{2,}}", MuxTemplateKind::PathPrefix, error);
  ASSERT_TRUE(path);
  EXPECT_EQ(path->pattern, R"(^\/r\/(?:[0-9]{2,}))");
  auto query = buildMuxTemplate("k=", MuxTemplateKind::Query, error);
  ASSERT_TRUE(query);
  EXPECT_EQ(query->pattern, R"(^k\=.*$)");
  EXPECT_FALSE(buildMuxTemplate("/{a", MuxTemplateKind::Path, error));
  EXPECT_FALSE(buildMuxTemplate("/a}", MuxTemplateKind::Path, error));
  EXPECT_FALSE(buildMuxTemplate("/{}", MuxTemplateKind::Path, error));
  EXPECT_FALSE(buildMuxTemplate("/{a:}", MuxTemplateKind::Path, error));
  EXPECT_TRUE(hasMuxPlaceholders("/{a}"));
  EXPECT_FALSE(hasMuxPlaceholders("/a"));
}

TEST(GoRegexTest, NamedGroupSpellingsAndErrors) {
  std::string error;
  auto named = compileGoRegex("^(?<year>[0-9]{4})$", error);
  ASSERT_TRUE(named) << error;
  EXPECT_TRUE(re2::RE2::PartialMatch("2024", *named));
  auto escaped = compileGoRegex(R"(\(?<x)", error);
  ASSERT_TRUE(escaped) << error;
  EXPECT_TRUE(re2::RE2::PartialMatch("(<x", *escaped));
  auto quoted = compileGoRegex(R"(\Q(?<a>\E)", error);
  ASSERT_TRUE(quoted) << error;
  EXPECT_TRUE(re2::RE2::PartialMatch("(?<a>", *quoted));
  auto posixClass = compileGoRegex("^[[:digit:](?<]+$", error);
  ASSERT_TRUE(posixClass) << error;
  EXPECT_FALSE(re2::RE2::PartialMatch("P", *posixClass));
  EXPECT_TRUE(re2::RE2::PartialMatch("1(?<", *posixClass));
  EXPECT_FALSE(compileGoRegex("(", error));
  EXPECT_FALSE(error.empty());
  EXPECT_TRUE(matchesEmpty(*compileGoRegex("^$", error)));
  EXPECT_FALSE(matchesEmpty(*compileGoRegex("^a", error)));
}

} // namespace
} // namespace causeway::router::detail
