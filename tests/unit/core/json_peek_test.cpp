// peekTopLevelString: a member of the top level only, found past nested values, decoded.
#include <gtest/gtest.h>

#include "core/json_peek.h"

namespace causeway {
namespace {

TEST(JsonPeekTest, FindsTheTopLevelMemberPastNestedValues) {
  std::string_view body = R"( { "messages": [{"role": "user", "content": "{\"model\": \"no\"}"}],
      "meta": {"model": "nested"}, "n": -1.5e3, "ok": true, "none": null, "model" : "gpt-4o" })";
  EXPECT_EQ(peekTopLevelString(body, "model"), "gpt-4o");
  EXPECT_EQ(peekTopLevelString(R"({"model":"a\u00e9\/b\"c"})", "model"), "a\xc3\xa9/b\"c");
  EXPECT_EQ(peekTopLevelString(R"({"model":"\ud83d\ude00"})", "model"), "\xf0\x9f\x98\x80");
}

TEST(JsonPeekTest, NothingWhenAbsentMalformedOrNotAString) {
  EXPECT_EQ(peekTopLevelString(R"({"meta": {"model": "nested"}})", "model"), std::nullopt);
  EXPECT_EQ(peekTopLevelString(R"({"model": 4})", "model"), std::nullopt);
  EXPECT_EQ(peekTopLevelString(R"(["model", "x"])", "model"), std::nullopt);
  EXPECT_EQ(peekTopLevelString(R"({"a": [1, 2}, "model": "x"})", "model"), std::nullopt);
  EXPECT_EQ(peekTopLevelString(R"({"a": "unterminated, "model": "x")", "model"), std::nullopt);
  EXPECT_EQ(peekTopLevelString("", "model"), std::nullopt);
  EXPECT_EQ(peekTopLevelString(R"({"model": "x)", "model"), std::nullopt);
  // Malformed after the member, or the member twice (parsers differ on which one counts).
  EXPECT_EQ(peekTopLevelString(R"({"model": "x", "a": [})", "model"), std::nullopt);
  EXPECT_EQ(peekTopLevelString(R"({"model": "x", "a": 1)", "model"), std::nullopt);
  EXPECT_EQ(peekTopLevelString(R"({"model": "cheap", "model": "expensive"})", "model"), std::nullopt);
}

}  // namespace
}  // namespace causeway
