
#include <gtest/gtest.h>

#include "http/go_text.h"

namespace causeway::http {
namespace {

TEST(GoTextTest, CanonicalHeaderKeys) {
  EXPECT_EQ(canonicalHeaderKey("user-agent"), "User-Agent");
  EXPECT_EQ(canonicalHeaderKey("X-FORWARDED-FOR"), "X-Forwarded-For");
  EXPECT_EQ(canonicalHeaderKey("traceparent"), "Traceparent");
  EXPECT_EQ(canonicalHeaderKey("x_custom_header"), "X_custom_header");
  EXPECT_EQ(canonicalHeaderKey("bad header"), "bad header");
}

TEST(GoTextTest, StatusTexts) {
  EXPECT_EQ(reasonPhrase(404), "Not Found");
  EXPECT_EQ(reasonPhrase(499), "Client Closed Request");
  EXPECT_EQ(reasonPhrase(299), "");
  EXPECT_EQ(goStatusText(499), "");  // Go does not know 499
  EXPECT_EQ(goStatusText(423), "Locked");
  EXPECT_EQ(goStatusText(404), "Not Found");
}

}  // namespace
}  // namespace causeway::http
