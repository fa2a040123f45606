// Go's regexp MatchString / FindString / ReplaceAllString on RE2 (rewrite and redirect
// middlewares).
#include <gtest/gtest.h>

#include "router/go_regexp.h"

namespace causeway::router {
namespace {

std::unique_ptr<GoRegexp> re(std::string_view pattern) {
  std::string error;
  auto r = GoRegexp::compile(pattern, error);
  EXPECT_TRUE(r) << pattern << ": " << error;
  return r;
}

TEST(GoRegexpTest, ReplacementReferences) {
  auto r = re(R"(^http://localhost/(.*))");
  EXPECT_EQ(r->replaceAllString("http://localhost/foo", "https://example.com/${1}"),
            "https://example.com/foo");
  EXPECT_EQ(r->replaceAllString("http://localhost/foo", "https://example.com/$1"),
            "https://example.com/foo");
  // `$1x` names a group "1x", which does not exist: empty, as in Go.
  EXPECT_EQ(r->replaceAllString("http://localhost/foo", "/$1x"), "/");
  EXPECT_EQ(r->replaceAllString("http://localhost/foo", "/${1}x"), "/foox");
  EXPECT_EQ(r->replaceAllString("http://localhost/foo", "$$1"), "$1");
  EXPECT_EQ(r->replaceAllString("http://localhost/foo", "cost: $"),
            "cost: $");  // malformed: literal
  EXPECT_EQ(r->replaceAllString("http://localhost/foo", "${1"), "${1");
  EXPECT_EQ(r->replaceAllString("http://localhost/foo", "$9"), "");             // no such group
  EXPECT_EQ(r->replaceAllString("http://other/foo", "x"), "http://other/foo");  // no match
}

TEST(GoRegexpTest, NamedGroups) {
  auto r = re(R"(^/api/(?P<version>v\d+)/(?<rest>.*)$)");
  EXPECT_EQ(r->replaceAllString("/api/v2/users", "/${rest}?v=${version}"), "/users?v=v2");
  EXPECT_EQ(r->replaceAllString("/api/v2/users", "/$rest"), "/users");
}

TEST(GoRegexpTest, ReplaceAllAndEmptyMatches) {
  EXPECT_EQ(re("a")->replaceAllString("banana", "o"), "bonono");
  EXPECT_EQ(re("a*")->replaceAllString("baaac", "-"), "-b-c-");
  EXPECT_EQ(re("")->replaceAllString("abc", "-"), "-a-b-c-");
  EXPECT_EQ(re("^/foo")->replaceAllString("/foo/foo", "/bar"), "/bar/foo");  // ^ only at the start
  EXPECT_EQ(re("x*")->replaceAllString("\xc3\xa9", "-"), "-\xc3\xa9-");      // advances by rune
}

TEST(GoRegexpTest, MatchAndFind) {
  auto r = re("/foo/[a-z]+");
  EXPECT_TRUE(r->matchString("/x/foo/bar/y"));
  EXPECT_EQ(r->findString("/x/foo/bar/y"), "/foo/bar");
  EXPECT_FALSE(r->findString("/x"));
  std::string error;
  EXPECT_FALSE(GoRegexp::compile("(", error));
  EXPECT_FALSE(error.empty());
}

}  // namespace
}  // namespace causeway::router
