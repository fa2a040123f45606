// URL-safe base64 (core/bytes.h): unpadded, '-' and '_', and one spelling per byte string.
#include <gtest/gtest.h>

#include "core/bytes.h"

namespace causeway {
namespace {

TEST(Base64UrlTest, RoundTripsWithoutPadding) {
  for (std::string raw : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                          std::string("\xfb\xff\xfe", 3)}) {
    std::string text = base64UrlEncode(raw);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos) << text;
    std::string back;
    ASSERT_TRUE(base64UrlDecode(text, back)) << text;
    EXPECT_EQ(back, raw);
  }
  EXPECT_EQ(base64UrlEncode("\xfb\xff\xfe"), "-__-");
}

TEST(Base64UrlTest, RefusesOtherSpellings) {
  std::string out;
  EXPECT_FALSE(base64UrlDecode("-__+", out));   // the standard alphabet
  EXPECT_FALSE(base64UrlDecode("YQ==", out));   // padding
  EXPECT_FALSE(base64UrlDecode("YR", out));     // "a" with a spare bit set (canonical: "YQ")
  EXPECT_TRUE(base64UrlDecode("YQ", out));
  EXPECT_FALSE(base64UrlDecode("Y", out));      // not a whole byte
  EXPECT_FALSE(base64UrlDecode("YQ\n", out));
}

}  // namespace
}  // namespace causeway
