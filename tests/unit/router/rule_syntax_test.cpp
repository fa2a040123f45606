// The rule language's syntax: quoting, escapes, whitespace, operators and precedence, matcher
// name spellings.

#include <gtest/gtest.h>

#include "router/rule.h"
#include "rule_test_support.h"

namespace causeway::router {
namespace {

using testing::compileError;
using testing::compileOk;
using testing::host;
using testing::matches;
using testing::path;
using testing::Request;

TEST(RuleSyntaxTest, ParsesSyntaxNames) {
  EXPECT_EQ(parseRuleSyntax("v3"), RuleSyntax::V3);
  EXPECT_EQ(parseRuleSyntax("V3"), RuleSyntax::V3);
  EXPECT_EQ(parseRuleSyntax("v2"), RuleSyntax::V2);
  EXPECT_EQ(parseRuleSyntax("V2"), RuleSyntax::V2);
  EXPECT_EQ(parseRuleSyntax("v1"), std::nullopt);
  EXPECT_EQ(parseRuleSyntax(""), std::nullopt);
  EXPECT_EQ(parseRuleSyntax(" v3"), std::nullopt);
}

TEST(RuleSyntaxTest, KeepsTheRuleText) {
  auto rule = compileOk("Host(`a.com`) && Path(`/`)");
  ASSERT_TRUE(rule);
  EXPECT_EQ(rule->text(), "Host(`a.com`) && Path(`/`)");
}

TEST(RuleSyntaxTest, BacktickAndDoubleQuotedArguments) {
  EXPECT_TRUE(matches("Path(`/a`)", path("/a")));
  EXPECT_TRUE(matches(R"(Path("/a"))", path("/a")));
  EXPECT_TRUE(matches(R"(Header("X-A", `v`))", Request().withHeader("X-A", "v")));
}

TEST(RuleSyntaxTest, DoubleQuotedStringsUseGoEscapes) {
  EXPECT_TRUE(matches(R"(Path("/a\"b"))", path("/a\"b")));
  EXPECT_TRUE(matches(R"(Path("/a\\b"))", path("/a\\b")));
  EXPECT_TRUE(matches(R"(Path("/\x41\102"))", path("/AB")));
  EXPECT_TRUE(matches(R"(Path("/caf\u00e9"))", path("/caf\xC3\xA9")));
  EXPECT_TRUE(matches(R"(Path("/\U0001F600"))", path("/\xF0\x9F\x98\x80")));
  EXPECT_TRUE(matches(R"(Header("X", "a\tb\nc"))", Request().withHeader("X", "a\tb\nc")));
  EXPECT_TRUE(matches(R"(Header("X", "\a\b\f\r\v"))", Request().withHeader("X", "\a\b\f\r\v")));
}

TEST(RuleSyntaxTest, BacktickStringsAreRaw) {
  EXPECT_TRUE(matches(R"(Path(`/a\nb`))", path("/a\\nb")));
  EXPECT_TRUE(matches("Path(`/a\"b`)", path("/a\"b")));
  // Go drops carriage returns from raw strings.
  EXPECT_TRUE(matches("Path(`/a\r\nb`)", path("/a\nb")));
}

TEST(RuleSyntaxTest, WhitespaceBetweenTokens) {
  EXPECT_TRUE(matches("  Host ( `a.com` )\n\t&&\r\n Path(`/`)  ", host("a.com")));
  EXPECT_TRUE(matches("Host(\n`a.com`\n,\n)", host("a.com")));
  EXPECT_TRUE(matches("(\tHost(`a.com`)\t)", host("a.com")));
}

TEST(RuleSyntaxTest, TrailingCommaAfterArgumentsIsAccepted) {
  // Go call syntax allows it, so Traefik does.
  EXPECT_TRUE(matches("Host(`a.com`,)", host("a.com")));
  EXPECT_TRUE(matches("Header(`X`, `1`,)", Request().withHeader("X", "1")));
}

TEST(RuleSyntaxTest, MatcherNameSpellings) {
  for (const char* rule :
       {"PathPrefix(`/a`)", "pathprefix(`/a`)", "PATHPREFIX(`/a`)", "Pathprefix(`/a`)"}) {
    EXPECT_TRUE(matches(rule, path("/a/b"))) << rule;
  }
  for (const char* rule : {"ClientIP(`1.2.3.4`)", "clientip(`1.2.3.4`)", "CLIENTIP(`1.2.3.4`)",
                           "Clientip(`1.2.3.4`)"}) {
    EXPECT_TRUE(matches(rule, Request().withClientIp("1.2.3.4"))) << rule;
  }
  EXPECT_TRUE(matches("HOST(`a.com`) && host(`a.com`) && Host(`a.com`)", host("a.com")));
  for (const char* rule : {"pathPrefix(`/a`)", "PathPREFIX(`/a`)", "PAthprefix(`/a`)",
                           "ClientIp(`1.2.3.4`)", "HostRegExp(`a`)"}) {
    auto error = compileError(rule);
    ASSERT_TRUE(error) << rule;
    EXPECT_EQ(error->offset, 0u) << rule;
    EXPECT_NE(error->message.find("unknown matcher"), std::string::npos) << error->message;
  }
}

TEST(RuleSyntaxTest, AndOrNotPrecedence) {
  // '&&' binds tighter than '||'.
  const char* rule = "Host(`a`) || Host(`b`) && Path(`/x`)";
  EXPECT_TRUE(matches(rule, host("a").withPath("/y")));
  EXPECT_TRUE(matches(rule, host("b").withPath("/x")));
  EXPECT_FALSE(matches(rule, host("b").withPath("/y")));
  // Parentheses change it.
  const char* grouped = "(Host(`a`) || Host(`b`)) && Path(`/x`)";
  EXPECT_FALSE(matches(grouped, host("a").withPath("/y")));
  EXPECT_TRUE(matches(grouped, host("a").withPath("/x")));
  // '!' binds tighter than '&&'.
  const char* negated = "!Host(`a`) && Path(`/x`)";
  EXPECT_TRUE(matches(negated, host("b").withPath("/x")));
  EXPECT_FALSE(matches(negated, host("a").withPath("/x")));
  EXPECT_FALSE(matches(negated, host("b").withPath("/y")));
}

TEST(RuleSyntaxTest, NegationOfGroups) {
  // Cases from Traefik's mux tests.
  const char* notOr = "!(Host(`tchouk`) || Host(`toto`))";
  EXPECT_FALSE(matches(notOr, host("tchouk")));
  EXPECT_FALSE(matches(notOr, host("toto")));
  EXPECT_TRUE(matches(notOr, host("test")));
  const char* notAnd = "!(Host(`tchouk`) && !Path(`/titi`))";
  EXPECT_TRUE(matches(notAnd, host("tchouk").withPath("/titi")));
  EXPECT_TRUE(matches(notAnd, host("toto").withPath("/titi")));
  EXPECT_FALSE(matches(notAnd, host("tchouk").withPath("/toto")));
  const char* doubleNot = "!(!(Host(`tchouk`) && Pathprefix(`/titi`)))";
  EXPECT_TRUE(matches(doubleNot, host("tchouk").withPath("/titi")));
  EXPECT_FALSE(matches(doubleNot, host("tchouk").withPath("/powpow")));
  EXPECT_FALSE(matches(doubleNot, host("test").withPath("/titi")));
  EXPECT_TRUE(matches("!!Host(`a`)", host("a")));
  EXPECT_TRUE(matches("! ! ! Host(`a`)", host("b")));
}

TEST(RuleSyntaxTest, LongChainsOfOperators) {
  std::string rule = "Path(`/0`)";
  for (int i = 1; i < 2000; ++i)
    rule += " || Path(`/" + std::to_string(i) + "`)";
  EXPECT_TRUE(matches(rule, path("/1999")));
  EXPECT_FALSE(matches(rule, path("/2000")));
  std::string andRule = "PathPrefix(`/`)";
  for (int i = 0; i < 2000; ++i)
    andRule += " && Method(`GET`)";
  EXPECT_TRUE(matches(andRule, path("/x")));
}

TEST(RuleSyntaxTest, NestingIsBounded) {
  std::string deep(50, '(');
  deep += "Path(`/`)" + std::string(50, ')');
  EXPECT_TRUE(matches(deep, path("/")));
  std::string tooDeep(5000, '(');
  tooDeep += "Path(`/`)" + std::string(5000, ')');
  auto error = compileError(tooDeep);
  ASSERT_TRUE(error);
  EXPECT_NE(error->message.find("nested too deeply"), std::string::npos);
  auto bangs = compileError(std::string(5000, '!') + "Path(`/`)");
  ASSERT_TRUE(bangs);
  EXPECT_NE(bangs->message.find("nested too deeply"), std::string::npos);
}

} // namespace
} // namespace causeway::router
