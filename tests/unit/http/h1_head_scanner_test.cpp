// HeadScanner: linear-time "is it worth parsing yet" checks.
#include <gtest/gtest.h>

#include <string>

#include "http/h1/head_scanner.h"
#include "http/h1/request_parser.h"

namespace causeway::http::h1 {
namespace {

// Feeds `input` one byte at a time; returns the length at which ready() first said true
// (0 = never).
size_t readyAt(std::string_view input, const Limits& limits = {}) {
  HeadScanner scanner;
  for (size_t n = 1; n <= input.size(); ++n)
    if (scanner.ready(input.substr(0, n), limits)) return n;
  return 0;
}

TEST(HeadScanner, ReadyAtBlankLine) {
  std::string in = "GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY";
  EXPECT_EQ(readyAt(in), in.size() - 4);
  std::string lf = "GET / HTTP/1.1\nHost: a\n\nBODY";
  EXPECT_EQ(readyAt(lf), lf.size() - 4);
  std::string leading = "\r\n\nGET / HTTP/1.1\r\n\r\n";
  EXPECT_EQ(readyAt(leading), leading.size());
  EXPECT_EQ(readyAt("GET / HTTP/1.1\r\nHost: a\r\n"), 0u);
}

TEST(HeadScanner, ReadyWhenLimitsExceeded) {
  Limits limits;
  limits.maxRequestLine = 10;
  EXPECT_EQ(readyAt("GET /aaaaaaaaaaaaaa", limits), 11u);
  limits = {};
  limits.maxHeadBytes = 30;
  EXPECT_EQ(readyAt("GET / HTTP/1.1\r\nX: " + std::string(40, 'x'), limits), 31u);
  limits = {};
  limits.maxHeaderCount = 2;
  std::string in = "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n";
  EXPECT_EQ(readyAt(in, limits), in.size());
  RequestHead head;
  ParseError error;
  EXPECT_EQ(parseRequestHead(in, limits, head, error), ParseStatus::Error);
  EXPECT_EQ(error.status, 431);
  EXPECT_NE(readyAt(std::string(20, '\n') + "GET"), 0u);
}

TEST(HeadScanner, WholeBufferAtOnceAndReset) {
  HeadScanner scanner;
  EXPECT_TRUE(scanner.ready("GET / HTTP/1.1\r\nHost: a\r\n\r\n", {}));
  scanner.reset();
  EXPECT_FALSE(scanner.ready("GET / HTTP/1.1\r\n", {}));
  EXPECT_TRUE(scanner.ready("GET / HTTP/1.1\r\nHost: a\r\n\r\n", {}));
}

}  // namespace
}  // namespace causeway::http::h1
