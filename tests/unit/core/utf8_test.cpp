// validUtf8: well-formed text of every sequence length, and each kind of malformed input.
#include <gtest/gtest.h>

#include <string>

#include "core/utf8.h"

namespace causeway {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(validUtf8(""));
  EXPECT_TRUE(validUtf8("plain ascii, longer than eight bytes"));
  EXPECT_TRUE(validUtf8("caf\xc3\xa9 na\xc3\xafve \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x98\x80"));
  EXPECT_TRUE(validUtf8("\xed\x9f\xbf"));      // U+D7FF, just below the surrogates
  EXPECT_TRUE(validUtf8("\xf4\x8f\xbf\xbf"));  // U+10FFFF
  std::string mixed;
  for (int i = 0; i < 100; ++i) mixed += "abcdefg\xc3\xa9";
  EXPECT_TRUE(validUtf8(mixed));
}

TEST(Utf8Test, RefusesMalformedText) {
  EXPECT_FALSE(validUtf8("\x80"));                  // a lone continuation byte
  EXPECT_FALSE(validUtf8("abc\xc3"));               // cut short
  EXPECT_FALSE(validUtf8("\xc0\xaf"));              // overlong '/'
  EXPECT_FALSE(validUtf8("\xe0\x80\xaf"));          // overlong, three bytes
  EXPECT_FALSE(validUtf8("\xed\xa0\x80"));          // a surrogate (U+D800)
  EXPECT_FALSE(validUtf8("\xf4\x90\x80\x80"));      // above U+10FFFF
  EXPECT_FALSE(validUtf8("\xf5\x80\x80\x80"));      // not a lead byte
  EXPECT_FALSE(validUtf8("\xe6\x9d"));              // cut short
  EXPECT_FALSE(validUtf8("\xe6\x41\xac"));          // not a continuation
  EXPECT_FALSE(validUtf8("eight by\xff"));          // after an ASCII word
}

}  // namespace
}  // namespace causeway
