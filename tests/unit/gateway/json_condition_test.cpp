// The llm-guard's block conditions over a guard's JSON reply.
#include <gtest/gtest.h>

#include "gateway/ai/json_condition.h"

namespace causeway::gateway::ai {
namespace {

bool holds(std::string_view condition, std::string_view document) {
  std::string error;
  auto c = JsonCondition::parse(condition, error);
  EXPECT_TRUE(c) << condition << ": " << error;
  return c && c->evaluate(boost::json::parse(document));
}

TEST(JsonConditionTest, PathsComparisonsAndLogic) {
  std::string_view reply = R"({"results": [{"flagged": true, "score": 0.91, "label": "unsafe S1"}], "tags": ["a", "b"]})";
  EXPECT_TRUE(holds("results.0.flagged == true", reply));
  EXPECT_TRUE(holds("results.0.flagged", reply));
  EXPECT_FALSE(holds("!results.0.flagged", reply));
  EXPECT_TRUE(holds("results.0.score > 0.8 && results.0.label contains \"unsafe\"", reply));
  EXPECT_TRUE(holds("results.0.score > 0.95 || tags contains \"b\"", reply));
  EXPECT_FALSE(holds("results.1.flagged", reply));            // absent: false
  EXPECT_TRUE(holds("results.1.flagged == null", reply));     // absent compares as null
  EXPECT_TRUE(holds("(results.0.score < 0.5 || results.0.flagged) && tags.1 == \"b\"", reply));
  EXPECT_FALSE(holds("results.0.label != \"unsafe S1\"", reply));
}

TEST(JsonConditionTest, ErrorsSayWhere) {
  std::string error;
  EXPECT_FALSE(JsonCondition::parse("a ==", error));
  EXPECT_NE(error.find("at 4"), std::string::npos) << error;
  EXPECT_FALSE(JsonCondition::parse("a == \"open", error));
  EXPECT_FALSE(JsonCondition::parse("(a", error));
  EXPECT_FALSE(JsonCondition::parse("a b", error));
}

}  // namespace
}  // namespace causeway::gateway::ai
