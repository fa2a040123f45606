// The field-name comparison the HTTP/1.1 parsers classify names with (field_scan.h): eight
// bytes at a time, so every length from 1 to 17 and every byte position is checked against
// the byte-at-a-time definition.
#include <gtest/gtest.h>

#include <string>

#include "http/h1/field_scan.h"

namespace causeway::http::h1::detail {
namespace {

bool reference(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (size_t i = 0; i < name.size(); ++i)
    if (char(name[i] | 0x20) != lower[i]) return false;
  return true;
}

TEST(EqualsLowerTokenTest, AgreesWithTheByteLoopAtEveryPosition) {
  const std::string lower = "transfer-encoding";
  for (size_t n = 1; n <= lower.size(); ++n) {
    const std::string want = lower.substr(0, n);
    std::string upper = want;
    for (char& c : upper)
      if (c >= 'a' && c <= 'z') c = char(c - 32);
    EXPECT_TRUE(equalsLowerToken(want, want)) << n;
    EXPECT_TRUE(equalsLowerToken(upper, want)) << n;
    for (size_t i = 0; i < n; ++i) {
      for (char other : {'x', 'X', '_', '^', '0', '~', char(want[i] ^ 0x01)}) {
        std::string name = upper;
        name[i] = other;
        EXPECT_EQ(equalsLowerToken(name, want), reference(name, want)) << n << " " << name;
      }
    }
    EXPECT_FALSE(equalsLowerToken(want + "x", want));
  }
}

TEST(EqualsLowerTokenTest, ClassifiesTheFramingFieldsInAnyCase) {
  EXPECT_EQ(classifyField("CONTENT-LENGTH"), FieldId::ContentLength);
  EXPECT_EQ(classifyField("Transfer-Encoding"), FieldId::TransferEncoding);
  EXPECT_EQ(classifyField("hOsT"), FieldId::Host);
  EXPECT_EQ(classifyField("Connection"), FieldId::Connection);
  EXPECT_EQ(classifyField("Content-Lengtx"), FieldId::Other);
  EXPECT_EQ(classifyField("Content_Length"), FieldId::Other);  // '_' is not '-'
  EXPECT_EQ(classifyField("Hos^"), FieldId::Other);
}

}  // namespace
}  // namespace causeway::http::h1::detail
