// Helpers shared by the HTTP/1.1 codec tests.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "http/h1/request_parser.h"
#include "http/h1/response_parser.h"

namespace causeway::http::h1::test {

// 0 = Complete, -1 = Incomplete, otherwise the error status.
inline int requestStatus(std::string_view input, const Limits& limits = {}) {
  RequestHead head;
  ParseError error;
  switch (parseRequestHead(input, limits, head, error)) {
  case ParseStatus::Complete:
    return 0;
  case ParseStatus::Incomplete:
    return -1;
  case ParseStatus::Error:
    return error.status;
  }
  return -2;
}

inline int responseStatus(std::string_view input, std::string_view method = "GET",
                          const Limits& limits = {}) {
  ResponseHead head;
  ParseError error;
  switch (parseResponseHead(input, method, limits, head, error)) {
  case ParseStatus::Complete:
    return 0;
  case ParseStatus::Incomplete:
    return -1;
  case ParseStatus::Error:
    return error.status;
  }
  return -2;
}

// Every prefix of `input` must parse as Incomplete or as the one-shot answer, and the first
// prefix that is not Incomplete must give exactly the one-shot result (status, reason, bytes).
inline void expectIncrementalAgrees(std::string_view input, const Limits& limits = {}) {
  RequestHead whole;
  ParseError wholeError;
  ParseStatus wholeStatus = parseRequestHead(input, limits, whole, wholeError);
  RequestHead part;
  ParseError partError;
  for (size_t n = 0; n <= input.size(); ++n) {
    ParseStatus s = parseRequestHead(input.substr(0, n), limits, part, partError);
    if (s == ParseStatus::Incomplete) continue;
    ASSERT_EQ(s, wholeStatus) << "prefix " << n << " of "
                              << testing::PrintToString(std::string(input));
    if (s == ParseStatus::Error) {
      EXPECT_EQ(partError.status, wholeError.status);
      EXPECT_EQ(partError.reason, wholeError.reason);
    } else {
      EXPECT_EQ(part.headBytes, whole.headBytes);
      EXPECT_EQ(part.headers.size(), whole.headers.size());
      EXPECT_EQ(part.framing, whole.framing);
      EXPECT_EQ(part.host, whole.host);
    }
    return;
  }
  EXPECT_EQ(wholeStatus, ParseStatus::Incomplete);
}

inline void expectResponseIncrementalAgrees(std::string_view input, std::string_view method = "GET",
                                            const Limits& limits = {}) {
  ResponseHead whole;
  ParseError wholeError;
  ParseStatus wholeStatus = parseResponseHead(input, method, limits, whole, wholeError);
  ResponseHead part;
  ParseError partError;
  for (size_t n = 0; n <= input.size(); ++n) {
    ParseStatus s = parseResponseHead(input.substr(0, n), method, limits, part, partError);
    if (s == ParseStatus::Incomplete) continue;
    ASSERT_EQ(s, wholeStatus) << "prefix " << n;
    if (s == ParseStatus::Error) {
      EXPECT_EQ(partError.reason, wholeError.reason);
    } else {
      EXPECT_EQ(part.headBytes, whole.headBytes);
      EXPECT_EQ(part.framing, whole.framing);
    }
    return;
  }
  EXPECT_EQ(wholeStatus, ParseStatus::Incomplete);
}

// A request with the given field lines (each ending in CRLF) after "POST / HTTP/1.1".
inline std::string post(std::string_view fields) {
  return "POST / HTTP/1.1\r\nHost: a\r\n" + std::string(fields) + "\r\n";
}

}  // namespace causeway::http::h1::test
