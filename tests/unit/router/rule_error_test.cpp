// Every way a rule can be rejected, with the offset the error points at.

#include <gtest/gtest.h>

#include "router/rule.h"
#include "rule_test_support.h"

namespace causeway::router {
namespace {

using testing::compileError;

struct ErrorCase {
  const char* rule;
  size_t offset;
  const char* messagePart;
  RuleSyntax syntax = RuleSyntax::V3;
};

class RuleErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RuleErrorTest, PointsAtTheOffendingCharacter) {
  const ErrorCase& c = GetParam();
  auto error = compileError(c.rule, c.syntax);
  ASSERT_TRUE(error) << "compiled: " << c.rule;
  EXPECT_EQ(error->offset, c.offset) << error->describe(c.rule);
  EXPECT_NE(error->message.find(c.messagePart), std::string::npos) << "message: " << error->message;
}

INSTANTIATE_TEST_SUITE_P(
    Syntax, RuleErrorTest,
    ::testing::Values(
        ErrorCase{"", 0, "empty rule"}, ErrorCase{" \t\n", 0, "empty rule"},
        ErrorCase{"Host(`a`", 8, "expected ',' or ')' after the arguments of Host"},
        ErrorCase{"Host(`a` `b`)", 9, "expected ',' or ')' after the arguments of Host"},
        ErrorCase{"Host('a')", 5, "single quotes"},
        ErrorCase{"Host(a)", 5, "expected a string argument"},
        ErrorCase{"Host(1)", 5, "unexpected character '1'"},
        ErrorCase{"Host(Path(`/`))", 5, "expected a string argument"},
        ErrorCase{"Host(,)", 5, "expected a string argument"},
        ErrorCase{"Host `a`", 5, "expected '(' after Host"},
        ErrorCase{"Host", 4, "expected '(' after Host"},
        ErrorCase{"Host(`a`) && ", 13, "expected a matcher"},
        ErrorCase{"&& Host(`a`)", 0, "expected a matcher"},
        ErrorCase{"Host(`a`) Path(`/`)", 10, "unexpected 'Path'"},
        ErrorCase{"Host(`a`))", 9, "unbalanced ')'"},
        ErrorCase{"(Host(`a`)", 10, "expected ')' to close the '(' at offset 0"},
        ErrorCase{"((Host(`a`) || Path(`/`)) && Method(`GET`)", 42, "expected ')'"},
        ErrorCase{"()", 1, "expected a matcher"}, ErrorCase{"!", 1, "expected a matcher"},
        ErrorCase{"`a`", 0, "found a string"}, ErrorCase{"Host(`a`) & Path(`/`)", 10, "'&&'"},
        ErrorCase{"Host(`a`) | Path(`/`)", 10, "'||'"},
        ErrorCase{"Host(`a`) and Path(`/`)", 10, "unexpected 'and'"},
        ErrorCase{"Host(`a`) != Path(`/`)", 10, "unexpected '!'"},
        ErrorCase{"Host(`a`) // comment", 10, "unexpected character '/'"},
        ErrorCase{"Host(\"a)", 5, "unterminated string"},
        ErrorCase{"Host(\"a\n\")", 5, "unterminated string"},
        ErrorCase{"Host(`a)", 5, "unterminated string"},
        ErrorCase{"Path(\"/\\q\")", 7, "unknown escape sequence"},
        ErrorCase{"Path(\"/\\'\")", 7, "unknown escape sequence"},
        ErrorCase{"Path(\"/\\x4\")", 7, "\\x escape"},
        ErrorCase{"Path(\"/\\u12\")", 7, "\\u escape"},
        ErrorCase{"Path(\"/\\uD800\")", 7, "invalid Unicode code point"},
        ErrorCase{"Path(\"/\\400\")", 7, "above 255"}, ErrorCase{"Path(\"/\\19\")", 7, "octal"},
        ErrorCase{"Path(`/\xff`)", 7, "invalid UTF-8"},
        ErrorCase{"Path(`/\xc0\x80`)", 7, "invalid UTF-8"},
        ErrorCase{"Path(\"/a\") \xe2\x82", 11, "invalid UTF-8"},
        ErrorCase{"Host(`\xc3\xa9`) \xc3\xa9", 11, "unexpected character '\xc3\xa9'"}));

INSTANTIATE_TEST_SUITE_P(
    Matchers, RuleErrorTest,
    ::testing::Values(
        ErrorCase{"Foo(`a`)", 0, "unknown matcher Foo"},
        ErrorCase{"Host(`a`) && Bar(`b`)", 13, "unknown matcher Bar"},
        ErrorCase{"hOST(`a`)", 0, "write it Host, host or HOST"},
        ErrorCase{"Headers(`a`, `b`)", 0, "v2 rule syntax; use Header"},
        ErrorCase{"HostHeader(`a`)", 0, "use Host"},
        ErrorCase{"PathRegexp(`/a`)", 0, "only in the v3 rule syntax", RuleSyntax::V2},
        ErrorCase{"Header(`a`, `b`)", 0, "only in the v3 rule syntax", RuleSyntax::V2},
        ErrorCase{"Host()", 5, "Host expects 1 argument, got 0"},
        ErrorCase{"Host(`a`, `b`)", 10, "Host expects 1 argument, got 2"},
        ErrorCase{"Method(`GET`, `POST`)", 14, "Method expects 1 argument"},
        ErrorCase{"ClientIP(`1.2.3.4`, `::1`)", 20, "ClientIP expects 1 argument"},
        ErrorCase{"Header(`X`)", 10, "Header expects 2 arguments, got 1"},
        ErrorCase{"HeaderRegexp(`X`, `a`, `b`)", 23, "HeaderRegexp expects 2 arguments"},
        ErrorCase{"Query(`a`,`b`,`c`)", 14, "Query expects 1 or 2 arguments, got 3"},
        ErrorCase{"QueryRegexp()", 12, "QueryRegexp expects 1 or 2 arguments, got 0"},
        ErrorCase{"Host(``)", 5, "empty argument for Host"},
        ErrorCase{"Header(`X`, ``)", 12, "empty argument for Header"},
        ErrorCase{"Query(`a`, \"\")", 11, "empty argument for Query"},
        ErrorCase{"Host(`b\xc3\xbc.com`)", 5, "non-ASCII"},
        ErrorCase{"Host(\"\\u00fc.com\")", 5, "non-ASCII"},
        ErrorCase{"HostRegexp(`\xc3\xbc`)", 11, "non-ASCII"},
        ErrorCase{"HostRegexp(`(a`)", 11, "invalid regular expression in HostRegexp"},
        ErrorCase{"Path(`foo`)", 5, "must start with '/'"},
        ErrorCase{"PathPrefix(`foo`)", 11, "must start with '/'"},
        ErrorCase{"PathRegexp(`(`)", 11, "invalid regular expression in PathRegexp"},
        ErrorCase{"PathRegexp(`a{1001}`)", 11, "invalid regular expression"},
        ErrorCase{"PathRegexp(`(?<=a)b`)", 11, "invalid regular expression"},
        ErrorCase{"HeaderRegexp(`X`, `[`)", 18, "invalid regular expression in HeaderRegexp"},
        ErrorCase{"QueryRegexp(`a`, `*`)", 17, "invalid regular expression in QueryRegexp"},
        ErrorCase{"ClientIP(`10.0.0.300`)", 9, "invalid IP address or CIDR"},
        ErrorCase{"ClientIP(`10.0.0.0/33`)", 9, "invalid IP address or CIDR"},
        ErrorCase{"ClientIP(`[::1]`)", 9, "invalid IP address or CIDR"},
        ErrorCase{"ClientIP(`fe80::1%eth0`)", 9, "invalid IP address or CIDR"},
        ErrorCase{"ClientIP(`example.com`)", 9, "invalid IP address or CIDR"},
        ErrorCase{"Path(`/`) || ClientIP(`x`)", 22, "invalid IP address"}));

INSTANTIATE_TEST_SUITE_P(
    V2Matchers, RuleErrorTest,
    ::testing::Values(
        ErrorCase{"Host()", 5, "at least 1 argument", RuleSyntax::V2},
        ErrorCase{"Host(`a`, ``)", 10, "empty argument for Host", RuleSyntax::V2},
        ErrorCase{"Host(`\xf0\x9f\xa6\xad.com`)", 5, "non-ASCII", RuleSyntax::V2},
        ErrorCase{"Path(`/a`, `css`)", 11, "must start with '/'", RuleSyntax::V2},
        ErrorCase{"PathPrefix(`css`)", 11, "must start with '/'", RuleSyntax::V2},
        ErrorCase{"Path(`/{id`)", 5, "unbalanced braces", RuleSyntax::V2},
        ErrorCase{"Path(`/id}`)", 5, "unbalanced braces", RuleSyntax::V2},
        ErrorCase{"Path(`/{:[0-9]+}`)", 5, "missing name or pattern", RuleSyntax::V2},
        ErrorCase{"Path(`/{id:}`)", 5, "missing name or pattern", RuleSyntax::V2},
        ErrorCase{"Path(`/{id:(}`)", 5, "invalid template in Path", RuleSyntax::V2},
        ErrorCase{"HostRegexp(`{test`)", 11, "unbalanced braces", RuleSyntax::V2},
        ErrorCase{"Headers(`X-Forwarded-Host`)", 8, "odd number", RuleSyntax::V2},
        ErrorCase{"Headers(`a`, `b`, `c`)", 18, "odd number", RuleSyntax::V2},
        ErrorCase{"Headers(``, `example.com`)", 8, "empty argument", RuleSyntax::V2},
        ErrorCase{"HeadersRegexp(`X`, `(a`)", 19, "invalid regular expression", RuleSyntax::V2},
        ErrorCase{"Query(`titi`)", 6, "odd number", RuleSyntax::V2},
        ErrorCase{"Query(`titi={test`)", 6, "unbalanced braces", RuleSyntax::V2},
        ErrorCase{"Query(`a={x}`, `b={x}`)", 15, "duplicated template variable x", RuleSyntax::V2},
        ErrorCase{"ClientIP(`1.2.3.4`, `nope`)", 20, "invalid IP address", RuleSyntax::V2},
        ErrorCase{"Method()", 7, "at least 1 argument", RuleSyntax::V2}));

TEST(RuleErrorDescribeTest, ShowsTheRuleAndACaret) {
  std::string rule = "Host(`a`) && Foo(`b`)";
  auto error = compileError(rule);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->describe(rule), "unknown matcher Foo (at offset 13)\n"
                                   "  Host(`a`) && Foo(`b`)\n"
                                   "               ^");
}

TEST(RuleErrorDescribeTest, MultiLineRuleShowsTheLineAndColumn) {
  std::string rule = "Host(`a`) &&\n\tPath(`x`)";
  auto error = compileError(rule);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->offset, 19u);
  EXPECT_EQ(error->describe(rule),
            "the path of Path must start with '/' (at offset 19, line 2, column 7)\n"
            "  \tPath(`x`)\n"
            "  \t     ^");
}

TEST(RuleErrorDescribeTest, CaretAtTheEndOfTheRule) {
  std::string rule = "Host(`a`) ||";
  auto error = compileError(rule);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->offset, rule.size());
  std::string text = error->describe(rule);
  EXPECT_TRUE(text.ends_with("  Host(`a`) ||\n              ^")) << text;
}

TEST(RuleErrorDescribeTest, OffsetBeyondTheRuleIsClamped) {
  RuleError error{100, "boom"};
  EXPECT_EQ(error.describe("ab"), "boom (at offset 100)\n  ab\n    ^");
}

} // namespace
} // namespace causeway::router
