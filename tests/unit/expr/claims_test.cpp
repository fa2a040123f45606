// The claims language of the jwt/oidc/mcp middlewares (expr/claims.h): parsing, the functions'
// semantics over strings, numbers, booleans and arrays, and three-valued evaluation.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "expr/claims.h"

namespace causeway::expr::claims {
namespace {

class Doc final : public Resolver {
 public:
  explicit Doc(std::string_view json, std::string unknownPrefix = "") : root_(boost::json::parse(json)), unknown_(std::move(unknownPrefix)) {}
  const boost::json::value* find(const Field& f) const override {
    if (!unknown_.empty() && f.text.rfind(unknown_, 0) == 0) return unknown();
    return walk(root_, f.path);
  }

 private:
  boost::json::value root_;
  std::string unknown_;
};

Truth eval(std::string_view expr, const Resolver& doc) {
  std::string error;
  auto e = parse(expr, error);
  EXPECT_TRUE(e) << expr << ": " << error;
  return e ? e->evaluate(doc) : Truth::False;
}

TEST(ClaimsTest, FunctionsOverScalars) {
  Doc d(R"({"grp":"admin","iss":"https://id.example","scope":"read write","n":42,"ok":true,"f":1.5,
            "user":{"dept":"ops"}})");
  EXPECT_EQ(eval("Equals(`grp`, `admin`)", d), Truth::True);
  EXPECT_EQ(eval("Equals(`grp`, `adm`)", d), Truth::False);
  EXPECT_EQ(eval("Prefix(`iss`, `https://`)", d), Truth::True);
  EXPECT_EQ(eval("Contains(`scope`, `ad wr`)", d), Truth::True);
  EXPECT_EQ(eval("SplitContains(`scope`, ` `, `write`)", d), Truth::True);
  EXPECT_EQ(eval("SplitContains(`scope`, ` `, `wri`)", d), Truth::False);
  EXPECT_EQ(eval(R"(OneOf("grp", "dev", "admin"))", d), Truth::True);
  EXPECT_EQ(eval("Equals(`n`, `42`)", d), Truth::True);
  EXPECT_EQ(eval("Equals(`ok`, `true`)", d), Truth::True);
  EXPECT_EQ(eval("Equals(`user.dept`, `ops`)", d), Truth::True);
  EXPECT_EQ(eval("Equals(`user.missing`, `ops`)", d), Truth::False);
  EXPECT_EQ(eval("Equals(`user`, `ops`)", d), Truth::False);  // an object is no scalar
  EXPECT_EQ(eval("LessThan(`n`, `42.5`)", d), Truth::True);
  EXPECT_EQ(eval("LessOrEqual(`n`, `42`)", d), Truth::True);
  EXPECT_EQ(eval("GreaterThan(`f`, `1.5`)", d), Truth::False);
  EXPECT_EQ(eval("GreaterOrEqual(`f`, `1.5`)", d), Truth::True);
  EXPECT_EQ(eval("LessThan(`grp`, `10`)", d), Truth::Unknown);  // there, but not a number
  EXPECT_EQ(eval("LessThan(`nothere`, `10`)", d), Truth::False);
}

TEST(ClaimsTest, Arrays) {
  Doc d(R"({"groups":["dev","ops-team"],"nums":[1,2]})");
  EXPECT_EQ(eval("Contains(`groups`, `dev`)", d), Truth::True);
  EXPECT_EQ(eval("Contains(`groups`, `ops`)", d), Truth::False);  // an element, not a substring
  EXPECT_EQ(eval("Prefix(`groups`, `ops`)", d), Truth::True);
  EXPECT_EQ(eval("OneOf(`groups`, `x`, `ops-team`)", d), Truth::True);
  EXPECT_EQ(eval("Contains(`nums`, `2`)", d), Truth::True);
}

TEST(ClaimsTest, OperatorsAndPrecedence) {
  Doc d(R"({"a":"1","b":"2"})");
  EXPECT_EQ(eval("Equals(`a`,`1`) && Equals(`b`,`2`)", d), Truth::True);
  EXPECT_EQ(eval("Equals(`a`,`0`) || Equals(`b`,`2`) && Equals(`a`,`1`)", d), Truth::True);
  EXPECT_EQ(eval("(Equals(`a`,`0`) || Equals(`b`,`2`)) && Equals(`a`,`0`)", d), Truth::False);
  EXPECT_EQ(eval("!Equals(`a`,`0`)", d), Truth::True);
  EXPECT_EQ(eval("!!Equals(`a`,`0`)", d), Truth::False);
  EXPECT_EQ(eval("!(Equals(`a`,`1`) && Equals(`b`,`2`))", d), Truth::False);
}

TEST(ClaimsTest, UnknownFieldsFollowKleeneLogic) {
  Doc d(R"({"mcp":{"method":"tools/call","params":{"name":"pay"}}})", "mcp.params.arguments");
  const char* cap = "Equals(`mcp.params.name`, `pay`) && LessOrEqual(`mcp.params.arguments.amount`, `100`)";
  EXPECT_EQ(eval(cap, d), Truth::Unknown);
  EXPECT_EQ(eval("Equals(`mcp.params.name`, `other`) && LessOrEqual(`mcp.params.arguments.amount`, `100`)", d),
            Truth::False);
  EXPECT_EQ(eval("Equals(`mcp.params.name`, `pay`) || LessOrEqual(`mcp.params.arguments.amount`, `100`)", d),
            Truth::True);
  EXPECT_EQ(eval("!LessOrEqual(`mcp.params.arguments.amount`, `100`)", d), Truth::Unknown);
}

TEST(ClaimsTest, ErrorsNameWhatWasExpected) {
  std::string error;
  EXPECT_FALSE(parse("Equal(`a`, `b`)", error));
  EXPECT_NE(error.find("expected a function"), std::string::npos) << error;
  EXPECT_FALSE(parse("Equals(`a`)", error));
  EXPECT_NE(error.find("Equals takes a field and one value"), std::string::npos) << error;
  EXPECT_FALSE(parse("Equals(`a`, `b`) &&", error));
  EXPECT_FALSE(parse("Equals(`a`, `b`) Equals(`a`, `b`)", error));
  EXPECT_NE(error.find("`&&`, `||` or the end"), std::string::npos) << error;
  EXPECT_FALSE(parse("LessThan(`a`, `ten`)", error));
  EXPECT_NE(error.find("is not a number"), std::string::npos) << error;
  EXPECT_FALSE(parse("(Equals(`a`, `b`)", error));
  EXPECT_FALSE(parse("Equals(`a`, `b)", error));
  EXPECT_FALSE(parse("", error));
  EXPECT_FALSE(parse(std::string(200, '(') + "Equals(`a`,`b`)" + std::string(200, ')'), error));
  EXPECT_NE(error.find("nested"), std::string::npos) << error;
}

TEST(ClaimsTest, FieldsAreSharedAndListed) {
  std::string error;
  auto e = parse("Equals(`mcp.method`, `a`) || Equals(`mcp.method`, `b`) && Prefix(`sub`, `x`)", error);
  ASSERT_TRUE(e) << error;
  ASSERT_EQ(e->fields().size(), 2u);
  EXPECT_EQ(e->fields()[0].path, (std::vector<std::string>{"mcp", "method"}));
}

}  // namespace
}  // namespace causeway::expr::claims
