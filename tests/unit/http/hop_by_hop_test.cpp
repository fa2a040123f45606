// Hop-by-hop field removal (reliability S60–S62).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "http/hop_by_hop.h"

namespace causeway::http {
namespace {

std::vector<std::string> names(const Headers& h) {
  std::vector<std::string> out;
  for (const auto& f : h)
    out.emplace_back(f.name);
  return out;
}

TEST(HopByHop, FixedSet) {
  for (std::string_view n :
       {"Connection", "proxy-connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
        "te", "Trailer", "Transfer-Encoding", "Upgrade", "HTTP2-Settings"})
    EXPECT_TRUE(isHopByHopField(n)) << n;
  for (std::string_view n :
       {"Host", "Trailers", "Content-Length", "X-Forwarded-For", "Authorization"})
    EXPECT_FALSE(isHopByHopField(n)) << n;
}

TEST(HopByHop, S60_NominatedFieldsRemovedButProtectedKept) {
  Headers h;
  h.add("Host", "a");
  h.add("Connection", "close, X-Secret, X-Forwarded-For, Host, Content-Length, Authorization");
  h.add("X-Secret", "1");
  h.add("X-Forwarded-For", "6.6.6.6");
  h.add("Authorization", "Bearer t");
  h.add("Content-Length", "3");
  h.add("X-Other", "ok");
  EXPECT_EQ(removeHopByHop(h), 2u);  // Connection, X-Secret
  EXPECT_EQ(names(h), (std::vector<std::string>{"Host", "X-Forwarded-For", "Authorization",
                                                "Content-Length", "X-Other"}));
}

TEST(HopByHop, S60_NominationAfterTheField) {
  Headers h;
  h.add("X-A", "1");
  h.add("X-B", "2");
  h.add("Connection", "x-a");
  h.add("Connection", "X-B");
  h.add("X-A", "3");
  EXPECT_EQ(removeHopByHop(h), 5u);
  EXPECT_TRUE(h.empty());
}

TEST(HopByHop, S60_KeepNominated) {
  Headers h;
  h.add("Connection", "X-Keep, X-Drop");
  h.add("X-Keep", "1");
  h.add("X-Drop", "2");
  const std::string_view keep[] = {"x-keep"};
  HopByHopOptions options;
  options.keepNominated = keep;
  removeHopByHop(h, options);
  EXPECT_EQ(names(h), (std::vector<std::string>{"X-Keep"}));
}

TEST(HopByHop, S61_FullSetStripped) {
  Headers h;
  for (std::string_view n : {"Keep-Alive", "Proxy-Connection", "TE", "Upgrade", "HTTP2-Settings",
                             "Proxy-Authorization", "Transfer-Encoding", "Trailer", "X-Kept"})
    h.add(n, "v");
  removeHopByHop(h);
  EXPECT_EQ(names(h), (std::vector<std::string>{"X-Kept"}));
}

TEST(HopByHop, S61_TeTrailersKept) {
  Headers h;
  h.add("TE", "gzip, Trailers");
  h.add("TE", "deflate");
  removeHopByHop(h);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h[0].value, "trailers");
  Headers h2;
  h2.add("TE", "gzip");
  removeHopByHop(h2);
  EXPECT_TRUE(h2.empty());
  Headers h3;
  h3.add("TE", "trailers");
  HopByHopOptions options;
  options.keepTeTrailers = false;
  removeHopByHop(h3, options);
  EXPECT_TRUE(h3.empty());
}

TEST(HopByHop, S62_H2cUpgradeStripped) {
  Headers h;
  h.add("Host", "a");
  h.add("Upgrade", "h2c");
  h.add("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA");
  h.add("Connection", "Upgrade, HTTP2-Settings");
  removeHopByHop(h);
  EXPECT_EQ(names(h), (std::vector<std::string>{"Host"}));
}

TEST(HopByHop, KeepUpgradeForAcceptedWebSocket) {
  Headers h;
  h.add("Upgrade", "websocket");
  h.add("Connection", "Upgrade");
  HopByHopOptions options;
  options.keepUpgrade = true;
  removeHopByHop(h, options);
  EXPECT_EQ(names(h), (std::vector<std::string>{"Upgrade"}));
}

TEST(HopByHop, KeepProxyAuthorizationForForwardAuth) {
  Headers h;
  h.add("Proxy-Authorization", "Basic eA==");
  h.add("Proxy-Authenticate", "Basic");
  h.add("Connection", "Proxy-Authorization");  // a nomination cannot remove it either
  HopByHopOptions options;
  options.keepProxyAuthorization = true;
  removeHopByHop(h, options);
  EXPECT_EQ(names(h), (std::vector<std::string>{"Proxy-Authorization"}));
}

TEST(HopByHop, ConnectionTokens) {
  Headers h;
  h.add("Connection", " a ,, b\t,c ");
  h.add("connection", "d");
  std::vector<std::string> tokens;
  forEachConnectionToken(h, [&](std::string_view t) { tokens.emplace_back(t); });
  EXPECT_EQ(tokens, (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_TRUE(isProtectedFromConnection("x-forwarded-proto"));
  EXPECT_TRUE(isProtectedFromConnection("HOST"));
  EXPECT_FALSE(isProtectedFromConnection("X-Custom"));
}

}  // namespace
}  // namespace causeway::http
