// Digest computation and nonce bookkeeping of digestAuth (go-http-auth's algorithm).
#include <gtest/gtest.h>

#include "middleware/auth/digest.h"

namespace causeway::middleware::digest {
namespace {

TEST(DigestTest, Rfc2617Example) {
  std::string ha1 = md5Hex("Mufasa:testrealm@host.com:Circle Of Life");
  EXPECT_EQ(ha1, "939e7578ed9e3c518a452acee763bce9");
  EXPECT_EQ(expectedResponse(ha1, "GET", "/dir/index.html", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                             "00000001", "0a4f113b", "auth"),
            "6629fae49393a05397450978507c4ef1");
  EXPECT_NE(expectedResponse(ha1, "POST", "/dir/index.html", "dcd98b7102dd2f0e8b11d0f600bfb0c093",
                             "00000001", "0a4f113b", "auth"),
            "6629fae49393a05397450978507c4ef1");
}

TEST(DigestTest, ParsesAuthorizationParameters) {
  auto params = authorizationParams(
      R"(Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b", uri="/dir/index.html?a=1,b=2", )"
      R"(qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fa", opaque="5ccc0", note="a \"quoted\" word")");
  ASSERT_TRUE(params);
  EXPECT_EQ((*params)["username"], "Mufasa");
  EXPECT_EQ((*params)["uri"], "/dir/index.html?a=1,b=2");
  EXPECT_EQ((*params)["qop"], "auth");
  EXPECT_EQ((*params)["nc"], "00000001");
  EXPECT_EQ((*params)["opaque"], "5ccc0");
  EXPECT_EQ((*params)["note"], R"(a "quoted" word)");
  EXPECT_FALSE(authorizationParams("Basic abc"));
  EXPECT_FALSE(authorizationParams("digest username=x"));  // the scheme is compared exactly
  EXPECT_FALSE(authorizationParams("Digest"));
  auto flag = parsePairs("a=1, lonely");
  EXPECT_EQ(flag["lonely"], "");
  EXPECT_EQ(flag["a"], "1");
}

TEST(DigestTest, NonceCountsMustIncrease) {
  NonceTable table;
  table.add("n1", 1);
  EXPECT_EQ(table.use("unknown", 1, 2), NonceTable::Check::Unknown);
  EXPECT_EQ(table.use("n1", 1, 2), NonceTable::Check::Ok);
  EXPECT_EQ(table.use("n1", 1, 3), NonceTable::Check::Replay);
  EXPECT_EQ(table.use("n1", 3, 4), NonceTable::Check::Ok);
  EXPECT_EQ(table.use("n1", 2, 5), NonceTable::Check::Stale);
  EXPECT_EQ(table.use("n1", 4, 6), NonceTable::Check::Ok);
}

TEST(DigestTest, NonceTablePurgesTheOldest) {
  NonceTable table(10, 2);
  for (int i = 0; i < 13; ++i)
    table.add("n" + std::to_string(i), i);
  EXPECT_EQ(table.size(), 13u);
  table.add("n13", 13);  // over 12: the 4 oldest go first
  EXPECT_EQ(table.size(), 10u);
  EXPECT_EQ(table.use("n0", 1, 20), NonceTable::Check::Unknown);
  EXPECT_EQ(table.use("n3", 1, 20), NonceTable::Check::Unknown);
  EXPECT_EQ(table.use("n4", 1, 20), NonceTable::Check::Ok);
  EXPECT_EQ(table.use("n13", 1, 20), NonceTable::Check::Ok);
}

}  // namespace
}  // namespace causeway::middleware::digest
