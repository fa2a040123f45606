// RouteTable: ordering by priority and tie-break, merging of exact, wildcard and any-host
// candidates, and lookups in large tables.

#include <chrono>
#include <gtest/gtest.h>
#include <memory>

#include "router/route_table.h"
#include "rule_test_support.h"

namespace causeway::router {
namespace {

using testing::BoundRequest;
using testing::compileOk;
using testing::host;
using testing::Request;

std::string matchName(const RouteTable<std::string>& table, const Request& request) {
  BoundRequest bound(request);
  const std::string* value = table.match(bound.input());
  return value ? *value : "<none>";
}

void add(RouteTable<std::string>& table, std::string_view rule, int64_t priority,
         const std::string& name) {
  table.add(compileOk(rule), priority, name, name);
}

TEST(RouteTableTest, EmptyTableMatchesNothing) {
  RouteTable<std::string> table;
  table.build();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(matchName(table, host("a")), "<none>");
}

TEST(RouteTableTest, NothingMatchesBeforeBuild) {
  RouteTable<std::string> table;
  add(table, "PathPrefix(`/`)", 1, "r");
  EXPECT_EQ(matchName(table, host("a")), "<none>");
  table.build();
  EXPECT_EQ(matchName(table, host("a")), "r");
  add(table, "PathPrefix(`/`)", 2, "s");
  EXPECT_EQ(matchName(table, host("a")), "<none>");
  table.build();
  EXPECT_EQ(matchName(table, host("a")), "s");
}

TEST(RouteTableTest, HigherPriorityFirstIncludingNegative) {
  RouteTable<std::string> table;
  add(table, "PathPrefix(`/`)", -5, "negative");
  add(table, "PathPrefix(`/api`)", 10, "api");
  add(table, "PathPrefix(`/api/v2`)", 5, "v2");
  add(table, "Path(`/other`)", -10, "other");
  table.build();
  EXPECT_EQ(matchName(table, Request().withPath("/api/v2/x")), "api");
  EXPECT_EQ(matchName(table, Request().withPath("/x")), "negative");
  EXPECT_EQ(matchName(table, Request().withPath("/other")), "negative");
}

TEST(RouteTableTest, DefaultPriorityIsRuleLengthComputedByCaller) {
  // Traefik's documented example: the longer HostRegexp rule wins over the Host rule.
  RouteTable<std::string> table;
  std::string regexpRule = R"(HostRegexp(`[a-z]+\.traefik\.com`))";
  std::string hostRule = "Host(`foobar.traefik.com`)";
  add(table, hostRule, int64_t(hostRule.size()), "host");
  add(table, regexpRule, int64_t(regexpRule.size()), "regexp");
  table.build();
  EXPECT_EQ(matchName(table, host("foobar.traefik.com")), "regexp");
}

TEST(RouteTableTest, EqualPrioritiesOrderedByTieBreakThenInsertion) {
  RouteTable<std::string> table;
  table.add(compileOk("PathPrefix(`/`)"), 7, "zeta@file", "zeta");
  table.add(compileOk("PathPrefix(`/`)"), 7, "alpha@docker", "alpha");
  table.add(compileOk("PathPrefix(`/`)"), 7, "alpha@docker", "alpha-second");
  table.build();
  EXPECT_EQ(matchName(table, Request()), "alpha");
  std::vector<std::string> order;
  table.forEach([&](const CompiledRule&, int64_t, const std::string&, const std::string& value) {
    order.push_back(value);
  });
  EXPECT_EQ(order, (std::vector<std::string>{"alpha", "alpha-second", "zeta"}));
}

TEST(RouteTableTest, MergesExactWildcardAndAnyHostCandidatesByPriority) {
  RouteTable<std::string> table;
  add(table, "Host(`a.example.com`) && PathPrefix(`/exact`)", 30, "exact");
  add(table, "Host(`*.example.com`) && PathPrefix(`/`)", 20, "wildcard");
  add(table, "PathPrefix(`/any`)", 25, "any-high");
  add(table, "PathPrefix(`/`)", 1, "any-low");
  add(table, "Host(`a.example.com`)", 10, "exact-low");
  table.build();
  EXPECT_EQ(matchName(table, host("a.example.com").withPath("/exact/1")), "exact");
  EXPECT_EQ(matchName(table, host("a.example.com").withPath("/any")), "any-high");
  EXPECT_EQ(matchName(table, host("a.example.com").withPath("/x")), "wildcard");
  EXPECT_EQ(matchName(table, host("b.example.com").withPath("/exact")), "wildcard");
  EXPECT_EQ(matchName(table, host("a.b.example.com").withPath("/x")), "any-low");
  EXPECT_EQ(matchName(table, host("example.com").withPath("/any")), "any-high");
  EXPECT_EQ(matchName(table, host("").withPath("/x")), "any-low");
}

TEST(RouteTableTest, ExactHostBelowWildcardWhenLowerPriority) {
  RouteTable<std::string> table;
  add(table, "Host(`a.example.com`)", 1, "exact");
  add(table, "Host(`*.example.com`)", 2, "wildcard");
  table.build();
  EXPECT_EQ(matchName(table, host("a.example.com")), "wildcard");
}

TEST(RouteTableTest, RuleIndexedUnderSeveralKeysIsTriedOnce) {
  RouteTable<std::string> table;
  add(table, "(Host(`a.x.com`) || Host(`*.x.com`)) && Path(`/p`)", 5, "both");
  add(table, "Host(`a.x.com`)", 1, "fallback");
  table.build();
  EXPECT_EQ(matchName(table, host("a.x.com").withPath("/p")), "both");
  EXPECT_EQ(matchName(table, host("a.x.com").withPath("/q")), "fallback");
  EXPECT_EQ(matchName(table, host("b.x.com").withPath("/p")), "both");
}

TEST(RouteTableTest, NonHostRulesStillApply) {
  RouteTable<std::string> table;
  add(table, "Host(`a.com`) || Header(`X-Route`, `1`)", 5, "mixed");
  add(table, "!Host(`b.com`)", 3, "not-b");
  add(table, "HostRegexp(`^c`)", 4, "regexp");
  table.build();
  EXPECT_EQ(matchName(table, host("a.com")), "mixed");
  EXPECT_EQ(matchName(table, host("z.com").withHeader("X-Route", "1")), "mixed");
  EXPECT_EQ(matchName(table, host("c.com")), "regexp");
  EXPECT_EQ(matchName(table, host("z.com")), "not-b");
  EXPECT_EQ(matchName(table, host("b.com")), "<none>");
}

TEST(RouteTableTest, HostStarIsAnyHost) {
  RouteTable<std::string> table;
  add(table, "Host(`*`)", 1, "catch-all");
  add(table, "Host(`a.com`)", 2, "a");
  table.build();
  EXPECT_EQ(matchName(table, host("a.com")), "a");
  EXPECT_EQ(matchName(table, host("")), "catch-all");
}

TEST(RouteTableTest, MoveOnlyValues) {
  RouteTable<std::unique_ptr<int>> table;
  table.add(compileOk("Path(`/a`)"), 1, "a", std::make_unique<int>(1));
  table.add(compileOk("Path(`/b`)"), 2, "b", std::make_unique<int>(2));
  table.add(nullptr, 3, "null", std::make_unique<int>(3));
  table.build();
  EXPECT_EQ(table.size(), 2u);
  BoundRequest bound(Request().withPath("/b"));
  const std::unique_ptr<int>* value = table.match(bound.input());
  ASSERT_NE(value, nullptr);
  EXPECT_EQ(**value, 2);
}

TEST(RouteTableTest, TenThousandHostRoutersFindTheRightOneQuickly) {
  constexpr int kRouters = 10000;
  RouteTable<int> table;
  for (int i = 0; i < kRouters; ++i) {
    std::string rule = "Host(`host" + std::to_string(i) + ".example.com`) && PathPrefix(`/`)";
    table.add(compileOk(rule), int64_t(rule.size()), "r" + std::to_string(i) + "@file", i);
  }
  table.add(compileOk("Host(`*.wild.example.com`)"), 1, "wild@file", -1);
  table.add(compileOk("PathPrefix(`/fallback`)"), 1, "fallback@file", -2);
  table.build();
  ASSERT_EQ(table.size(), size_t(kRouters + 2));

  auto lookup = [&](const Request& request) {
    BoundRequest bound(request);
    const int* value = table.match(bound.input());
    return value ? *value : -100;
  };
  EXPECT_EQ(lookup(host("host0.example.com")), 0);
  EXPECT_EQ(lookup(host("host9999.example.com")), 9999);
  EXPECT_EQ(lookup(host("host4242.example.com")), 4242);
  EXPECT_EQ(lookup(host("x.wild.example.com")), -1);
  EXPECT_EQ(lookup(host("nohost.example.com")), -100);
  EXPECT_EQ(lookup(host("nohost.example.com").withPath("/fallback")), -2);

  // A lookup evaluates a handful of rules, not ten thousand: 100,000 lookups of the last
  // host stay far below what a linear scan would cost (10^9 rule evaluations).
  Request last = host("host9999.example.com");
  BoundRequest bound(last);
  auto start = std::chrono::steady_clock::now();
  int found = 0;
  for (int i = 0; i < 100000; ++i)
    found += table.match(bound.input()) != nullptr;
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(found, 100000);
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

} // namespace
} // namespace causeway::router

namespace causeway::router {
namespace {

bool modelDecides(const RouteTable<std::string>& table, const testing::Request& request) {
  testing::BoundRequest bound(request);
  MatchInput input = bound.input();
  input.modelUnread = true;
  return table.modelDecides(input);
}

TEST(RouteTableModelTest, TheBodyIsReadOnlyWhenItsModelCanDecide) {
  RouteTable<std::string> table;
  add(table, "PathPrefix(`/v1/`) && Model(`gpt-*`)", 10, "gpt");
  add(table, "PathPrefix(`/v1/`)", 5, "fallback");
  add(table, "PathPrefix(`/static/`)", 20, "static");
  table.build();
  EXPECT_TRUE(modelDecides(table, testing::path("/v1/chat/completions")));
  EXPECT_FALSE(modelDecides(table, testing::path("/static/app.js")));  // no Model() router wins
  EXPECT_FALSE(modelDecides(table, testing::path("/other")));          // nothing matches at all
  EXPECT_EQ(matchName(table, testing::path("/v1/x").withModel("gpt-4o")), "gpt");
  EXPECT_EQ(matchName(table, testing::path("/v1/x").withModel("claude")), "fallback");
}

TEST(RouteTableModelTest, ANegatedModelAlwaysNeedsTheBody) {
  RouteTable<std::string> table;
  add(table, "PathPrefix(`/v1/`) && !Model(`gpt-*`)", 10, "not-gpt");
  add(table, "PathPrefix(`/static/`)", 20, "static");
  table.build();
  EXPECT_TRUE(modelDecides(table, testing::path("/static/app.js")));
  EXPECT_TRUE(compileOk("!Model(`a`)")->negatesModel());
  EXPECT_TRUE(compileOk("Host(`a`) && !(Path(`/x`) || Model(`a`))")->negatesModel());
  EXPECT_FALSE(compileOk("!Path(`/x`) && Model(`a`)")->negatesModel());
}

}  // namespace
}  // namespace causeway::router
