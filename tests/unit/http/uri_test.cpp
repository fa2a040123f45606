// URI helpers: authority (S40/S41), request-target forms (S42–S45), Traefik path
// normalisation (reliability T04, P01–P09), unescaping and encodedCharacters.
#include <gtest/gtest.h>

#include <string>

#include "http/uri.h"

namespace causeway::http {
namespace {

std::string norm(std::string_view path, bool sanitize = true) {
  std::string out;
  if (!normalizePath(path, sanitize, out)) return "<invalid>";
  return out;
}

// ---------------------------------------------------------------------------------------
// parseAuthority / normalizeHost

TEST(Authority, Valid) {
  struct Case {
    std::string_view text, host, port;
  } cases[] = {
      {"example.com", "example.com", ""},
      {"Example.COM.", "Example.COM.", ""},
      {"a:80", "a", "80"},
      {"a:", "a", ""},
      {"a:0", "a", "0"},
      {"a:65535", "a", "65535"},
      {"1.2.3.4:8080", "1.2.3.4", "8080"},
      {"[::1]", "[::1]", ""},
      {"[::1]:443", "[::1]", "443"},
      {"[2001:db8::ffff:1.2.3.4]", "[2001:db8::ffff:1.2.3.4]", ""},
      {"my_host-1.internal", "my_host-1.internal", ""},
      {"a~b", "a~b", ""},
      {"xn--bcher-kva.example", "xn--bcher-kva.example", ""},
  };
  for (const Case& c : cases) {
    auto a = parseAuthority(c.text);
    ASSERT_TRUE(a.has_value()) << c.text;
    EXPECT_EQ(a->host, c.host);
    EXPECT_EQ(a->port, c.port);
  }
}

TEST(Authority, S40_Invalid) {
  for (std::string_view text :
       {"",        "u@a",      "u:p@a", "a/b",       "a\\b",        "a:99999",
        "a:65536", "a:1:2",    "..a",   "a..b",      ".a",          "[::1",
        "[::1]x",  "[::1]:8x", "[]",    "[1.2.3.4]", "[v1.fe]",     "[fe80::1%25eth0]",
        "::1",     "a b",      "a\tb",  "a%2eb",     "a?b",         "a#b",
        ":80",     "a:+80",    "a:-1",  "a:123456",  "caf\xc3\xa9", "a\x01",
        "a\"b",    "a<b",      "[::1]]"})
    EXPECT_FALSE(parseAuthority(text).has_value()) << testing::PrintToString(std::string(text));
}

TEST(Authority, S41_NormalizeHost) {
  std::string out;
  normalizeHost("Example.COM.", out);
  EXPECT_EQ(out, "example.com");
  normalizeHost("Example.COM.:8080", out);  // a whole authority works too
  EXPECT_EQ(out, "example.com");
  normalizeHost("a:", out);
  EXPECT_EQ(out, "a");
  normalizeHost("[::1]", out);
  EXPECT_EQ(out, "::1");
  normalizeHost("[2001:DB8::1]:443", out);
  EXPECT_EQ(out, "2001:db8::1");
  normalizeHost("a..", out);  // only one dot is stripped (parseAuthority rejects this anyway)
  EXPECT_EQ(out, "a.");
  normalizeHost("", out);
  EXPECT_EQ(out, "");
}

// ---------------------------------------------------------------------------------------
// parseTarget

TEST(Target, OriginForm) {
  auto t = parseTarget("/a/b?c=d&e", "GET");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->form, TargetForm::Origin);
  EXPECT_EQ(t->path, "/a/b");
  EXPECT_EQ(t->query, "c=d&e");
  EXPECT_TRUE(t->hasQuery);
  t = parseTarget("/a?", "GET");
  EXPECT_TRUE(t->hasQuery);
  EXPECT_EQ(t->query, "");
  t = parseTarget("/a", "GET");
  EXPECT_FALSE(t->hasQuery);
  t = parseTarget("//evil.com/x", "GET");  // a path, not an authority
  EXPECT_EQ(t->path, "//evil.com/x");
  EXPECT_TRUE(t->absoluteAuthority.empty());
  t = parseTarget("/a?b?c/d", "GET");
  EXPECT_EQ(t->path, "/a");
  EXPECT_EQ(t->query, "b?c/d");
}

TEST(Target, S42_AbsoluteForm) {
  auto t = parseTarget("http://b/x?y", "GET");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->form, TargetForm::Absolute);
  EXPECT_EQ(t->absoluteScheme, "http");
  EXPECT_EQ(t->absoluteAuthority, "b");
  EXPECT_EQ(t->path, "/x");
  EXPECT_EQ(t->query, "y");
  t = parseTarget("HTTPS://b:8443", "GET");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->absoluteScheme, "HTTPS");
  EXPECT_EQ(t->absoluteAuthority, "b:8443");
  EXPECT_EQ(t->path, "/");
  t = parseTarget("http://b?q", "GET");
  EXPECT_EQ(t->path, "/");
  EXPECT_EQ(t->query, "q");
  t = parseTarget("http://[::1]:80/p", "POST");
  EXPECT_EQ(t->absoluteAuthority, "[::1]:80");
  EXPECT_EQ(parseTarget("http://b", "OPTIONS")->path, "*");  // RFC 9112 §3.2.4
  EXPECT_EQ(parseTarget("http://b?x", "OPTIONS")->path, "/");
  // Empty userinfo and host: the Host field routes (Go, Traefik's TestMuxer); any other
  // userinfo is refused.
  t = parseTarget("http://@/", "GET");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->form, TargetForm::Absolute);
  EXPECT_TRUE(t->absoluteAuthority.empty());
  EXPECT_EQ(t->path, "/");
  EXPECT_FALSE(parseTarget("http://@b/", "GET"));
  EXPECT_FALSE(parseTarget("http://u@/", "GET"));
  for (std::string_view bad :
       {"ftp://b/", "http:/b/", "http:b", "http://", "http:///x", "http://u@b/", "http://b:99999/",
        "ws://b/", "http://b/%zz", "http://b/\x80"})
    EXPECT_FALSE(parseTarget(bad, "GET")) << bad;
}

TEST(Target, S43_Fragment) {
  EXPECT_FALSE(parseTarget("/a#b", "GET"));
  EXPECT_FALSE(parseTarget("/a?b#c", "GET"));
  EXPECT_FALSE(parseTarget("http://a/#", "GET"));
  EXPECT_FALSE(parseTarget("http://a#/", "GET"));
}

TEST(Target, S44_FormsAndMethods) {
  EXPECT_FALSE(parseTarget("a", "GET"));
  EXPECT_FALSE(parseTarget("*", "GET"));
  EXPECT_FALSE(parseTarget("*/x", "OPTIONS"));
  EXPECT_FALSE(parseTarget("a:80", "GET"));
  EXPECT_FALSE(parseTarget("/path", "CONNECT"));
  EXPECT_FALSE(parseTarget("http://a/", "CONNECT"));
  EXPECT_FALSE(parseTarget("a", "CONNECT"));
  EXPECT_FALSE(parseTarget("a:", "CONNECT"));
  EXPECT_FALSE(parseTarget("", "GET"));
  auto t = parseTarget("*", "OPTIONS");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->form, TargetForm::Asterisk);
  EXPECT_EQ(t->path, "*");
  t = parseTarget("a.example:443", "CONNECT");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->form, TargetForm::Authority);
  EXPECT_EQ(t->absoluteAuthority, "a.example:443");
  EXPECT_EQ(t->path, "");
  EXPECT_TRUE(parseTarget("/x", "OPTIONS"));
}

TEST(Target, S45_Bytes) {
  for (std::string_view bad : {"/a%", "/a%1", "/a%zz", "/a%%41", "/a b", "/a\x01", "/a\x7f",
                               "/a\x80", "/a\xff", "/a?x y", "/a?x#y"})
    EXPECT_FALSE(parseTarget(bad, "GET")) << testing::PrintToString(std::string(bad));
  EXPECT_TRUE(parseTarget("/a%20b%2F%2f?x=%41", "GET"));
  // A stray '%' in the query is accepted, as Go, Traefik and browsers do.
  for (std::string_view ok : {"/a?%", "/a?x=%g1", "/a?q=100%", "/a?x=%2"})
    EXPECT_TRUE(parseTarget(ok, "GET")) << ok;
  EXPECT_TRUE(parseTarget("/a\"<>\\^`{|}", "GET"));
  EXPECT_TRUE(parseTarget("/!$&'()*+,;=:@-._~[]", "GET"));
}

// ---------------------------------------------------------------------------------------
// normalizePath (Traefik normalizePath + sanitizePath)

TEST(NormalizePath, TraefikExample) {
  EXPECT_EQ(norm("/./foo/../bar//"), "/bar/");
}

TEST(NormalizePath, SanitizeOffKeepsDotsButStillNormalisesEscapes) {
  EXPECT_EQ(norm("/./foo/../bar//", false), "/./foo/../bar//");
  EXPECT_EQ(norm("/%2e%2E/%41%7e%2f", false), "/../A~%2F");
}

TEST(NormalizePath, UnreservedDecodedOthersUppercased) {
  EXPECT_EQ(norm("/%41%42%63%30%2D%2e%5F%7E"), "/ABc0-._~");
  EXPECT_EQ(norm("/foo%20bar"), "/foo%20bar");
  EXPECT_EQ(norm("/a%2fb%5cc%3bd%3fe%23f%25g%e2%82%ac"), "/a%2Fb%5Cc%3Bd%3Fe%23f%25g%E2%82%AC");
  EXPECT_EQ(norm("/%7b%7D"), "/%7B%7D");
}

TEST(NormalizePath, RawBytesOutsidePcharAreEncoded) {
  EXPECT_EQ(norm("/a\"b"), "/a%22b");
  EXPECT_EQ(norm("/a\\b"), "/a%5Cb");
  EXPECT_EQ(norm("/{x}|^`<>"), "/%7Bx%7D%7C%5E%60%3C%3E");
  EXPECT_EQ(norm("/caf\xc3\xa9"), "/caf%C3%A9");
  EXPECT_EQ(norm("/a b?c#d"), "/a%20b%3Fc%23d");
  EXPECT_EQ(norm("/!$&'()*+,;=:@[]"), "/!$&'()*+,;=:@[]");
}

TEST(NormalizePath, DotSegmentsAndSlashes) {
  EXPECT_EQ(norm("/"), "/");
  EXPECT_EQ(norm(""), "/");
  EXPECT_EQ(norm("*"), "*");
  EXPECT_EQ(norm("/a/b/c"), "/a/b/c");
  EXPECT_EQ(norm("/a/b/"), "/a/b/");
  EXPECT_EQ(norm("/a/./b"), "/a/b");
  EXPECT_EQ(norm("/a/../b"), "/b");
  EXPECT_EQ(norm("/../../a"), "/a");  // never above the root
  EXPECT_EQ(norm("/.."), "/");
  EXPECT_EQ(norm("/a/.."), "/");
  EXPECT_EQ(norm("/a/b/.."), "/a");  // Go path.Clean: no trailing slash after ".."
  EXPECT_EQ(norm("/a/."), "/a");     // likewise after "."
  EXPECT_EQ(norm("/a/../"), "/");
  EXPECT_EQ(norm("/a/b/../"), "/a/");
  EXPECT_EQ(norm("///a////b///"), "/a/b/");
  EXPECT_EQ(norm("/a/.../b"), "/a/.../b");  // "..." is a name
  EXPECT_EQ(norm("/a/..b/.c"), "/a/..b/.c");
  EXPECT_EQ(norm("a/b"), "/a/b");  // relative input is rooted
  EXPECT_EQ(norm("./admin"), "/admin");
}

TEST(NormalizePath, InvalidEscapesAndNul) {
  for (std::string_view bad : {"/a%", "/a%1", "/a%zz", "/a%0g", "%", "/%00", "/a%00b"})
    EXPECT_EQ(norm(bad), "<invalid>") << bad;
}

// Path-normalisation rows of docs/security.md §5.
TEST(NormalizePathP, P01_DotDot) {
  EXPECT_EQ(norm("/public/../admin/x"), "/admin/x");
}

TEST(NormalizePathP, P02_EncodedDots) {
  EXPECT_EQ(norm("/public/%2e%2e/admin/x"), "/admin/x");
  EXPECT_EQ(norm("/public/%2E%2e/admin/x"), "/admin/x");
  EXPECT_EQ(norm("/public/.%2e/admin/x"), "/admin/x");
  EXPECT_EQ(norm("/public/%2e/admin/x"), "/public/admin/x");
}

TEST(NormalizePathP, P03_EncodedSlashesStayEncoded) {
  EXPECT_EQ(norm("/admin%2fx"), "/admin%2Fx");
  EXPECT_EQ(norm("/%2fadmin/x"), "/%2Fadmin/x");
  EXPECT_EQ(norm("/admin%5cx"), "/admin%5Cx");
  EXPECT_EQ(norm("/public/..%2fadmin"), "/public/..%2Fadmin");  // not a dot segment
  EXPECT_EQ(norm("/public/%2e%2e%2fadmin"), "/public/..%2Fadmin");
}

TEST(NormalizePathP, P04_SlashesAndDots) {
  EXPECT_EQ(norm("//admin/x"), "/admin/x");
  EXPECT_EQ(norm("/./admin/x"), "/admin/x");
  EXPECT_EQ(norm("/admin/./x"), "/admin/x");
}

TEST(NormalizePathP, P05_NulAndBadEscapesRejected) {
  EXPECT_EQ(norm("/admin%00/x"), "<invalid>");
  EXPECT_EQ(norm("/admin%"), "<invalid>");
  EXPECT_EQ(norm("/admin%zz"), "<invalid>");
}

TEST(NormalizePathP, P06_NoDoubleDecoding) {
  EXPECT_EQ(norm("/admin%252e%252e/x"), "/admin%252e%252e/x");
  EXPECT_EQ(norm("/public/%252e%252e/admin"), "/public/%252e%252e/admin");
  std::string once = norm("/a%2541");
  EXPECT_EQ(once, "/a%2541");
  EXPECT_EQ(norm(once), once);  // idempotent
}

TEST(NormalizePathP, P07_Parameters) {
  EXPECT_EQ(norm("/admin;x=y/secret"), "/admin;x=y/secret");  // literal, router = forwarded path
  EXPECT_EQ(norm("/public;/../admin"), "/admin");
  // "..;" is ".." to servlet containers: resolve it the same way before routing.
  EXPECT_EQ(norm("/public/..;/admin"), "/admin");
  EXPECT_EQ(norm("/public/..;jsessionid=1/admin"), "/admin");
  EXPECT_EQ(norm("/public/%2e%2e;/admin"), "/admin");
  EXPECT_EQ(norm("/a/.;x/b"), "/a/b");
  EXPECT_EQ(norm("/a/..x;/b"), "/a/..x;/b");
}

TEST(NormalizePathP, P08_CaseKept) {
  EXPECT_EQ(norm("/ADMIN/x"), "/ADMIN/x");
}

TEST(NormalizePathP, P09_RenormaliseAfterStripPrefix) {
  // StripPrefix(/api) on the normalised path, then normalise again, as the middleware must.
  for (std::string_view raw :
       {"/api%2e/admin", "/api/../admin", "/api/%2e%2e/admin", "/api/./admin"}) {
    std::string first = norm(raw);
    std::string_view rest = first;
    if (rest.starts_with("/api")) rest.remove_prefix(4);
    EXPECT_EQ(norm(rest), "/admin") << raw << " -> " << first;
  }
}

TEST(NormalizePath, Idempotent) {
  for (std::string_view p : {"/a/b/../c/./d//e/", "/%2e%2E/x%41/%7e/%2F/", "/a\"b/{c}/caf\xc3\xa9",
                             "/../..", "/a%25b%2541"}) {
    std::string once = norm(p);
    EXPECT_EQ(norm(once), once) << p;
  }
}

// ---------------------------------------------------------------------------------------
// Unescaping and encoded characters

TEST(Unescape, QueryAndPath) {
  std::string out;
  EXPECT_TRUE(queryUnescape("a+b%20c%2B%2f", out));
  EXPECT_EQ(out, "a b c+/");
  EXPECT_TRUE(pathUnescape("a+b%20c%2B%2f", out));
  EXPECT_EQ(out, "a+b c+/");
  EXPECT_TRUE(queryUnescape("", out));
  EXPECT_EQ(out, "");
  EXPECT_TRUE(pathUnescape("%00", out));
  EXPECT_EQ(out, std::string(1, '\0'));
  for (std::string_view bad : {"%", "%1", "%zz", "a%g1", "%%"}) {
    EXPECT_FALSE(queryUnescape(bad, out)) << bad;
    EXPECT_FALSE(pathUnescape(bad, out)) << bad;
  }
}

TEST(EncodedCharacters, Detection) {
  EncodedCharacters none = findEncodedCharacters("/a/b%20c%41");
  EXPECT_FALSE(none.any());
  EncodedCharacters all = findEncodedCharacters("/%2f%5C%00%3b%25%3F%23");
  EXPECT_TRUE(all.slash && all.backslash && all.nul && all.semicolon && all.percent &&
              all.questionMark && all.hash);
  EncodedCharacters e = findEncodedCharacters("/a%252F");
  EXPECT_TRUE(e.percent);
  EXPECT_FALSE(e.slash);
  EXPECT_TRUE(findEncodedCharacters("/x%2F").slash);
  EXPECT_FALSE(findEncodedCharacters("/x%2").slash);
  EXPECT_FALSE(findEncodedCharacters("/x2F;").semicolon);  // only encoded forms count
}

}  // namespace
}  // namespace causeway::http

namespace causeway::http {

TEST(RoutingPath, DecodesAllButReservedCharacters) {
  std::string out;
  EXPECT_FALSE(routingPath("/plain/path", out));
  EXPECT_TRUE(routingPath("/foo%20bar", out));
  EXPECT_EQ(out, "/foo bar");
  EXPECT_TRUE(routingPath("/caf%C3%A9/x%2Fy%3Bz%25", out));
  EXPECT_EQ(out, "/caf\xc3\xa9/x%2Fy%3Bz%25");
  EXPECT_FALSE(routingPath("/a%2Fb%3F", out));  // only reserved escapes: unchanged
}

TEST(QueryEscape, AsGo) {
  EXPECT_EQ(queryEscape("http://h/p?a=1&b=c d"), "http%3A%2F%2Fh%2Fp%3Fa%3D1%26b%3Dc+d");
  EXPECT_EQ(queryEscape("A-z_0.9~\xff"), "A-z_0.9~%FF");
}

}  // namespace causeway::http
