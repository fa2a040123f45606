// ipStrategy, the IP checker and sourceCriterion as Traefik defines them.
#include <gtest/gtest.h>

#include "limits/source_criterion.h"

namespace causeway::limits {
namespace {

IpStrategy make(IpStrategyOptions o) {
  std::string error;
  auto s = IpStrategy::make(&o, error);
  EXPECT_TRUE(s) << error;
  return s ? *s : IpStrategy();
}

TEST(IpStrategyTest, DefaultIsThePeer) {
  std::string error;
  auto s = IpStrategy::make(nullptr, error);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->clientIp("1.1.1.1, 2.2.2.2", "10.0.0.7"), "10.0.0.7");
}

TEST(IpStrategyTest, DepthCountsFromTheRight) {
  // The documentation's table.
  const char* xff = "10.0.0.1,11.0.0.1,12.0.0.1,13.0.0.1";
  EXPECT_EQ(make({.depth = 1}).clientIp(xff, "9.9.9.9"), "13.0.0.1");
  EXPECT_EQ(make({.depth = 2}).clientIp(xff, "9.9.9.9"), "12.0.0.1");
  EXPECT_EQ(make({.depth = 3}).clientIp(xff, "9.9.9.9"), "11.0.0.1");
  EXPECT_EQ(make({.depth = 4}).clientIp(xff, "9.9.9.9"), "10.0.0.1");
  EXPECT_EQ(make({.depth = 5}).clientIp(xff, "9.9.9.9"), "");
  EXPECT_EQ(make({.depth = 1}).clientIp(" 1.2.3.4 ,  5.6.7.8 ", "9.9.9.9"), "5.6.7.8");
  EXPECT_EQ(make({.depth = 1}).clientIp("", "9.9.9.9"), "");
  // excludedIPs is ignored when depth is set.
  EXPECT_EQ(make({.depth = 1, .excludedIPs = {"13.0.0.1"}}).clientIp(xff, "9.9.9.9"), "13.0.0.1");
}

TEST(IpStrategyTest, ExcludedIpsScanFromTheRight) {
  auto s = make({.excludedIPs = {"12.0.0.0/8", "13.0.0.1"}});
  EXPECT_EQ(s.kind(), IpStrategy::Kind::Excluded);
  EXPECT_EQ(s.clientIp("10.0.0.1,11.0.0.1,12.0.0.1,13.0.0.1", "9.9.9.9"), "11.0.0.1");
  EXPECT_EQ(s.clientIp("12.0.0.1, 13.0.0.1", "9.9.9.9"), "");
  EXPECT_EQ(s.clientIp("", "9.9.9.9"), "");
  EXPECT_EQ(s.clientIp("garbage,13.0.0.1", "9.9.9.9"), "garbage");
}

TEST(IpStrategyTest, Ipv6Subnet) {
  auto s = make({.ipv6Subnet = 64});
  EXPECT_EQ(s.clientIp("", "2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::");
  EXPECT_EQ(s.clientIp("", "10.1.2.3"), "10.1.2.3");  // IPv4 untouched
  auto d = make({.depth = 1, .ipv6Subnet = 80});
  EXPECT_EQ(d.clientIp("::abcd:1111:2222:3333", "9.9.9.9"), "::abcd:0:0:0");
  EXPECT_EQ(ipv6SubnetIp("not-an-ip", 64), "not-an-ip");
  std::string error;
  IpStrategyOptions bad{.ipv6Subnet = 129};
  EXPECT_FALSE(IpStrategy::make(&bad, error));
  EXPECT_NE(error.find("invalid IPv6 subnet 129"), std::string::npos);
  IpStrategyOptions zero{.ipv6Subnet = 0};
  EXPECT_FALSE(IpStrategy::make(&zero, error));
}

TEST(IpCheckerTest, AddressesAndNetworks) {
  IpChecker c;
  std::string error;
  ASSERT_TRUE(c.add("10.0.0.0/8", error));
  ASSERT_TRUE(c.add("192.168.1.7", error));
  ASSERT_TRUE(c.add("fd00::/8", error));
  EXPECT_TRUE(c.contains("10.200.3.4"));
  EXPECT_TRUE(c.contains("192.168.1.7"));
  EXPECT_FALSE(c.contains("192.168.1.8"));
  EXPECT_TRUE(c.contains("fd12::1"));
  EXPECT_FALSE(c.contains("fe80::1"));
  EXPECT_FALSE(c.contains(""));
  EXPECT_FALSE(c.contains("[fd12::1]"));
  EXPECT_TRUE(c.authorizes("10.1.1.1:4567"));
  EXPECT_TRUE(c.authorizes("[fd12::1]:80"));
  EXPECT_TRUE(c.authorizes("fd12::1"));
  EXPECT_FALSE(c.authorizes("11.1.1.1:80"));
  EXPECT_FALSE(c.add("10.0.0.0/33", error));
  EXPECT_FALSE(c.add("not-a-network", error));
  EXPECT_NE(error.find("not-a-network"), std::string::npos);
}

TEST(SourceExtractorTest, CriteriaAreMutuallyExclusive) {
  std::string error;
  SourceCriterionOptions both;
  both.ipStrategy = IpStrategyOptions{};
  both.requestHost = true;
  EXPECT_FALSE(SourceExtractor::make(both, SourceExtractor::Fallback::PeerIp, error));
  EXPECT_EQ(error, "iPStrategy and RequestHost are mutually exclusive");
  SourceCriterionOptions headerAndHost;
  headerAndHost.requestHeaderName = "X-User";
  headerAndHost.requestHost = true;
  EXPECT_FALSE(SourceExtractor::make(headerAndHost, SourceExtractor::Fallback::PeerIp, error));
  EXPECT_EQ(error, "requestHost and RequestHeaderName are mutually exclusive");
  SourceCriterionOptions ipAndHeader;
  ipAndHeader.ipStrategy = IpStrategyOptions{};
  ipAndHeader.requestHeaderName = "X-User";
  EXPECT_FALSE(SourceExtractor::make(ipAndHeader, SourceExtractor::Fallback::PeerIp, error));
  EXPECT_TRUE(SourceExtractor::make(std::nullopt, SourceExtractor::Fallback::RequestHost, error));
  SourceCriterionOptions badStrategy;
  badStrategy.ipStrategy = IpStrategyOptions{.ipv6Subnet = 200};
  EXPECT_FALSE(SourceExtractor::make(badStrategy, SourceExtractor::Fallback::PeerIp, error));
}

}  // namespace
}  // namespace causeway::limits
