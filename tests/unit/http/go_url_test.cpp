// Go net/url behaviour used by the rewrite middlewares, and the re-normalization check.
#include <gtest/gtest.h>

#include "http/go_url.h"

namespace causeway::http::gourl {
namespace {

TEST(GoUrlTest, PathUnescape) {
  std::string out, error;
  EXPECT_TRUE(pathUnescape("/a%20b+c", out));
  EXPECT_EQ(out, "/a b+c");
  EXPECT_FALSE(pathUnescape("/a%zz", out, &error));
  EXPECT_EQ(error, "invalid URL escape \"%zz\"");
  EXPECT_FALSE(pathUnescape("/a%2", out, &error));
  EXPECT_EQ(error, "invalid URL escape \"%2\"");
}

TEST(GoUrlTest, EscapedPath) {
  EXPECT_EQ(escapePath("/a b/c?d"), "/a%20b/c%3Fd");
  EXPECT_EQ(escapePath("/a!b"), "/a%21b");
  EXPECT_EQ(escapedPath("/a!b", "/a!b"), "/a!b");      // a valid raw path is kept
  EXPECT_EQ(escapedPath("/a b", "/a b"), "/a%20b");    // not valid raw: re-escaped
  EXPECT_EQ(escapedPath("/a%2Fb", "/a/b"), "/a%2Fb");  // encoded slash kept
  EXPECT_EQ(escapedPath("/a%41", "/aA"), "/a%41");
}

TEST(GoUrlTest, EncodedPrefixLen) {
  EXPECT_EQ(encodedPrefixLen("/api/foo", "/api"), 4u);
  EXPECT_EQ(encodedPrefixLen("/a%20b/c", "/a b"), 6u);
  EXPECT_EQ(encodedPrefixLen("/api%2Ffoo", "/api/"), 7u);
  EXPECT_EQ(encodedPrefixLen("/ab", "/abcdef"), 3u);
}

TEST(GoUrlTest, Renormalize) {
  std::string out;
  EXPECT_TRUE(renormalize("/foo/bar", out));
  EXPECT_EQ(out, "/foo/bar");
  EXPECT_TRUE(renormalize("/foo/%7Ebar", out));  // unreserved decoded: same resource
  EXPECT_EQ(out, "/foo/~bar");
  EXPECT_TRUE(renormalize("/foo/", out));
  EXPECT_FALSE(renormalize("/../admin", out));
  EXPECT_FALSE(renormalize("/%2e%2e/admin", out));
  EXPECT_FALSE(renormalize("/a//b", out));
  EXPECT_FALSE(renormalize("/a/./b", out));
  EXPECT_FALSE(renormalize("/a/%00", out));
  EXPECT_FALSE(renormalize("/a%zz", out));
}

TEST(GoUrlTest, ParseAndString) {
  std::string error;
  auto u = parse("HTTPS://example.com:8443/a b?x=1#frag", error);
  ASSERT_TRUE(u) << error;
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->authority, "example.com:8443");
  EXPECT_EQ(u->string(), "https://example.com:8443/a%20b?x=1#frag");
  EXPECT_EQ(u->requestUri(), "/a%20b?x=1");
  auto q = parse("http://h/p?", error);
  ASSERT_TRUE(q);
  EXPECT_TRUE(q->forceQuery);
  EXPECT_EQ(q->requestUri(), "/p?");
  auto empty = parse("http://h", error);
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->requestUri(), "/");
  auto rel = parse("/relative/path", error);
  ASSERT_TRUE(rel);
  EXPECT_EQ(rel->string(), "/relative/path");
  EXPECT_FALSE(parse("http://h/\x01", error));
  EXPECT_FALSE(parse("://h/", error));
  EXPECT_EQ(error, "missing protocol scheme");
  EXPECT_FALSE(parse("http://h:port/", error));
  EXPECT_FALSE(parse("http://h/%zz", error));
  EXPECT_TRUE(parse("x/a:b", error));
  EXPECT_FALSE(parse("1a:b", error));  // a colon in the first segment of a relative path
  auto opaque = parse("mailto:someone@example.com", error);
  ASSERT_TRUE(opaque);
  EXPECT_TRUE(opaque->opaque);
  EXPECT_EQ(opaque->string(), "mailto:someone@example.com");
}

}  // namespace
}  // namespace causeway::http::gourl
