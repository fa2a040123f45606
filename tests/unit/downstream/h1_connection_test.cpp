// The HTTP/1.1 downstream codec, driven through a socket pair by byte strings: what reaches
// the handler and the exact bytes of what goes back.
#include <string>

#include "unit/downstream/codec_fixture.h"

namespace causeway::downstream::testing {
namespace {

size_t count(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

TEST_F(CodecTest, PipelinedRequestsAreAnsweredInOrder) {
  handler_->answer = "hi";
  std::string out = roundTrip(
      "GET /one?x=1 HTTP/1.1\r\nHost: Example.COM\r\n\r\n"
      "GET /two HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(handler_->seen.size(), 2u);
  EXPECT_EQ(handler_->seen[0].method, "GET");
  EXPECT_EQ(handler_->seen[0].path, "/one");
  EXPECT_EQ(handler_->seen[0].query, "x=1");
  EXPECT_EQ(handler_->seen[0].host, "example.com");  // routing form: lower-case
  EXPECT_EQ(handler_->seen[0].scheme, "http");
  EXPECT_EQ(handler_->seen[1].path, "/two");
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK\r\n"), 2u);
  EXPECT_EQ(count(out, "Content-Length: 2\r\n"), 2u);
  EXPECT_EQ(count(out, "X-Handled: yes\r\n"), 2u);
  EXPECT_TRUE(out.ends_with("\r\n\r\nhi")) << out;
  EXPECT_LT(out.find("hi"), out.rfind("HTTP/1.1 200"));  // the first answer comes first
}

TEST_F(CodecTest, ChunkedRequestBodyAndTrailersReachTheHandler) {
  std::string out = roundTrip(
      "POST /upload HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
      "5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Sum: 11\r\n\r\n");
  ASSERT_EQ(handler_->seen.size(), 1u);
  const Seen& s = handler_->seen[0];
  EXPECT_TRUE(s.hadBody);
  EXPECT_FALSE(s.bodyFailed);
  EXPECT_EQ(s.body, "hello world");
  ASSERT_EQ(s.trailers.size(), 1u);
  EXPECT_EQ(s.trailers[0].first, "X-Sum");
  EXPECT_EQ(s.trailers[0].second, "11");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\n")) << out;
}

TEST_F(CodecTest, FixedLengthBodyIsReadExactly) {
  std::string out = roundTrip(
      "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
      "GET /y HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  ASSERT_EQ(handler_->seen.size(), 2u);
  EXPECT_EQ(handler_->seen[0].body, "abc");
  EXPECT_EQ(handler_->seen[1].method, "GET");  // the body did not swallow the next request
  EXPECT_FALSE(handler_->seen[1].hadBody);
  EXPECT_EQ(count(out, "HTTP/1.1 200 OK\r\n"), 2u);
}

TEST_F(CodecTest, SmugglingAttemptIsRefusedBeforeTheHandler) {
  // Content-Length with Transfer-Encoding (docs/security.md, S01): 400 and close.
  std::string out = roundTrip(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_TRUE(handler_->seen.empty());
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400 Bad Request\r\n")) << out;
  EXPECT_EQ(count(out, "HTTP/1.1"), 1u);
}

TEST_F(CodecTest, ExpectContinueGetsAnInterimAnswer) {
  std::string out = roundTrip(
      "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nok");
  ASSERT_EQ(handler_->seen.size(), 1u);
  EXPECT_EQ(handler_->seen[0].body, "ok");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")) << out;
}

TEST_F(CodecTest, BodyOfUnknownLengthIsChunked) {
  handler_->unknownLength = true;
  handler_->answer = "abcdef";
  std::string out = roundTrip("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n")) << out;
}

TEST_F(CodecTest, HeadAnswerHasNoBody) {
  handler_->answer = "not sent";
  std::string out = roundTrip("HEAD / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(out.starts_with("HTTP/1.1 200 OK\r\n")) << out;
  EXPECT_NE(out.find("Content-Length: 8\r\n"), std::string::npos) << out;
  EXPECT_TRUE(out.ends_with("\r\n\r\n")) << out;
}

TEST_F(CodecTest, MissingHostIsRefused) {
  std::string out = roundTrip("GET / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(handler_->seen.empty());
  EXPECT_TRUE(out.starts_with("HTTP/1.1 400 Bad Request\r\n")) << out;
}

TEST_F(CodecTest, HttpOneZeroClosesAfterTheAnswer) {
  std::string out = roundTrip("GET /old HTTP/1.0\r\n\r\nGET /never HTTP/1.0\r\n\r\n");
  ASSERT_EQ(handler_->seen.size(), 1u);
  EXPECT_EQ(handler_->seen[0].path, "/old");
  EXPECT_TRUE(out.starts_with("HTTP/1.0 200 OK\r\n")) << out;
}

}  // namespace
}  // namespace causeway::downstream::testing
