// The claims language of Traefik Hub's jwt, oidc, oAuthIntrospection and mcp middlewares
// (docs/mcp-gateway.md, "Policies"): predicates over named fields of a JSON document, joined
// with `&&`, `||`, `!` and parentheses (`!` binds tightest, then `&&`, then `||`).
//
//   Equals(`grp`, `admin`)                  the field's value is `admin`
//   Prefix(`iss`, `https://`)               it starts with the text
//   Contains(`scope`, `read`)               a string holding the text, or an array with an
//                                           element equal to it
//   SplitContains(`scope`, ` `, `read`)     split by the separator, one piece is the text
//   OneOf(`mcp.method`, `tools/list`, `tools/call`)   equal to one of the texts
// causeway adds numeric comparisons, for limits on arguments ("transaction" constraints):
//   LessThan(`mcp.params.arguments.amount`, `1000`), LessOrEqual, GreaterThan, GreaterOrEqual
//
// Field names are dotted paths (`user.groups` looks up "groups" inside "user"). Strings are in
// backquotes or double quotes. A field that is missing makes its predicate false. Numbers and
// booleans compare as their JSON text (`Equals(`admin`, `true`)`). Equals, Prefix and OneOf over
// an array hold when one element does; numeric comparisons need a number (or a numeric string).
//
// Evaluation is three-valued: when a resolver answers "unknown" for a field (the MCP gateway
// filtering a tool list cannot know the arguments of a call not made yet), or a numeric
// comparison meets a value that is not a number (`" 5000"`, `[5000]`, which a server may still
// read as one), the predicate is Unknown, and `&&`, `||`, `!` follow Kleene's logic. The caller
// decides what Unknown means (the MCP policies: a deny rule denies, an allow rule does not allow).
//
// Pure code: compiled once, evaluated without allocation.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::expr::claims {

enum class Truth : uint8_t { False, True, Unknown };

// A field name as written and split at its dots.
struct Field {
  std::string text;
  std::vector<std::string> path;
};

// Finds a field's value in the document being judged.
class Resolver {
 public:
  virtual ~Resolver() = default;
  // The value, nullptr when the field is missing, or unknown() when it cannot be known now.
  virtual const boost::json::value* find(const Field& field) const = 0;
  static const boost::json::value* unknown();
};

// Walks `path` into `root` (objects by key); nullptr when a step is missing.
const boost::json::value* walk(const boost::json::value& root, const std::vector<std::string>& path,
                               size_t from = 0);

enum class Function : uint8_t {
  Equals,
  Prefix,
  Contains,
  SplitContains,
  OneOf,
  LessThan,
  LessOrEqual,
  GreaterThan,
  GreaterOrEqual
};

class Expression {
 public:
  Truth evaluate(const Resolver& resolver) const;
  // Every field the expression reads.
  const std::vector<Field>& fields() const { return fields_; }
  const std::string& text() const { return text_; }

  struct Node {
    enum class Kind : uint8_t { And, Or, Not, Call } kind = Kind::Call;
    uint32_t left = 0, right = 0;  // And, Or: both; Not: left
    Function function = Function::Equals;
    uint32_t field = 0;             // index into fields_
    std::vector<std::string> args;  // the texts after the field
    double number = 0;              // numeric comparisons: args[0] as a number
  };

 private:
  friend std::optional<Expression> parse(std::string_view, std::string&);
  Truth eval(uint32_t node, const Resolver& resolver) const;
  std::string text_;
  std::vector<Field> fields_;
  std::vector<Node> nodes_;
  uint32_t root_ = 0;
};

// Compiles `text`. nullopt with `error` set (naming the position and what was expected) when
// it does not parse.
std::optional<Expression> parse(std::string_view text, std::string& error);

}  // namespace causeway::expr::claims
