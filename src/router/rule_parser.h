// Syntax of the rule language, independent of which matchers exist: an expression of calls
// `Name(arg, ...)` with string arguments, combined with `!`, `&&`, `||` and parentheses
// (precedence ! > && > ||). The result is a small syntax tree that the rule compiler turns into
// matchers; it keeps byte offsets so later errors can point into the rule.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "router/rule.h"

namespace causeway::router::detail {

struct RuleArgument {
  std::string value; // decoded
  size_t offset = 0; // offset of the opening quote
};

struct RuleCall {
  std::string_view name; // as written; views the rule text
  size_t nameOffset = 0;
  std::vector<RuleArgument> args;
  size_t closeOffset = 0; // offset of the closing ')'
};

struct AstNode {
  enum class Kind : uint8_t { Call, Not, And, Or };
  Kind kind = Kind::Call;
  uint32_t call = 0;              // Call: index into RuleAst::calls
  std::vector<uint32_t> children; // Not: one child; And/Or: two or more
};

struct RuleAst {
  std::vector<AstNode> nodes;
  std::vector<RuleCall> calls;
  uint32_t root = 0;
};

// Deepest nesting of parentheses and '!' accepted (keeps recursion bounded).
inline constexpr int kMaxRuleNesting = 100;

// Parses `rule`; the AST views `rule`, which must outlive it.
std::variant<RuleAst, RuleError> parseRule(std::string_view rule);

} // namespace causeway::router::detail
