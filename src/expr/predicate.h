// The expression language of Traefik's circuitBreaker.expression and
// buffering.retryExpression (vulcand/predicate on top of Go's expression parser), compiled
// once at build time and evaluated per check.
//
// Grammar and typing, as vulcand/predicate applies them:
//  - Go expression syntax: `||` < `&&` < comparisons (`== != < <= > >=`) in precedence,
//    parentheses, left-associative; a newline after an operand ends the expression.
//  - A comparison is `Function(args) OP literal`: the left side must be a value function,
//    the right side a literal of the function's type (an int literal such as `2` for Int
//    functions, a float literal such as `0.5` for Float functions, a string literal for
//    String functions, which only allow `==` and `!=`). `0.5 < F()` and `F() > 1` for a
//    Float function are errors, exactly as in Traefik.
//  - Function arguments are literals of the declared parameter types (so
//    `LatencyAtQuantileMS(50)` is an error: the quantile is a float, `50.0`).
//  - `&&` and `||` join predicates: comparisons or predicate functions (IsNetworkError()).
//  - Unary operators (`!`, `-`), identifiers, arithmetic and anything else are errors.
//  - The whole expression must be a predicate.
//
// Pure code: no Asio, no allocation during evaluation.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::expr::predicate {

enum class Type { Int, Float, String, Predicate };

// A literal, or the current value of a function.
struct Value {
  Type type = Type::Int;
  int64_t i = 0;  // Int; Predicate: 0 or 1
  double f = 0;   // Float
  std::string s;  // String
};

struct Function {
  std::string_view name;
  std::vector<Type> params;  // Int, Float or String
  Type result;               // Int, Float or String for value functions; Predicate
};

enum class Op { And, Or, Eq, Ne, Lt, Le, Gt, Ge, Call };

struct Node {
  Op op = Op::Call;
  std::vector<Node> children;  // And, Or: exactly two
  int function = -1;           // Call: the predicate function; comparisons: the left side
  std::vector<Value> args;     // that function's arguments
  Value literal;               // comparisons: the right side
};

// Returns the current value of `functions[function]` called with `args`.
using Resolver = std::function<Value(int function, const std::vector<Value>& args)>;

class Expression {
 public:
  explicit Expression(Node root) : root_(std::move(root)) {}
  bool evaluate(const Resolver& resolve) const { return eval(root_, resolve); }
  const Node& root() const { return root_; }

 private:
  static bool eval(const Node& node, const Resolver& resolve);
  Node root_;
};

// Compiles `text` against `functions`. nullopt with `error` set when the text does not
// parse or does not type-check.
std::optional<Expression> parse(std::string_view text, std::span<const Function> functions,
                                std::string& error);

}  // namespace causeway::expr::predicate
