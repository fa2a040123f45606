// HTTP/1.1 response-head parser: framing decisions and the R08 rows (upstream framing
// errors become 502 and the upstream connection is dropped).
#include <gtest/gtest.h>

#include <string>

#include "h1_test_util.h"
#include "http/h1/response_parser.h"

namespace causeway::http::h1 {
namespace {

using namespace std::string_literals;

using test::expectResponseIncrementalAgrees;
using test::responseStatus;

ResponseHead parseOk(std::string_view input, std::string_view method = "GET") {
  ResponseHead head;
  ParseError error;
  ParseStatus s = parseResponseHead(input, method, {}, head, error);
  EXPECT_EQ(s, ParseStatus::Complete)
      << error.reason << " for " << testing::PrintToString(std::string(input));
  return head;
}

TEST(H1Response, ContentLength) {
  std::string in = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello";
  ResponseHead h = parseOk(in);
  EXPECT_EQ(h.versionMinor, 1);
  EXPECT_EQ(h.status, 200);
  EXPECT_EQ(h.reason, "OK");
  EXPECT_EQ(h.framing, Framing::ContentLength);
  EXPECT_EQ(h.contentLength, 5u);
  EXPECT_TRUE(h.keepAlive);
  EXPECT_EQ(h.headers.size(), 2u);
  EXPECT_EQ(in.substr(h.headBytes), "hello");
}

TEST(H1Response, Chunked) {
  ResponseHead h = parseOk("HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n");
  EXPECT_EQ(h.framing, Framing::Chunked);
  EXPECT_TRUE(h.keepAlive);
}

TEST(H1Response, UntilClose) {
  ResponseHead h = parseOk("HTTP/1.1 200 OK\r\n\r\n");
  EXPECT_EQ(h.framing, Framing::UntilClose);
  EXPECT_FALSE(h.keepAlive);
}

TEST(H1Response, NoBodyStatusesAndMethods) {
  EXPECT_EQ(parseOk("HTTP/1.1 204 No Content\r\n\r\n").framing, Framing::None);
  EXPECT_EQ(parseOk("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n").framing,
            Framing::None);
  EXPECT_EQ(parseOk("HTTP/1.1 100 Continue\r\n\r\n").framing, Framing::None);
  EXPECT_EQ(parseOk("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n").framing, Framing::None);
  ResponseHead h = parseOk("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\n\r\n");
  EXPECT_EQ(h.framing, Framing::None);
  h = parseOk("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", "HEAD");
  EXPECT_EQ(h.framing, Framing::None);
  EXPECT_EQ(h.contentLength, 100u);
  EXPECT_TRUE(h.keepAlive);
  EXPECT_EQ(parseOk("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "HEAD").framing,
            Framing::None);
  EXPECT_EQ(parseOk("HTTP/1.1 200 Connection established\r\n\r\n", "CONNECT").framing,
            Framing::None);
  EXPECT_EQ(parseOk("HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n", "CONNECT").framing,
            Framing::ContentLength);
}

TEST(H1Response, KeepAlive) {
  EXPECT_FALSE(
      parseOk("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").keepAlive);
  EXPECT_FALSE(parseOk("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keepAlive);
  EXPECT_TRUE(
      parseOk("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").keepAlive);
}

TEST(H1Response, StatusLineForms) {
  EXPECT_EQ(parseOk("HTTP/1.1 200\r\n\r\n").reason, "");
  EXPECT_EQ(parseOk("HTTP/1.1 200 \r\n\r\n").reason, "");
  EXPECT_EQ(parseOk("HTTP/1.1 404 Not  Found\t!\r\n\r\n").reason, "Not  Found\t!");
  EXPECT_EQ(parseOk("HTTP/1.1 599 x\r\n\r\n").status, 599);
  EXPECT_EQ(parseOk("HTTP/1.1 200 OK\nContent-Length: 0\n\n").framing, Framing::ContentLength);
  EXPECT_EQ(parseOk("HTTP/1.2 200 OK\r\n\r\n").versionMinor, 1);
}

TEST(H1Response, BadStatusLines) {
  for (std::string_view in :
       {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/1.1 099 x\r\n\r\n", "HTTP/2 200 OK\r\n\r\n", "HTTP/2.0 200 OK\r\n\r\n",
        "ICY 200 OK\r\n\r\n", "HTTP/1.1  200 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n",
        "HTTP/1.1 200 O\x01K\r\n\r\n", "HTTP/1.1 200 OK\rX\r\n\r\n", "http/1.1 200 OK\r\n\r\n",
        "HTTP/1.1\t200 OK\r\n\r\n", "\r\nHTTP/1.1 200 OK\r\n\r\n"})
    EXPECT_EQ(responseStatus(in), 502) << testing::PrintToString(std::string(in));
}

// R08: upstream framing errors.
TEST(H1ResponseR08, ContentLengthAndTransferEncoding) {
  EXPECT_EQ(
      responseStatus("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
      502);
  EXPECT_EQ(
      responseStatus("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
      502);
}

TEST(H1ResponseR08, ContentLengthValues) {
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
            502);
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 05\r\n\r\n"),
            502);
  ResponseHead h = parseOk("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(h.contentLength, 5u);  // identical duplicates merged, as Go does
  for (std::string_view v : {"", "-1", "+1", "0x10", "1 1", "5, 5", "99999999999999999999"})
    EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nContent-Length: " + std::string(v) + "\r\n\r\n"),
              502)
        << v;
}

TEST(H1ResponseR08, TransferEncodings) {
  for (std::string_view v : {"gzip", "gzip, chunked", "chunked, gzip", "chunked, chunked",
                             ",chunked", "chunked;x=1", "identity", ""})
    EXPECT_EQ(
        responseStatus("HTTP/1.1 200 OK\r\nTransfer-Encoding: " + std::string(v) + "\r\n\r\n"), 502)
        << v;
  EXPECT_EQ(responseStatus("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), 502);
}

TEST(H1ResponseR08, FieldLineErrors) {
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\n\r\n"), 502);  // obs-fold
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n"), 502);     // CR
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nX-A: a\0b\r\n\r\n"s), 502);    // NUL
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nX-A: a\x7f\r\n\r\n"), 502);
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nX A: a\r\n\r\n"), 502);
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nXA\r\n\r\n"), 502);
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"), 502);
}

TEST(H1Response, Limits) {
  Limits limits;
  limits.maxHeaderCount = 3;
  EXPECT_EQ(
      responseStatus("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", "GET", limits),
      502);
  limits = {};
  limits.maxHeadBytes = 64;
  EXPECT_EQ(
      responseStatus("HTTP/1.1 200 OK\r\nX: " + std::string(100, 'x') + "\r\n\r\n", "GET", limits),
      502);
  limits = {};
  limits.maxRequestLine = 20;
  EXPECT_EQ(responseStatus("HTTP/1.1 200 " + std::string(30, 'x') + "\r\n\r\n", "GET", limits),
            502);
  EXPECT_EQ(responseStatus("HTTP/1.1 200 OK\r\n\r\n", "GET", limits), 0);
}

TEST(H1Response, Incomplete) {
  for (std::string_view in :
       {"", "H", "HTTP/1.1", "HTTP/1.1 ", "HTTP/1.1 20", "HTTP/1.1 200", "HTTP/1.1 200 OK",
        "HTTP/1.1 200 OK\r", "HTTP/1.1 200 OK\r\n", "HTTP/1.1 200 OK\r\nA: b\r\n\r"})
    EXPECT_EQ(responseStatus(in), -1) << testing::PrintToString(std::string(in));
}

TEST(H1Response, IncrementalAgreesWithOneShot) {
  for (std::string_view in :
       {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "HTTP/1.1 200\nA: b\n\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "HTTP/1.1 20x OK\r\n\r\n", "HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n"}) {
    expectResponseIncrementalAgrees(in);
    expectResponseIncrementalAgrees(in, "HEAD");
  }
}

}  // namespace
}  // namespace causeway::http::h1
