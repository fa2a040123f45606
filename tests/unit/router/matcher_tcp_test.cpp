// TCP router rules (router/matcher_tcp.cpp, docs/tcp-udp.md): HostSNI with wildcards and the
// catch-all, HostSNIRegexp, ClientIP and ALPN; Traefik's argument checks; what the snapshot
// builder asks of a compiled TCP rule (needsClientHello, isCatchAll, hosts).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "router/rule.h"

namespace causeway::router {
namespace {

CompiledRulePtr tcpRule(std::string_view text, RuleSyntax syntax = RuleSyntax::V3) {
  auto result = compileTcpRule(text, syntax);
  if (auto* error = std::get_if<RuleError>(&result)) {
    ADD_FAILURE() << text << ": " << error->message;
    return nullptr;
  }
  return std::get<CompiledRulePtr>(result);
}

std::string tcpError(std::string_view text) {
  auto result = compileTcpRule(text, RuleSyntax::V3);
  auto* error = std::get_if<RuleError>(&result);
  return error ? error->message : std::string("compiled");
}

bool matches(const CompiledRule& rule, std::string_view sni, std::optional<std::string> ip = std::nullopt,
             std::vector<std::string> alpn = {}) {
  MatchInput input;
  input.host = sni;
  std::optional<net::IpAddress> address;
  if (ip) address = net::IpAddress::parse(*ip);
  if (address) input.clientIp = &*address;
  input.alpn = &alpn;
  return rule.matches(input);
}

TEST(TcpRule, HostSniExactWildcardAndCatchAll) {
  auto exact = tcpRule("HostSNI(`DB.example.com.`)");
  ASSERT_TRUE(exact);
  EXPECT_TRUE(matches(*exact, "db.example.com"));
  EXPECT_FALSE(matches(*exact, "other.example.com"));
  EXPECT_FALSE(matches(*exact, ""));
  EXPECT_TRUE(exact->needsClientHello());
  EXPECT_FALSE(exact->isCatchAll());
  EXPECT_EQ(exact->hosts(), std::vector<std::string>{"db.example.com"});

  auto wildcard = tcpRule("HostSNI(`*.example.com`)");
  EXPECT_TRUE(matches(*wildcard, "a.example.com"));
  EXPECT_FALSE(matches(*wildcard, "a.b.example.com"));
  EXPECT_FALSE(matches(*wildcard, "example.com"));

  auto any = tcpRule("HostSNI(`*`)");
  EXPECT_TRUE(matches(*any, ""));
  EXPECT_TRUE(matches(*any, "x.org"));
  EXPECT_FALSE(any->needsClientHello());
  EXPECT_TRUE(any->isCatchAll());
}

TEST(TcpRule, RegexpClientIpAlpnAndOperators) {
  auto regexp = tcpRule("HostSNIRegexp(`^.+\\.example\\.com$`)");
  EXPECT_TRUE(matches(*regexp, "c.example.com"));
  EXPECT_FALSE(matches(*regexp, "example.org"));
  EXPECT_TRUE(regexp->needsClientHello());

  auto ip = tcpRule("HostSNI(`*`) && ClientIP(`10.0.0.0/8`)");
  EXPECT_TRUE(matches(*ip, "", "10.1.2.3"));
  EXPECT_FALSE(matches(*ip, "", "127.0.0.1"));
  EXPECT_FALSE(ip->needsClientHello());
  EXPECT_FALSE(ip->isCatchAll());

  auto alpn = tcpRule("HostSNI(`a.example.com`) && (ALPN(`h2`) || !ALPN(`postgresql`))");
  EXPECT_TRUE(matches(*alpn, "a.example.com", std::nullopt, {"http/1.1", "h2"}));
  EXPECT_TRUE(matches(*alpn, "a.example.com", std::nullopt, {}));
  EXPECT_FALSE(matches(*alpn, "a.example.com", std::nullopt, {"postgresql"}));
  EXPECT_TRUE(alpn->usesAlpn());
}

TEST(TcpRule, V2TakesSeveralValues) {
  auto rule = tcpRule("HostSNI(`a.com`, `b.com`)", RuleSyntax::V2);
  ASSERT_TRUE(rule);
  EXPECT_TRUE(matches(*rule, "b.com"));
  EXPECT_FALSE(matches(*rule, "c.com"));
  EXPECT_NE(tcpError("HostSNI(`a.com`, `b.com`)").find("expects 1 argument"), std::string::npos);
}

TEST(TcpRule, TraefiksErrors) {
  EXPECT_NE(tcpError("Host(`a.com`)").find("unknown TCP matcher Host"), std::string::npos);
  EXPECT_NE(tcpError("ALPN(`acme-tls/1`)").find("is not allowed"), std::string::npos);
  EXPECT_NE(tcpError("HostSNI(`a b`)").find("is not a valid hostname"), std::string::npos);
  EXPECT_NE(tcpError("ClientIP(`300.1.1.1`)"), "compiled");
  EXPECT_NE(tcpError("HostSNI(``)").find("empty argument"), std::string::npos);
  auto result = compileTcpRule("PathPrefix(`/`)", RuleSyntax::V3);
  ASSERT_TRUE(std::holds_alternative<RuleError>(result));
  EXPECT_EQ(std::get<RuleError>(result).traefik, "unsupported function: PathPrefix");
}

}  // namespace
}  // namespace causeway::router
