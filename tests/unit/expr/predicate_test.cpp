// The expression language of circuitBreaker.expression and buffering.retryExpression
// (vulcand/predicate semantics): parsing, typing errors, evaluation.
#include <gtest/gtest.h>

#include <array>
#include <map>

#include "expr/predicate.h"

namespace causeway::expr::predicate {
namespace {

enum { kRatio, kCodes, kLatency, kThreshold, kMethod, kNet, kAttempts };

const std::array<Function, 7> kFns = {{
    {"NetworkErrorRatio", {}, Type::Float},
    {"ResponseCodeRatio", {Type::Int, Type::Int, Type::Int, Type::Int}, Type::Float},
    {"LatencyAtQuantileMS", {Type::Float}, Type::Int},
    {"RequestThreshold", {}, Type::Int},
    {"RequestMethod", {}, Type::String},
    {"IsNetworkError", {}, Type::Predicate},
    {"Attempts", {}, Type::Int},
}};

struct World {
  double ratio = 0;
  double codes = 0;
  int64_t latency = 0;
  int64_t threshold = 0;
  std::string method = "GET";
  bool net = false;
  int64_t attempts = 1;
  std::vector<Value> lastCodesArgs;

  Resolver resolver() {
    return [this](int f, const std::vector<Value>& args) {
      Value v;
      switch (f) {
      case kRatio:
        v.type = Type::Float;
        v.f = ratio;
        break;
      case kCodes:
        v.type = Type::Float;
        v.f = codes;
        lastCodesArgs = args;
        break;
      case kLatency:
        v.i = latency;
        break;
      case kThreshold:
        v.i = threshold;
        break;
      case kMethod:
        v.type = Type::String;
        v.s = method;
        break;
      case kNet:
        v.type = Type::Predicate;
        v.i = net;
        break;
      case kAttempts:
        v.i = attempts;
        break;
      }
      return v;
    };
  }
};

std::optional<Expression> compile(std::string_view text) {
  std::string error;
  auto e = parse(text, kFns, error);
  if (!e) EXPECT_FALSE(error.empty()) << text;
  return e;
}

TEST(PredicateTest, FloatComparisons) {
  auto e = compile("NetworkErrorRatio() > 0.5");
  ASSERT_TRUE(e);
  World w;
  w.ratio = 0.5;
  EXPECT_FALSE(e->evaluate(w.resolver()));
  w.ratio = 0.51;
  EXPECT_TRUE(e->evaluate(w.resolver()));
  for (auto [text, value, expected] : std::vector<std::tuple<const char*, double, bool>>{
           {"NetworkErrorRatio() >= 0.5", 0.5, true},
           {"NetworkErrorRatio() < 0.5", 0.5, false},
           {"NetworkErrorRatio() <= 0.5", 0.5, true},
           {"NetworkErrorRatio() == 0.5", 0.5, true},
           {"NetworkErrorRatio() != 0.5", 0.5, false},
           {"NetworkErrorRatio() > 1e-1", 0.2, true},
           {"NetworkErrorRatio() > .25", 0.2, false},
       }) {
    auto ex = compile(text);
    ASSERT_TRUE(ex) << text;
    World v;
    v.ratio = value;
    EXPECT_EQ(ex->evaluate(v.resolver()), expected) << text;
  }
}

TEST(PredicateTest, FunctionArgumentsAreTyped) {
  auto e = compile("ResponseCodeRatio(500, 600, 0, 600) > 0.25");
  ASSERT_TRUE(e);
  World w;
  w.codes = 0.3;
  EXPECT_TRUE(e->evaluate(w.resolver()));
  ASSERT_EQ(w.lastCodesArgs.size(), 4u);
  EXPECT_EQ(w.lastCodesArgs[0].i, 500);
  EXPECT_EQ(w.lastCodesArgs[3].i, 600);
  EXPECT_TRUE(compile("LatencyAtQuantileMS(50.0) > 100"));
  std::string error;
  EXPECT_FALSE(parse("LatencyAtQuantileMS(50) > 100", kFns, error));  // the quantile is a float
  EXPECT_FALSE(parse("ResponseCodeRatio(500.0, 600, 0, 600) > 0.5", kFns, error));
  EXPECT_FALSE(parse("ResponseCodeRatio(500, 600, 0) > 0.5", kFns, error));
  EXPECT_FALSE(parse("NetworkErrorRatio(1) > 0.5", kFns, error));
}

TEST(PredicateTest, LiteralMustMatchTheFunctionType) {
  std::string error;
  EXPECT_FALSE(parse("NetworkErrorRatio() > 1", kFns, error));            // int literal for a float
  EXPECT_FALSE(parse("LatencyAtQuantileMS(50.0) > 100.5", kFns, error));  // float for an int
  EXPECT_FALSE(parse("RequestThreshold() >= 2.0", kFns, error));
  EXPECT_TRUE(parse("RequestThreshold() >= 2", kFns, error)) << error;
  EXPECT_FALSE(parse("0.5 < NetworkErrorRatio()", kFns, error));  // function on the left only
  EXPECT_FALSE(parse("RequestMethod() > \"GET\"", kFns, error));  // strings: == and != only
  EXPECT_TRUE(parse("RequestMethod() == \"GET\"", kFns, error)) << error;
  EXPECT_FALSE(parse("RequestMethod() == 1", kFns, error));
}

TEST(PredicateTest, LogicalOperatorsAndPrecedence) {
  auto e = compile("ResponseCodeRatio(500, 600, 0, 600) > 0.30 || NetworkErrorRatio() > 0.10 && "
                   "RequestThreshold() >= 20");
  ASSERT_TRUE(e);
  World w;
  w.codes = 0.4;  // left side of || alone is enough
  EXPECT_TRUE(e->evaluate(w.resolver()));
  w.codes = 0;
  w.ratio = 0.5;
  w.threshold = 10;
  EXPECT_FALSE(e->evaluate(w.resolver()));  // && binds tighter: ratio true but threshold false
  w.threshold = 20;
  EXPECT_TRUE(e->evaluate(w.resolver()));

  auto p = compile("(ResponseCodeRatio(500, 600, 0, 600) > 0.30 || NetworkErrorRatio() > 0.10) && "
                   "RequestThreshold() >= 20");
  ASSERT_TRUE(p);
  World v;
  v.codes = 0.4;
  v.threshold = 5;
  EXPECT_FALSE(p->evaluate(v.resolver()));
  v.threshold = 25;
  EXPECT_TRUE(p->evaluate(v.resolver()));
}

TEST(PredicateTest, PredicateFunctions) {
  auto e = compile("IsNetworkError() && Attempts() <= 2");
  ASSERT_TRUE(e);
  World w;
  w.net = true;
  w.attempts = 2;
  EXPECT_TRUE(e->evaluate(w.resolver()));
  w.attempts = 3;
  EXPECT_FALSE(e->evaluate(w.resolver()));
  w.attempts = 1;
  w.net = false;
  EXPECT_FALSE(e->evaluate(w.resolver()));
  EXPECT_TRUE(compile("IsNetworkError()"));
  EXPECT_TRUE(compile("(IsNetworkError())"));
  std::string error;
  EXPECT_FALSE(parse("IsNetworkError() == 1", kFns, error));
}

TEST(PredicateTest, Rejected) {
  std::string error;
  for (const char* text :
       {"", "NetworkErrorRatio()", "0.5", "!IsNetworkError()", "NetworkErrorRatio() > -0.5",
        "Unknown() > 1", "Attempts", "Attempts() + 1 > 2", "Attempts() > 1 > 0",
        "Attempts() > 0x10", "Attempts() > 1_0", "Attempts() >", "(Attempts() > 1",
        "Attempts() > 1 Attempts() > 2", "Attempts() > 1\n&& IsNetworkError()", "Attempts() = 1",
        "Attempts() > 'a'", "IsNetworkError() && 1"}) {
    error.clear();
    EXPECT_FALSE(parse(text, kFns, error)) << "accepted: " << text;
    EXPECT_FALSE(error.empty()) << text;
  }
}

TEST(PredicateTest, WhitespaceAndTrailingNewline) {
  EXPECT_TRUE(compile("  Attempts()<=2&&IsNetworkError()\n"));
  EXPECT_TRUE(compile("Attempts() <= 2 &&\n IsNetworkError()"));
  EXPECT_TRUE(compile("RequestMethod() == `GET` || RequestMethod() == \"P\\x4fST\""));
  auto e = compile("RequestMethod() == \"P\\x4fST\"");
  ASSERT_TRUE(e);
  World w;
  w.method = "POST";
  EXPECT_TRUE(e->evaluate(w.resolver()));
}

}  // namespace
}  // namespace causeway::expr::predicate
