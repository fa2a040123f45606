// HTTP/1.1 request-head parser: one test per docs/security.md §2 row that a parser decides
// (S01–S52), plus valid requests of every shape and incremental feeding.
#include <gtest/gtest.h>

#include <string>

#include "h1_test_util.h"
#include "http/h1/request_parser.h"

namespace causeway::http::h1 {
namespace {

using namespace std::string_literals;

using test::expectIncrementalAgrees;
using test::post;
using test::requestStatus;

RequestHead parseOk(std::string_view input, const Limits& limits = {}) {
  RequestHead head;
  ParseError error;
  ParseStatus s = parseRequestHead(input, limits, head, error);
  EXPECT_EQ(s, ParseStatus::Complete) << error.status << " " << error.reason << " for "
                                      << testing::PrintToString(std::string(input));
  return head;
}

// ---------------------------------------------------------------------------------------
// Valid requests

TEST(H1Request, SimpleGet) {
  std::string in = "GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\n"
                   "Accept: */*\r\n\r\n";
  RequestHead h = parseOk(in);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.target, "/index.html?x=1");
  EXPECT_EQ(h.uri.path, "/index.html");
  EXPECT_EQ(h.uri.query, "x=1");
  EXPECT_TRUE(h.uri.hasQuery);
  EXPECT_EQ(h.uri.form, TargetForm::Origin);
  EXPECT_EQ(h.versionMinor, 1);
  ASSERT_EQ(h.headers.size(), 3u);
  EXPECT_EQ(h.headers[1].name, "User-Agent");
  EXPECT_EQ(h.headers[1].value, "curl/8.0");
  EXPECT_EQ(h.framing, Framing::None);
  EXPECT_TRUE(h.keepAlive);
  EXPECT_FALSE(h.expectContinue);
  EXPECT_FALSE(h.upgrade);
  EXPECT_EQ(h.host, "example.com");
  EXPECT_EQ(h.authority.host, "example.com");
  EXPECT_EQ(h.authority.port, "");
  EXPECT_EQ(h.headBytes, in.size());
}

TEST(H1Request, ValueOwsTrimmedAndEmptyValue) {
  RequestHead h =
      parseOk("GET / HTTP/1.1\r\nHost:a:8080\r\nX-A: \t v  w \t \r\nX-Empty:\r\nX-Sp:   \r\n\r\n");
  EXPECT_EQ(h.headers.get("X-A"), "v  w");
  EXPECT_TRUE(h.headers.has("X-Empty"));
  EXPECT_EQ(h.headers.get("X-Empty"), "");
  EXPECT_EQ(h.headers.get("X-Sp"), "");
  EXPECT_EQ(h.authority.host, "a");
  EXPECT_EQ(h.authority.port, "8080");
}

TEST(H1Request, ObsTextAllowedInValues) {
  RequestHead h = parseOk("GET / HTTP/1.1\r\nHost: a\r\nX-Name: caf\xc3\xa9\r\n\r\n");
  EXPECT_EQ(h.headers.get("x-name"), "caf\xc3\xa9");
}

TEST(H1Request, Http10DefaultsAndKeepAlive) {
  RequestHead h = parseOk("GET / HTTP/1.0\r\n\r\n");
  EXPECT_EQ(h.versionMinor, 0);
  EXPECT_FALSE(h.keepAlive);
  EXPECT_EQ(h.host, "");
  h = parseOk("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(h.keepAlive);
  EXPECT_EQ(h.host, "a");
}

TEST(H1Request, ConnectionClose) {
  EXPECT_FALSE(parseOk("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keepAlive);
  EXPECT_FALSE(parseOk("GET / HTTP/1.1\r\nHost: a\r\nConnection: foo, CLOSE\r\n\r\n").keepAlive);
  EXPECT_FALSE(
      parseOk("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n").keepAlive);
  EXPECT_TRUE(parseOk("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n").keepAlive);
}

TEST(H1Request, Upgrade) {
  RequestHead h = parseOk("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
                          "Upgrade: websocket\r\n\r\n");
  EXPECT_TRUE(h.upgrade);
  EXPECT_FALSE(parseOk("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n").upgrade);
  EXPECT_FALSE(parseOk("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n").upgrade);
}

TEST(H1Request, HigherMinorVersionProcessedAs11) {
  RequestHead h = parseOk("GET / HTTP/1.2\r\nHost: a\r\n\r\n");
  EXPECT_EQ(h.versionMinor, 1);
}

TEST(H1Request, ContentLengthBody) {
  std::string in = post("Content-Length: 5\r\n") + "hello";
  RequestHead h = parseOk(in);
  EXPECT_EQ(h.framing, Framing::ContentLength);
  EXPECT_EQ(h.contentLength, 5u);
  EXPECT_EQ(in.substr(h.headBytes), "hello");
  EXPECT_EQ(parseOk(post("Content-Length: 007\r\n")).contentLength, 7u);
  EXPECT_EQ(parseOk(post("Content-Length: 0\r\n")).framing, Framing::ContentLength);
}

TEST(H1Request, ChunkedBody) {
  RequestHead h = parseOk(post("Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n0\r\n\r\n");
  EXPECT_EQ(h.framing, Framing::Chunked);
}

TEST(H1Request, IncompleteHeads) {
  for (std::string_view in :
       {"", "G", "GET", "GET ", "GET /", "GET / HTTP/1.", "GET / HTTP/1.1", "GET / HTTP/1.1\r",
        "GET / HTTP/1.1\r\n", "GET / HTTP/1.1\r\nHost", "GET / HTTP/1.1\r\nHost: a",
        "GET / HTTP/1.1\r\nHost: a\r\n", "GET / HTTP/1.1\r\nHost: a\r\n\r", "\r", "\r\n"})
    EXPECT_EQ(requestStatus(in), -1) << testing::PrintToString(std::string(in));
}

TEST(H1Request, ReusesHeadObject) {
  RequestHead h;
  ParseError e;
  ASSERT_EQ(
      parseRequestHead(post("Content-Length: 3\r\nConnection: close\r\nX_Y: 1\r\n"), {}, h, e),
      ParseStatus::Complete);
  ASSERT_EQ(parseRequestHead("GET / HTTP/1.1\r\nHost: b\r\n\r\n", {}, h, e), ParseStatus::Complete);
  EXPECT_EQ(h.framing, Framing::None);
  EXPECT_EQ(h.contentLength, 0u);
  EXPECT_TRUE(h.keepAlive);
  EXPECT_FALSE(h.underscoreInNames);
  EXPECT_EQ(h.headers.size(), 1u);
  EXPECT_EQ(h.host, "b");
}

// ---------------------------------------------------------------------------------------
// §2a Framing

TEST(H1RequestS, S01_ContentLengthThenTransferEncoding) {
  EXPECT_EQ(requestStatus(post("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n")), 400);
}

TEST(H1RequestS, S02_TransferEncodingThenContentLength) {
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: chunked\r\nContent-Length: 6\r\n") +
                          "0\r\n\r\nGET /smuggled HTTP/1.1\r\n\r\n"),
            400);
  // Even with an unsupported coding, CL+TE is a 400 first.
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: gzip\r\nContent-Length: 6\r\n")), 400);
}

TEST(H1RequestS, S03_TwoDifferentContentLengths) {
  EXPECT_EQ(requestStatus(post("Content-Length: 5\r\nContent-Length: 6\r\n")), 400);
}

TEST(H1RequestS, S04_DuplicateEqualContentLengthRejected) {
  EXPECT_EQ(requestStatus(post("Content-Length: 5\r\nContent-Length: 5\r\n")), 400);
  EXPECT_EQ(requestStatus(post("Content-Length: 5, 5\r\n")), 400);
  EXPECT_EQ(requestStatus(post("content-length: 5\r\nCONTENT-LENGTH: 5\r\n")), 400);
}

TEST(H1RequestS, S05_ContentLengthSyntax) {
  for (std::string_view v : {"+5", "0x5", "-1", "5 5", "", "abc", "5a", "5.0", "1_0", "\xd9\xa5"}) {
    EXPECT_EQ(requestStatus(post("Content-Length: " + std::string(v) + "\r\n")), 400)
        << testing::PrintToString(std::string(v));
  }
}

TEST(H1RequestS, S06_ContentLengthOverflow) {
  EXPECT_EQ(requestStatus(post("Content-Length: 9223372036854775808\r\n")), 400);
  EXPECT_EQ(requestStatus(post("Content-Length: 18446744073709551616\r\n")), 400);
  EXPECT_EQ(requestStatus(post("Content-Length: 99999999999999999999999\r\n")), 400);
  EXPECT_EQ(requestStatus(post("Content-Length: 00000000000000000001\r\n")), 400);  // 20 digits
  EXPECT_EQ(parseOk(post("Content-Length: 9223372036854775807\r\n")).contentLength,
            9223372036854775807ull);
}

TEST(H1RequestS, S07_SpaceBeforeColon) {
  EXPECT_EQ(requestStatus(post("Transfer-Encoding : chunked\r\n")), 400);
  EXPECT_EQ(requestStatus(post("Content-Length\t: 5\r\n")), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400);
}

TEST(H1RequestS, S08_UnknownTransferCoding) {
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: xchunked\r\n")), 501);
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: chunk\r\n")), 501);
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: gzip\r\n")), 501);
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: identity\r\n")), 501);
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: gzip, chunked\r\n")), 501);
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: \"chunked\"\r\n")), 400);  // not a token
}

TEST(H1RequestS, S09_MalformedCodingList) {
  for (std::string_view v :
       {",chunked", "chunked,", "chunked, gzip", "chunked;a=b", "chunked ;a=b", "chunked,,chunked",
        "", " ", "chunked chunked", ", ", "chunked, xchunked"})
    EXPECT_EQ(requestStatus(post("Transfer-Encoding: " + std::string(v) + "\r\n")), 400)
        << testing::PrintToString(std::string(v));
}

TEST(H1RequestS, S10_ChunkedTwice) {
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")),
            400);
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: chunked, chunked\r\n")), 400);
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n")), 400);
}

TEST(H1RequestS, S11_CodingNameCaseInsensitive) {
  EXPECT_EQ(parseOk(post("Transfer-Encoding: CHUNKED\r\n")).framing, Framing::Chunked);
  EXPECT_EQ(parseOk(post("transfer-encoding: cHuNkEd\r\n")).framing, Framing::Chunked);
}

TEST(H1RequestS, S12_HtabOws) {
  EXPECT_EQ(parseOk(post("Transfer-Encoding:\tchunked\r\n")).framing, Framing::Chunked);
  EXPECT_EQ(parseOk(post("Transfer-Encoding: \t chunked \t\r\n")).framing, Framing::Chunked);
  EXPECT_EQ(parseOk(post("Content-Length:\t5\t\r\n")).contentLength, 5u);
}

TEST(H1RequestS, S13_InvalidOctetsInCoding) {
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: \x0b"
                               "chunked\r\n")),
            400);
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: chunked\x0c\r\n")), 400);
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: chunked\xff\r\n")), 400);
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: chunked\r\r\n")), 400);
  EXPECT_EQ(requestStatus(post("Transfer-Encoding: \xa0"
                               "chunked\r\n")),
            400);
}

TEST(H1RequestS, S14_ObsFold) {
  EXPECT_EQ(requestStatus(post("Transfer-Encoding:\r\n chunked\r\n")), 400);
  EXPECT_EQ(requestStatus(post("X-A: a\r\n\tb\r\n")), 400);
}

TEST(H1RequestS, S15_TransferEncodingOnHttp10) {
  EXPECT_EQ(requestStatus("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
}

TEST(H1RequestS, S24_GetWithContentLengthKeepsBody) {
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
  RequestHead h = parseOk(in);
  EXPECT_EQ(h.framing, Framing::ContentLength);
  EXPECT_EQ(h.contentLength, 3u);
  EXPECT_EQ(in.substr(h.headBytes), "abc");
}

TEST(H1RequestS, S25_Expect) {
  RequestHead h = parseOk(post("Expect: 100-continue\r\nContent-Length: 3\r\n"));
  EXPECT_TRUE(h.expectContinue);
  EXPECT_TRUE(parseOk(post("Expect: 100-Continue\r\n")).expectContinue);
  EXPECT_FALSE(parseOk(post("Expect:\r\n")).expectContinue);
  EXPECT_EQ(requestStatus(post("Expect: 100-continue-please\r\n")), 417);
  EXPECT_EQ(requestStatus(post("Expect: foo\r\n")), 417);
  // HTTP/1.0: 100-continue is ignored (RFC 9110 §10.1.1).
  EXPECT_FALSE(parseOk("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expectContinue);
}

TEST(H1RequestS, S26_PipelinedRequests) {
  std::string in = "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: b\r\n\r\n";
  RequestHead h = parseOk(in);
  EXPECT_EQ(h.target, "/a");
  std::string_view rest = std::string_view(in).substr(h.headBytes);
  RequestHead h2 = parseOk(rest);
  EXPECT_EQ(h2.target, "/b");
  EXPECT_EQ(h2.host, "b");
  EXPECT_EQ(h.headBytes + h2.headBytes, in.size());
  // A POST with a body followed by a GET.
  std::string in2 = post("Content-Length: 2\r\n") + "okGET /c HTTP/1.1\r\nHost: c\r\n\r\n";
  RequestHead p = parseOk(in2);
  RequestHead g = parseOk(std::string_view(in2).substr(p.headBytes + p.contentLength));
  EXPECT_EQ(g.target, "/c");
}

// ---------------------------------------------------------------------------------------
// §2b Start line and fields

TEST(H1RequestS, S30_BareLfLineEnds) {
  std::string in = "GET / HTTP/1.1\nHost: a\nX-A: b\n\n";
  RequestHead h = parseOk(in);
  EXPECT_EQ(h.headers.size(), 2u);
  EXPECT_EQ(h.headers.get("X-A"), "b");
  EXPECT_EQ(h.headBytes, in.size());
  EXPECT_EQ(parseOk("GET / HTTP/1.1\r\nHost: a\n\r\n").headers.size(), 1u);  // mixed
  EXPECT_EQ(parseOk("GET / HTTP/1.1\r\nHost: a\r\n\n").headers.size(), 1u);
}

TEST(H1RequestS, S31_BareCrInValue) {
  EXPECT_EQ(requestStatus(post("X-A: a\rb\r\n")), 400);
  EXPECT_EQ(requestStatus(post("X-A: a\r\rTransfer-Encoding: chunked\r\n")), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\n\rX"), 400);  // bare CR as blank line
}

TEST(H1RequestS, S32_NulInValue) {
  EXPECT_EQ(requestStatus(post("X-A: a\0b\r\n"s)), 400);
  EXPECT_EQ(requestStatus(post("X-A: \0\r\n"s)), 400);
}

TEST(H1RequestS, S33_OtherCtlsInValue) {
  for (int c = 1; c < 0x20; ++c) {
    if (c == '\t' || c == '\r' || c == '\n') continue;
    std::string field = "X-A: a";
    field += char(c);
    field += "b\r\n";
    EXPECT_EQ(requestStatus(post(field)), 400) << c;
  }
  EXPECT_EQ(requestStatus(post("X-A: a\x7f"
                               "b\r\n")),
            400);
  EXPECT_EQ(parseOk(post("X-A: a\tb\r\n")).headers.get("X-A"), "a\tb");  // HTAB is fine
}

TEST(H1RequestS, S34_InvalidFieldNames) {
  EXPECT_EQ(requestStatus(post("X A: b\r\n")), 400);
  EXPECT_EQ(requestStatus(post("X\0A: b\r\n"s)), 400);
  EXPECT_EQ(requestStatus(post("X\x80"
                               "A: b\r\n")),
            400);
  EXPECT_EQ(requestStatus(post("X\"A: b\r\n")), 400);
  EXPECT_EQ(requestStatus(post("X(A): b\r\n")), 400);
  EXPECT_EQ(requestStatus(post("X/A: b\r\n")), 400);
  EXPECT_EQ(requestStatus(post(": b\r\n")), 400);
  EXPECT_EQ(requestStatus(post("X\xa0: b\r\n")), 400);
  EXPECT_EQ(requestStatus(post("\x85X: b\r\n")), 400);
}

TEST(H1RequestS, S35_LineWithoutColon) {
  EXPECT_EQ(requestStatus(post("XA\r\n")), 400);
  EXPECT_EQ(requestStatus(post("XA\n")), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nXA"), -1);  // undecided until the line ends
}

TEST(H1RequestS, S36_LeadingWhitespaceOnFirstField) {
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\n\tHost: a\r\n\r\n"), 400);
}

TEST(H1RequestS, S37_UnderscoreNamesFlagged) {
  std::string in = post("X_Auth_User: admin\r\n");
  RequestHead h = parseOk(in);
  EXPECT_TRUE(h.underscoreInNames);
  EXPECT_EQ(h.headers.get("X_Auth_User"), "admin");
  EXPECT_FALSE(parseOk(post("X-Auth-User: admin\r\n")).underscoreInNames);
}

TEST(H1RequestS, S38_MissingHost) {
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET http://a/ HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.0\r\n\r\n"), 0);
}

TEST(H1RequestS, S39_TwoHosts) {
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
}

TEST(H1RequestS, S40_InvalidHostValues) {
  for (std::string_view host :
       {"",      "u@a",  "a/b",   "a:99999", "a:1:2",     "..a",    "a..b", "[::1",
        "a b",   "a\\b", "a:8x",  "a:-1",    "a:123456",  "[::1]x", "[zz]", "::1",
        "a%2eb", ".a",   "a,b@c", "[v1.x]",  "a\xc3\xa9", ":80"}) {
    EXPECT_EQ(requestStatus("GET / HTTP/1.1\r\nHost: " + std::string(host) + "\r\n\r\n"), 400)
        << testing::PrintToString(std::string(host));
  }
}

TEST(H1RequestS, S41_HostForms) {
  RequestHead h = parseOk("GET / HTTP/1.1\r\nHost: Example.COM.\r\n\r\n");
  EXPECT_EQ(h.host, "Example.COM.");
  std::string key;
  normalizeHost(h.authority.host, key);
  EXPECT_EQ(key, "example.com");
  h = parseOk("GET / HTTP/1.1\r\nHost: a:\r\n\r\n");
  EXPECT_EQ(h.authority.host, "a");
  EXPECT_EQ(h.authority.port, "");
  h = parseOk("GET / HTTP/1.1\r\nHost: a:80\r\n\r\n");
  EXPECT_EQ(h.authority.port, "80");
  h = parseOk("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n");
  EXPECT_EQ(h.authority.host, "[::1]");
  normalizeHost(h.authority.host, key);
  EXPECT_EQ(key, "::1");
}

TEST(H1RequestS, S42_AbsoluteFormWinsOverHost) {
  RequestHead h = parseOk("GET http://b/x?y HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(h.host, "b");
  EXPECT_EQ(h.authority.host, "b");
  EXPECT_EQ(h.uri.form, TargetForm::Absolute);
  EXPECT_EQ(h.uri.path, "/x");
  EXPECT_EQ(h.uri.query, "y");
  EXPECT_EQ(h.uri.absoluteScheme, "http");
  h = parseOk("GET HTTPS://B:8443 HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(h.host, "B:8443");
  EXPECT_EQ(h.authority.port, "8443");
  EXPECT_EQ(h.uri.path, "/");
  // The Host field must still be valid.
  EXPECT_EQ(requestStatus("GET http://b/ HTTP/1.1\r\nHost: u@a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET http://u@b/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET ftp://b/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

TEST(H1RequestS, S43_FragmentInTarget) {
  EXPECT_EQ(requestStatus("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET /a?b#frag HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET http://a/#x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET # HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

TEST(H1RequestS, S44_FormMethodPairing) {
  EXPECT_EQ(requestStatus("GET a HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("OPTIONS */x HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET a:80 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET example.com:443 HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("CONNECT /path HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("CONNECT a HTTP/1.1\r\nHost: a\r\n\r\n"), 400);  // port required
  RequestHead h = parseOk("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(h.uri.form, TargetForm::Asterisk);
  EXPECT_EQ(h.uri.path, "*");
  h = parseOk("CONNECT b:443 HTTP/1.1\r\nHost: b:443\r\n\r\n");
  EXPECT_EQ(h.uri.form, TargetForm::Authority);
  EXPECT_EQ(h.host, "b:443");
  EXPECT_EQ(h.authority.port, "443");
}

TEST(H1RequestS, S45_InvalidTargetBytes) {
  for (std::string_view t : {"/a%", "/a%1", "/a%zz", "/a%g0", "/\x01", "/\x7f",
                             "/\x80", "/caf\xc3\xa9", "/a\tb", "/a?b=\x01"}) {
    EXPECT_EQ(requestStatus("GET " + std::string(t) + " HTTP/1.1\r\nHost: a\r\n\r\n"), 400)
        << testing::PrintToString(std::string(t));
  }
  EXPECT_EQ(parseOk("GET /a%2F%2e?q=%41 HTTP/1.1\r\nHost: a\r\n\r\n").uri.path, "/a%2F%2e");
  // Query escapes are not validated (Go and browsers send "?q=100%"); decoding is lazy.
  EXPECT_EQ(parseOk("GET /a?b=% HTTP/1.1\r\nHost: a\r\n\r\n").uri.query, "b=%");
  EXPECT_EQ(parseOk("GET /a?%1x HTTP/1.1\r\nHost: a\r\n\r\n").uri.query, "%1x");
  EXPECT_EQ(parseOk("GET /a\"{|}^`\\ HTTP/1.1\r\nHost: a\r\n\r\n").uri.path, "/a\"{|}^`\\");
}

TEST(H1RequestS, S46_RequestLineSeparators) {
  EXPECT_EQ(requestStatus("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET /\tHTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
}

TEST(H1RequestS, S47_Versions) {
  auto line = [](std::string_view v) { return "GET / " + std::string(v) + "\r\nHost: a\r\n\r\n"; };
  EXPECT_EQ(requestStatus(line("HTTP/1.10")), 400);
  EXPECT_EQ(requestStatus(line("HTTP/1.1x")), 400);
  EXPECT_EQ(requestStatus(line("http/1.1")), 400);
  EXPECT_EQ(requestStatus(line("HTTP/1")), 400);
  EXPECT_EQ(requestStatus(line("HTTP/11")), 400);
  EXPECT_EQ(requestStatus(line("HTTP/1.")), 400);
  EXPECT_EQ(requestStatus(line("HTTPS/1.1")), 400);
  EXPECT_EQ(requestStatus(line("HTTP/2.0")), 505);
  EXPECT_EQ(requestStatus(line("HTTP/3.0")), 505);
  EXPECT_EQ(requestStatus(line("HTTP/0.9")), 505);
  EXPECT_EQ(requestStatus("GET /\r\n\r\n"), 400);  // HTTP/0.9 request
  EXPECT_EQ(requestStatus("GET\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505);
}

TEST(H1RequestS, S48_MethodsPassedAsIs) {
  EXPECT_EQ(parseOk("get / HTTP/1.1\r\nHost: a\r\n\r\n").method, "get");
  EXPECT_EQ(parseOk("FOO / HTTP/1.1\r\nHost: a\r\n\r\n").method, "FOO");
  EXPECT_EQ(parseOk("M-SEARCH / HTTP/1.1\r\nHost: a\r\n\r\n").method, "M-SEARCH");
  EXPECT_EQ(requestStatus("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("G\x80T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

TEST(H1RequestS, S49_RequestLineTooLong) {
  std::string longTarget = "/" + std::string(16 * 1024, 'a');
  EXPECT_EQ(requestStatus("GET " + longTarget + " HTTP/1.1\r\nHost: a\r\n\r\n"), 414);
  // Decided before the line ends.
  EXPECT_EQ(requestStatus("GET " + longTarget), 414);
  // Exactly at the limit is fine; one more byte is not.
  Limits limits;
  limits.maxRequestLine = 32;
  std::string line = "GET /" + std::string(32 - 14, 'b') + " HTTP/1.1";
  ASSERT_EQ(line.size(), 32u);
  EXPECT_EQ(requestStatus(line + "\r\nHost: a\r\n\r\n", limits), 0);
  EXPECT_EQ(requestStatus(line + "\nHost: a\r\n\r\n", limits), 0);
  EXPECT_EQ(requestStatus(line + "\r", limits), -1);
  EXPECT_EQ(requestStatus("GET /b" + line.substr(5) + "\r\nHost: a\r\n\r\n", limits), 414);
  expectIncrementalAgrees(line + "\r\nHost: a\r\n\r\n", limits);
  expectIncrementalAgrees("GET /b" + line.substr(5) + "\r\nHost: a\r\n\r\n", limits);
}

TEST(H1RequestS, S50_HeadTooLarge) {
  Limits limits;
  limits.maxHeadBytes = 32 * 1024;
  std::string big = "X-Big: " + std::string(64 * 1024, 'x') + "\r\n";
  EXPECT_EQ(requestStatus(post(big), limits), 431);
  EXPECT_EQ(requestStatus(post(big).substr(0, 40000), limits), 431);  // before the line ends
  // Default limit: 1 MiB.
  std::string huge = "X-Big: " + std::string(1100 * 1024, 'x') + "\r\n";
  EXPECT_EQ(requestStatus(post(huge)), 431);
  // Exactly maxHeadBytes is accepted.
  std::string in = post("X-A: b\r\n");
  limits.maxHeadBytes = in.size();
  EXPECT_EQ(requestStatus(in, limits), 0);
  limits.maxHeadBytes = in.size() - 1;
  EXPECT_EQ(requestStatus(in, limits), 431);
  EXPECT_EQ(requestStatus(in.substr(0, in.size() - 1), limits), -1);
}

TEST(H1RequestS, S51_TooManyFields) {
  std::string fields;
  for (int i = 0; i < 200; ++i)
    fields += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(requestStatus(post(fields)), 431);
  std::string ninetyNine;
  for (int i = 0; i < 99; ++i)
    ninetyNine += "X-" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(requestStatus(post(ninetyNine)), 0);  // + Host = 100 fields
  EXPECT_EQ(requestStatus(post(ninetyNine + "X-100: v\r\n")), 431);
}

TEST(H1RequestS, S52_EmptyLinesBeforeRequestLine) {
  std::string in = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  RequestHead h = parseOk(in);
  EXPECT_EQ(h.method, "GET");
  EXPECT_EQ(h.headBytes, in.size());
  EXPECT_EQ(parseOk("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").method, "GET");
  std::string eight;
  for (int i = 0; i < 8; ++i)
    eight += "\r\n";
  EXPECT_EQ(requestStatus(eight + "GET / HTTP/1.1\r\nHost: a\r\n\r\n"), 0);
  EXPECT_EQ(requestStatus(eight + "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
  EXPECT_EQ(requestStatus("\r\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
}

// The vectorised scanners (16 bytes per step) must find a byte at any offset.
TEST(H1Request, ScannersAtEveryOffset) {
  for (size_t length = 1; length <= 40; ++length) {
    for (size_t at = 0; at < length; ++at) {
      std::string name(length, 'a');
      name[at] = '_';
      std::string in = post(name + ": v\r\n");
      RequestHead h = parseOk(in);
      EXPECT_TRUE(h.underscoreInNames) << length << " " << at;
      EXPECT_EQ(h.headers.get(name), "v");
      name[at] = ' ';
      EXPECT_EQ(requestStatus(post(name + ": v\r\n")), 400) << length << " " << at;
      std::string value(length, 'x');
      value[at] = '\x01';
      EXPECT_EQ(requestStatus(post("X: " + value + "\r\n")), 400) << length << " " << at;
      value[at] = '\t';
      std::string expected = value;
      while (!expected.empty() && expected.back() == '\t')
        expected.pop_back();
      size_t first = expected.find_first_not_of('\t');
      expected = first == std::string::npos ? "" : expected.substr(first);
      EXPECT_EQ(parseOk(post("X: " + value + "\r\n")).headers.get("X"), expected);
      std::string target = "/" + std::string(length, 'p');
      target[at] = '#';
      EXPECT_EQ(requestStatus("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
      target[at] = '%';
      EXPECT_EQ(requestStatus("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n"), 400);  // "%pp"
      target.replace(at, 1, "%41");
      EXPECT_EQ(requestStatus("GET " + target + " HTTP/1.1\r\nHost: a\r\n\r\n"), at == 0 ? 400 : 0)
          << target;
    }
  }
}

// ---------------------------------------------------------------------------------------
// Incremental feeding: every prefix is Incomplete or the one-shot answer.

TEST(H1Request, IncrementalAgreesWithOneShot) {
  const std::string cases[] = {
      "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
      "\r\n\nGET /x?y HTTP/1.1\nHost: a\nX: 1\n\nBODY",
      post("Transfer-Encoding: chunked\r\n") + "5\r\nhello\r\n0\r\n\r\n",
      post("Content-Length: 5\r\nContent-Length: 5\r\n"),
      post("X A: b\r\n"),
      post("X-A: a\rb\r\n"),
      post("Transfer-Encoding: gzip\r\n"),
      post("Expect: nope\r\n"),
      "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\n\tfold\r\n\r\n",
      "GET http://b:81/p HTTP/1.1\r\nHost: a\r\n\r\n",
      "OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
      "GET /%zz HTTP/1.1\r\nHost: a\r\n\r\n",
      "\r\r",
      "GET / HTTP/1.1\r\nHost: a\r\n\r\r",
      "GET / HTTP/1.1\r\nHost: \r\n\r\n",
      "GET /a/very/long/path/that/spans/several/vectors?and=a&query=string HTTP/1.1\r\n"
      "Host: example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n"
      "Accept-Language-With-A-Long-Name: en-US,en;q=0.9\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: a\r\nX-Long-Header-Name-Here: 0123456789abcdef0123\x01x\r\n\r\n",
  };
  for (const std::string& in : cases)
    expectIncrementalAgrees(in);
  Limits small;
  small.maxHeadBytes = 40;
  small.maxRequestLine = 20;
  small.maxHeaderCount = 2;
  for (const std::string& in : cases)
    expectIncrementalAgrees(in, small);
}

}  // namespace
}  // namespace causeway::http::h1
