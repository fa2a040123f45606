// htpasswd hash formats as Traefik's basicAuth accepts them. The vectors were made with
// Debian's htpasswd (apache2-utils) and `openssl passwd`.
#include <gtest/gtest.h>

#include "core/bytes.h"
#include "http/go_text.h"
#include "middleware/auth/credentials.h"
#include "middleware/auth/htpasswd.h"

namespace causeway::middleware {
namespace {

using htpasswd::checkSecret;

TEST(HtpasswdTest, Apr1MatchesApacheAndOpenssl) {
  EXPECT_EQ(htpasswd::md5Crypt("password", "abcdefgh", "$apr1$"),
            "$apr1$abcdefgh$FBwExRW4dCc8aL.OvjpIE1");
  EXPECT_TRUE(checkSecret("hunter2", "$apr1$Axh8bEq8$YcZGKdjfkXWT8LWnsPXeO1"));
  EXPECT_FALSE(checkSecret("hunter3", "$apr1$Axh8bEq8$YcZGKdjfkXWT8LWnsPXeO1"));
  EXPECT_FALSE(checkSecret("", "$apr1$Axh8bEq8$YcZGKdjfkXWT8LWnsPXeO1"));
  // One changed character of the hash.
  EXPECT_FALSE(checkSecret("hunter2", "$apr1$Axh8bEq8$YcZGKdjfkXWT8LWnsPXeO2"));
}

TEST(HtpasswdTest, Md5CryptWithOtherMagic) {
  EXPECT_EQ(htpasswd::md5Crypt("password", "saltsalt", "$1$"),
            "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/");
  EXPECT_TRUE(checkSecret("password", "$1$saltsalt$qjXMvbEw8oaL.CzflDtaK/"));
}

TEST(HtpasswdTest, LongPasswordsUseTheWholeMixin) {
  // More than 16 bytes exercises the repeated mixin (vectors from `openssl passwd -apr1`).
  EXPECT_EQ(htpasswd::md5Crypt("a-password-longer-than-sixteen", "s4lt", "$apr1$"),
            "$apr1$s4lt$u1ocEb7GTwSJZjHnYtG5i0");
  EXPECT_FALSE(checkSecret("a-password-longer-than-sixteeN", "$apr1$s4lt$u1ocEb7GTwSJZjHnYtG5i0"));
  EXPECT_EQ(htpasswd::md5Crypt("", "x", "$apr1$"), "$apr1$x$tMwYqBfQwi3FYAr0aJc8M/");
}

TEST(HtpasswdTest, Sha1) {
  EXPECT_EQ(htpasswd::sha1Secret("secret"), "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=");
  EXPECT_TRUE(checkSecret("secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="));
  EXPECT_FALSE(checkSecret("Secret", "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="));
}

TEST(HtpasswdTest, BcryptAllVariants) {
  const std::string y = "$2y$05$rx1w0oZeZlwAF/pIWkInr.dJ5C3zFdLBP2ZW.qBgR6Z5sgeY2utYu";
  EXPECT_TRUE(htpasswd::isSlow(y));
  EXPECT_TRUE(checkSecret("s3cret", y));
  EXPECT_FALSE(checkSecret("s3cre", y));
  EXPECT_FALSE(checkSecret("s3cret ", y));
  for (std::string prefix : {"$2a$", "$2b$", "$2x$"}) {
    std::string variant = prefix + y.substr(4);
    EXPECT_TRUE(checkSecret("s3cret", variant)) << variant;
    EXPECT_FALSE(checkSecret("wrong", variant)) << variant;
  }
}

TEST(HtpasswdTest, BcryptEightBitPassword) {
  EXPECT_TRUE(checkSecret("p\xC3\xA4ssw\xC3\xB6rd",
                          "$2y$04$ybn2xVlqMzrcE4ClDU/sJekzCk0CdlHF5weVAVlIUM0YqSvstlcHW"));
  EXPECT_FALSE(
      checkSecret("passwoerd", "$2y$04$ybn2xVlqMzrcE4ClDU/sJekzCk0CdlHF5weVAVlIUM0YqSvstlcHW"));
}

TEST(HtpasswdTest, MalformedSecretsNeverMatch) {
  EXPECT_FALSE(checkSecret("password", "password"));
  EXPECT_FALSE(checkSecret("", ""));
  EXPECT_FALSE(checkSecret("x", "$apr1$onlysalt"));
  EXPECT_FALSE(checkSecret("x", "$2y$05$short"));
  EXPECT_FALSE(checkSecret("x", "{SHA}"));
}

TEST(BasicAuthHeaderTest, ParsesLikeGo) {
  std::string user, password;
  ASSERT_TRUE(parseBasicAuth("Basic " + base64Encode("alice:s3cret:with:colons"), user, password));
  EXPECT_EQ(user, "alice");
  EXPECT_EQ(password, "s3cret:with:colons");
  ASSERT_TRUE(parseBasicAuth("basic " + base64Encode("bob:"), user, password));
  EXPECT_EQ(user, "bob");
  EXPECT_EQ(password, "");
  EXPECT_FALSE(parseBasicAuth("Basic " + base64Encode("nocolon"), user, password));
  EXPECT_FALSE(parseBasicAuth("Bearer abc", user, password));
  EXPECT_FALSE(parseBasicAuth("Basic !!!", user, password));
  EXPECT_FALSE(parseBasicAuth("Basic YWxpY2U6cw", user, password));  // missing padding
  EXPECT_FALSE(parseBasicAuth("", user, password));
}

TEST(HttpUtilTest, CanonicalHeaderKey) {
  EXPECT_EQ(http::canonicalHeaderKey("x-auth-user"), "X-Auth-User");
  EXPECT_EQ(http::canonicalHeaderKey("WWW-AUTHENTICATE"), "Www-Authenticate");
  EXPECT_EQ(http::canonicalHeaderKey("x-xss-protection"), "X-Xss-Protection");
  EXPECT_EQ(http::canonicalHeaderKey("bad header"), "bad header");
}

TEST(HttpUtilTest, Base64RoundTrip) {
  for (std::string s : {std::string(), std::string("a"), std::string("ab"), std::string("abc"),
                        std::string("abcd"), std::string("\0\xff\x10", 3)}) {
    std::string decoded;
    ASSERT_TRUE(base64Decode(base64Encode(s), decoded));
    EXPECT_EQ(decoded, s);
  }
  EXPECT_EQ(base64Encode("ab", false), "YWI");
  EXPECT_TRUE(constantTimeEquals("abc", "abc"));
  EXPECT_FALSE(constantTimeEquals("abc", "abd"));
  EXPECT_FALSE(constantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace causeway::middleware
