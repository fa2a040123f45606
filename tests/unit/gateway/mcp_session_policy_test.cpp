// The MCP gateway's pure parts: sealed session ids (gateway/mcp/session_token.h), policies and
// list filtering (gateway/mcp/policy.h, list_filter.h).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "gateway/mcp/list_filter.h"
#include "gateway/mcp/policy.h"
#include "gateway/mcp/session_token.h"

namespace causeway::gateway::mcp {
namespace {

TEST(McpSessionTest, SealedIdsOpenOnlyWithTheSameSecret) {
  SessionSealer a("shared secret"), b("shared secret"), other("another secret");
  std::string token = a.seal("http://10.0.0.7:8080", "3f1c-upstream-session");
  ASSERT_EQ(token.rfind("cw1.", 0), 0u);
  for (char c : token) ASSERT_TRUE(c >= 0x21 && c <= 0x7E) << token;
  EXPECT_EQ(token.find("10.0.0.7"), std::string::npos);  // the server's URL is not readable
  auto opened = b.open(token);  // another replica with the same secret
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->serverUrl, "http://10.0.0.7:8080");
  EXPECT_EQ(opened->upstreamId, "3f1c-upstream-session");
  EXPECT_FALSE(other.open(token));
  EXPECT_NE(a.seal("http://10.0.0.7:8080", "3f1c-upstream-session"), token);  // a fresh nonce each time
}

TEST(McpSessionTest, ForgedOrAlteredIdsDoNotOpen) {
  SessionSealer s("k");
  std::string token = s.seal("http://a", "b");
  for (size_t i = 4; i < token.size(); ++i) {
    std::string altered = token;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(s.open(altered)) << i;
  }
  EXPECT_FALSE(s.open(""));
  EXPECT_FALSE(s.open("cw1."));
  EXPECT_FALSE(s.open("cw1.!!!!"));
  EXPECT_FALSE(s.open("3f1c-upstream-session"));
  EXPECT_FALSE(s.open(token.substr(0, token.size() - 2)));
  EXPECT_FALSE(s.open("cw1." + std::string(10000, 'A')));
}

PolicySet compile(std::vector<std::pair<std::string, bool>> rules, bool defaultAllow) {
  std::vector<PolicyRule> out;
  for (auto& [text, allow] : rules) {
    std::string error;
    auto e = expr::claims::parse(text, error);
    EXPECT_TRUE(e) << error;
    out.push_back({std::move(*e), allow});
  }
  return PolicySet(std::move(out), defaultAllow);
}

boost::json::value params(std::string_view json) { return boost::json::parse(json); }

TEST(McpPolicyTest, FirstMatchingRuleDecidesCallsAndDefaultActionTheRest) {
  PolicySet p = compile({{"Equals(`mcp.params.name`, `transfer_funds`) && "
                          "LessOrEqual(`mcp.params.arguments.amount`, `1000`)", true},
                         {"Equals(`mcp.params.name`, `transfer_funds`)", false},
                         {"OneOf(`mcp.params.name`, `echo`, `add`)", true}},
                        false);
  auto small = params(R"({"name":"transfer_funds","arguments":{"amount":50,"to":"x"}})");
  auto big = params(R"({"name":"transfer_funds","arguments":{"amount":5000,"to":"x"}})");
  auto echo = params(R"({"name":"echo","arguments":{}})");
  auto other = params(R"({"name":"rm_rf"})");
  EXPECT_TRUE(p.decide("tools/call", &small, nullptr).allow);
  EXPECT_EQ(p.decide("tools/call", &small, nullptr).rule, 0);
  EXPECT_FALSE(p.decide("tools/call", &big, nullptr).allow);
  EXPECT_EQ(p.decide("tools/call", &big, nullptr).rule, 1);
  EXPECT_TRUE(p.decide("tools/call", &echo, nullptr).allow);
  EXPECT_FALSE(p.decide("tools/call", &other, nullptr).allow);
  EXPECT_EQ(p.decide("tools/call", &other, nullptr).rule, Decision::kDefault);
  // The session's own messages and lists pass when no rule names them.
  for (const char* m : {"initialize", "ping", "notifications/initialized", "server/discover", "tools/list"})
    EXPECT_EQ(p.decide(m, nullptr, nullptr).rule, Decision::kPassed) << m;
}

TEST(McpPolicyTest, ListsShowWhatCouldBeCalled) {
  PolicySet p = compile({{"Equals(`mcp.params.name`, `transfer_funds`) && "
                          "LessOrEqual(`mcp.params.arguments.amount`, `1000`)", true},
                         {"Equals(`mcp.params.name`, `transfer_funds`)", false},
                         {"Equals(`mcp.method`, `tools/call`) && Prefix(`mcp.params.name`, `admin_`)", false},
                         {"Prefix(`mcp.params.uri`, `mem://`)", true}},
                        true);
  boost::json::object result = boost::json::parse(R"({"tools":[{"name":"transfer_funds"},{"name":"admin_drop"},
      {"name":"echo"},{"nameless":true}],"nextCursor":"c2"})").as_object();
  EXPECT_EQ(p.filter("tools/list", result, nullptr), 2);
  EXPECT_EQ(boost::json::serialize(result["tools"]), R"([{"name":"transfer_funds"},{"name":"echo"}])");
  EXPECT_EQ(result["nextCursor"], "c2");
  // A deny rule that may match depending on arguments does not hide the tool.
  PolicySet q = compile({{"GreaterThan(`mcp.params.arguments.amount`, `10`)", false}}, true);
  boost::json::object r2 = boost::json::parse(R"({"tools":[{"name":"pay"}]})").as_object();
  EXPECT_EQ(q.filter("tools/list", r2, nullptr), 0);
}

TEST(McpPolicyTest, ListAnswersAreFilteredOrNeverPassed) {
  PolicySet p = compile({{"Equals(`mcp.params.name`, `secret`)", false}}, true);
  int hidden = 0;
  std::string out;
  std::string answer = R"({"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"secret"},{"name":"echo"}]}})";
  ASSERT_EQ(filterListAnswer(answer, "tools/list", p, nullptr, hidden, out), ListAnswer::Filtered);
  EXPECT_EQ(hidden, 1);
  EXPECT_EQ(out.find("secret"), std::string::npos);
  // Whatever id or wrapping the server uses, a result on a list request's answer is the list.
  EXPECT_EQ(filterListAnswer(R"({"jsonrpc":"2.0","id":"7","result":{"tools":[{"name":"secret"}]}})", "tools/list", p,
                             nullptr, hidden, out),
            ListAnswer::Filtered);
  EXPECT_EQ(out.find("secret"), std::string::npos);
  EXPECT_EQ(filterListAnswer(R"([{"jsonrpc":"2.0","id":7,"result":{"tools":[{"name":"secret"}]}}])", "tools/list", p,
                             nullptr, hidden, out),
            ListAnswer::Filtered);
  EXPECT_EQ(out.find("secret"), std::string::npos);
  // Deep schemas parse (boost::json stops at 32 levels by default).
  std::string deep = R"({"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"secret","inputSchema":)" +
                     std::string(40, '[') + std::string(40, ']') + "}]}}";
  EXPECT_EQ(filterListAnswer(deep, "tools/list", p, nullptr, hidden, out), ListAnswer::Filtered);
  EXPECT_EQ(out.find("secret"), std::string::npos);
  EXPECT_EQ(filterListAnswer(R"({"jsonrpc":"2.0","method":"notifications/progress"})", "tools/list", p, nullptr, hidden, out),
            ListAnswer::NotAnswer);
  EXPECT_EQ(filterListAnswer(R"({"jsonrpc":"2.0","id":1,"error":{"code":1,"message":"x"}})", "tools/list", p, nullptr,
                             hidden, out),
            ListAnswer::NotAnswer);
  EXPECT_EQ(filterListAnswer("not json", "tools/list", p, nullptr, hidden, out), ListAnswer::Unreadable);
  EXPECT_EQ(filterListAnswer(R"({"jsonrpc":"2.0","id":1,"result":[1]})", "tools/list", p, nullptr, hidden, out),
            ListAnswer::Unreadable);
}

TEST(McpPolicyTest, RulesReadRequestFieldsAndTokenClaims) {
  std::string error;
  auto e = expr::claims::parse("Equals(`grp`, `admin`) && Equals(`mcp.method`, `tools/call`) && "
                               "Equals(`mcp.nothing`, `x`)", error);
  ASSERT_TRUE(e);
  EXPECT_EQ(PolicySet::checkField(e->fields()[0]), "");
  EXPECT_EQ(PolicySet::checkField(e->fields()[1]), "");
  EXPECT_NE(PolicySet::checkField(e->fields()[2]), "");
}

TEST(McpPolicyTest, ClaimsDecideCallsAndFilterLists) {
  // TBAC: the token's tasks name the tools an agent may call.
  PolicySet p = compile({{"Equals(`mcp.method`, `tools/call`) && Contains(`tasks`, `billing`) && "
                          "Prefix(`mcp.params.name`, `invoice_`)", true},
                         {"Equals(`https://example.com/role`, `admin`)", true}},
                        false);
  auto call = params(R"({"name":"invoice_create"})");
  auto billing = params(R"({"sub":"agent-1","tasks":["billing","search"]})");
  auto search = params(R"({"sub":"agent-2","tasks":["search"]})");
  auto admin = params(R"({"sub":"root","https://example.com/role":"admin"})");
  EXPECT_TRUE(p.decide("tools/call", &call, &billing).allow);
  EXPECT_FALSE(p.decide("tools/call", &call, &search).allow);
  EXPECT_FALSE(p.decide("tools/call", &call, nullptr).allow);
  EXPECT_TRUE(p.decide("tools/call", &call, &admin).allow);
  boost::json::object result =
      boost::json::parse(R"({"tools":[{"name":"invoice_create"},{"name":"wipe"}]})").as_object();
  boost::json::object copy = result;
  EXPECT_EQ(p.filter("tools/list", result, &billing), 1);
  EXPECT_EQ(p.filter("tools/list", copy, &search), 2);
}

}  // namespace
}  // namespace causeway::gateway::mcp

namespace causeway::gateway::mcp {
namespace {

TEST(McpSessionTest, SealedTextRoundTrips) {
  SessionSealer s("k");
  std::string text = R"({"f":1,"v":"2025-11-25","m":[["alpha","http://127.0.0.1:18101","0f8e2b1c-1234-4d5e-9abc-0123456789ab"]]})";
  auto opened = s.openText(s.sealText(text));
  ASSERT_TRUE(opened);
  EXPECT_EQ(*opened, text);
}

}  // namespace
}  // namespace causeway::gateway::mcp

namespace causeway::gateway::mcp {
namespace {

TEST(McpPolicyTest, ResourceTemplatesAreJudgedAsTheUrisTheyExpandTo) {
  PolicySet p = compile({{"Prefix(`mcp.params.uri`, `secret://`)", false}}, true);
  boost::json::object result = boost::json::parse(
      R"({"resourceTemplates":[{"uriTemplate":"secret://{id}"},{"uriTemplate":"mem://{id}"}]})").as_object();
  EXPECT_EQ(p.filter("resources/templates/list", result, nullptr), 1);
  EXPECT_EQ(boost::json::serialize(result["resourceTemplates"]), R"([{"uriTemplate":"mem://{id}"}])");
}

TEST(McpSessionTest, AnIdHasOneSpelling) {
  SessionSealer s("k");
  std::string token = s.seal("http://a", "b");
  ASSERT_TRUE(s.open(token));
  // The last character carries spare bits: a variant that decodes to the same bytes is refused.
  std::string variant = token;
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t at = kAlphabet.find(variant.back());
  int opened = 0;
  for (int d = 1; d < 4; ++d) {
    variant.back() = kAlphabet[(at ^ size_t(d)) % 64];
    opened += s.open(variant) ? 1 : 0;
  }
  EXPECT_EQ(opened, 0);
}

}  // namespace
}  // namespace causeway::gateway::mcp
