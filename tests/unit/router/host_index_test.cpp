// CompiledRule::hostIndex() and hosts().

#include <gtest/gtest.h>

#include "router/rule.h"
#include "rule_test_support.h"

namespace causeway::router {
namespace {

using Hosts = std::vector<std::string>;
using testing::compileOk;

std::optional<Hosts> indexOf(std::string_view rule, RuleSyntax syntax = RuleSyntax::V3) {
  auto compiled = compileOk(rule, syntax);
  if (!compiled) return Hosts{"<compile error>"};
  return compiled->hostIndex();
}

TEST(HostIndexTest, SingleHost) {
  EXPECT_EQ(indexOf("Host(`a.com`)"), Hosts{"a.com"});
  EXPECT_EQ(indexOf("Host(`A.Com.`)"), Hosts{"a.com"});
}

TEST(HostIndexTest, HostAndSomethingElse) {
  EXPECT_EQ(indexOf("Host(`a`) && Path(`/x`)"), Hosts{"a"});
  EXPECT_EQ(indexOf("PathPrefix(`/x`) && Host(`a`) && Method(`GET`)"), Hosts{"a"});
  EXPECT_EQ(indexOf("Host(`a`) && !Path(`/x`)"), Hosts{"a"});
}

TEST(HostIndexTest, OrOfHosts) {
  EXPECT_EQ(indexOf("Host(`a`) || Host(`b`)"), (Hosts{"a", "b"}));
  EXPECT_EQ(indexOf("(Host(`a`) || Host(`b`)) && Path(`/x`)"), (Hosts{"a", "b"}));
  EXPECT_EQ(indexOf("(Host(`a`) && Path(`/1`)) || (Host(`b`) && Path(`/2`))"), (Hosts{"a", "b"}));
  EXPECT_EQ(indexOf("Host(`a`) || Host(`a`)"), Hosts{"a"});
}

TEST(HostIndexTest, AndOfHostsKeepsOneSide) {
  auto index = indexOf("Host(`a`) && Host(`b`)");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->size(), 1u);
  // The smaller constrained side wins.
  EXPECT_EQ(indexOf("(Host(`a`) || Host(`b`)) && Host(`c`)"), Hosts{"c"});
}

TEST(HostIndexTest, UnconstrainedRules) {
  EXPECT_EQ(indexOf("Path(`/x`)"), std::nullopt);
  EXPECT_EQ(indexOf("Host(`a`) || Path(`/x`)"), std::nullopt);
  EXPECT_EQ(indexOf("!Host(`a`)"), std::nullopt);
  EXPECT_EQ(indexOf("Host(`*`)"), std::nullopt);
  EXPECT_EQ(indexOf("Host(`*.`)"), std::nullopt);
  EXPECT_EQ(indexOf("HostRegexp(`^a\\.com$`)"), std::nullopt);
  EXPECT_EQ(indexOf("Host(`*`) && Path(`/`)"), std::nullopt);
  EXPECT_EQ(indexOf("!(Host(`a`) && Path(`/`))"), std::nullopt);
}

TEST(HostIndexTest, NegationIsPushedDown) {
  EXPECT_EQ(indexOf("!!Host(`a`)"), Hosts{"a"});
  // !(!Host(a) || !Host(b)) == Host(a) && Host(b)
  auto index = indexOf("!(!Host(`a`) || !Host(`b`))");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->size(), 1u);
  // !(!Host(a) && !Host(b)) == Host(a) || Host(b)
  EXPECT_EQ(indexOf("!(!Host(`a`) && !Host(`b`))"), (Hosts{"a", "b"}));
}

TEST(HostIndexTest, Wildcards) {
  EXPECT_EQ(indexOf("Host(`*.x.com`)"), Hosts{"*.x.com"});
  EXPECT_EQ(indexOf("Host(`*.x.com`) || Host(`x.com`)"), (Hosts{"*.x.com", "x.com"}));
}

TEST(HostIndexTest, V2Hosts) {
  EXPECT_EQ(indexOf("Host(`a`, `b`)", RuleSyntax::V2), (Hosts{"a", "b"}));
  EXPECT_EQ(indexOf("HostHeader(`a`) && Path(`/`)", RuleSyntax::V2), Hosts{"a"});
  EXPECT_EQ(indexOf("HostRegexp(`a.com`)", RuleSyntax::V2), std::nullopt);
}

TEST(HostsTest, EveryLiteralHostArgument) {
  auto rule = compileOk("Host(`A.com`) || (Host(`b.com.`) && !Host(`c.com`)) || Host(`a.com`)");
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->hosts(), (Hosts{"a.com", "b.com", "c.com"}));  // as matched: no trailing dot (T08)
  auto none = compileOk("HostRegexp(`a`) && Path(`/`)");
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->hosts().empty());
  auto star = compileOk("Host(`*`) || Host(`*.x.com`)");
  ASSERT_TRUE(star);
  EXPECT_EQ(star->hosts(), (Hosts{"*", "*.x.com"}));
}

TEST(HostsTest, V2HostsButNotHostHeader) {
  auto rule = compileOk("Host(`a`, `B`) || HostHeader(`c`)", RuleSyntax::V2);
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->hosts(), (Hosts{"a", "b"}));
}

} // namespace
} // namespace causeway::router
