#include <gtest/gtest.h>

#include "http/status_ranges.h"

namespace causeway::http {
namespace {

TEST(StatusRangesTest, SingleCodesAndRanges) {
  std::string error;
  auto r = parseStatusRanges({"404", "500-599", "418"}, error);
  ASSERT_TRUE(r) << error;
  EXPECT_TRUE(r->contains(404));
  EXPECT_TRUE(r->contains(418));
  EXPECT_TRUE(r->contains(500));
  EXPECT_TRUE(r->contains(599));
  EXPECT_FALSE(r->contains(600));
  EXPECT_FALSE(r->contains(499));
  EXPECT_FALSE(r->contains(405));
}

TEST(StatusRangesTest, TraefikQuirks) {
  std::string error;
  // Only the first two pieces of a dash list count.
  auto r = parseStatusRanges({"500-502-504"}, error);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->contains(501));
  EXPECT_FALSE(r->contains(503));
  // A reversed range contains nothing.
  auto reversed = parseStatusRanges({"599-500"}, error);
  ASSERT_TRUE(reversed);
  EXPECT_FALSE(reversed->contains(550));
  EXPECT_TRUE(parseStatusRanges({"+404"}, error));
  EXPECT_TRUE(parseStatusRanges({}, error)->empty());
}

TEST(StatusRangesTest, Errors) {
  std::string error;
  EXPECT_FALSE(parseStatusRanges({"abc"}, error));
  EXPECT_EQ(error, "strconv.Atoi: parsing \"abc\": invalid syntax");
  EXPECT_FALSE(parseStatusRanges({"500-"}, error));
  EXPECT_FALSE(parseStatusRanges({"-500"}, error));
  EXPECT_FALSE(parseStatusRanges({" 500"}, error));
  EXPECT_FALSE(parseStatusRanges({"500,502"}, error));  // the decoder splits comma lists first
}

TEST(GoAtoiTest, Syntax) {
  EXPECT_EQ(goAtoi("0"), 0);
  EXPECT_EQ(goAtoi("-12"), -12);
  EXPECT_EQ(goAtoi("+12"), 12);
  EXPECT_FALSE(goAtoi(""));
  EXPECT_FALSE(goAtoi("+"));
  EXPECT_FALSE(goAtoi("1e3"));
  EXPECT_FALSE(goAtoi("99999999999999999999"));
}

}  // namespace
}  // namespace causeway::http
