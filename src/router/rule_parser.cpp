#include "router/rule_parser.h"

#include <optional>

#include "router/rule_lexer.h"

namespace causeway::router::detail {

namespace {

class Parser {
public:
  explicit Parser(std::string_view rule) : rule_(rule), lexer_(rule) {}

  std::variant<RuleAst, RuleError> run() {
    if (auto error = checkSourceEncoding(rule_)) return *error;
    if (!advance()) return *error_;
    if (token_.kind == TokenKind::End) return RuleError{0, "empty rule"};
    std::optional<uint32_t> root = parseOr();
    if (!root) return *error_;
    if (token_.kind != TokenKind::End) {
      if (token_.kind == TokenKind::RightParen) return RuleError{token_.offset, "unbalanced ')'"};
      return RuleError{token_.offset, "unexpected " + describeToken(token_) +
                                          ": expected '&&', '||' or the end of the rule"};
    }
    ast_.root = *root;
    return std::move(ast_);
  }

private:
  bool advance() {
    if (auto error = lexer_.next(token_)) {
      error_ = std::move(*error);
      return false;
    }
    return true;
  }

  std::nullopt_t fail(size_t offset, std::string message) {
    error_ = RuleError{offset, std::move(message)};
    return std::nullopt;
  }

  uint32_t addNode(AstNode node) {
    ast_.nodes.push_back(std::move(node));
    return uint32_t(ast_.nodes.size() - 1);
  }

  // expr := and ('||' and)*   and := unary ('&&' unary)*
  std::optional<uint32_t> parseOr() { return parseList(TokenKind::OrOr, AstNode::Kind::Or); }
  std::optional<uint32_t> parseAnd() { return parseList(TokenKind::AndAnd, AstNode::Kind::And); }

  std::optional<uint32_t> parseList(TokenKind separator, AstNode::Kind kind) {
    std::vector<uint32_t> children;
    while (true) {
      std::optional<uint32_t> child = kind == AstNode::Kind::Or ? parseAnd() : parseUnary();
      if (!child) return std::nullopt;
      children.push_back(*child);
      if (token_.kind != separator) break;
      if (!advance()) return std::nullopt;
    }
    if (children.size() == 1) return children[0];
    return addNode(AstNode{kind, 0, std::move(children)});
  }

  std::optional<uint32_t> parseUnary() {
    if (token_.kind != TokenKind::Bang) return parsePrimary();
    if (++depth_ > kMaxRuleNesting) return fail(token_.offset, "rule nested too deeply");
    if (!advance()) return std::nullopt;
    std::optional<uint32_t> child = parseUnary();
    --depth_;
    if (!child) return std::nullopt;
    return addNode(AstNode{AstNode::Kind::Not, 0, {*child}});
  }

  std::optional<uint32_t> parsePrimary() {
    if (token_.kind == TokenKind::LeftParen) {
      size_t open = token_.offset;
      if (++depth_ > kMaxRuleNesting) return fail(open, "rule nested too deeply");
      if (!advance()) return std::nullopt;
      std::optional<uint32_t> inner = parseOr();
      if (!inner) return std::nullopt;
      if (token_.kind != TokenKind::RightParen)
        return fail(token_.offset, "expected ')' to close the '(' at offset " +
                                       std::to_string(open) + ", found " + describeToken(token_));
      --depth_;
      if (!advance()) return std::nullopt;
      return inner;
    }
    if (token_.kind == TokenKind::Identifier) return parseCall();
    if (token_.kind == TokenKind::String)
      return fail(token_.offset, "expected a matcher such as Host(`example.com`), found a string");
    return fail(token_.offset, "expected a matcher, '(' or '!', found " + describeToken(token_));
  }

  // call := IDENT '(' [STRING (',' STRING)* [',']] ')'
  std::optional<uint32_t> parseCall() {
    RuleCall call;
    call.name = token_.text;
    call.nameOffset = token_.offset;
    if (!advance()) return std::nullopt;
    if (token_.kind != TokenKind::LeftParen)
      return fail(token_.offset, "expected '(' after " + std::string(call.name) + ", found " +
                                     describeToken(token_));
    if (!advance()) return std::nullopt;
    while (token_.kind != TokenKind::RightParen) {
      if (token_.kind != TokenKind::String)
        return fail(token_.offset, "expected a string argument (in backticks or double quotes) "
                                   "for " +
                                       std::string(call.name) + ", found " + describeToken(token_));
      call.args.push_back(RuleArgument{std::move(token_.value), token_.offset});
      if (!advance()) return std::nullopt;
      if (token_.kind == TokenKind::Comma) {
        if (!advance()) return std::nullopt;
      } else if (token_.kind != TokenKind::RightParen) {
        return fail(token_.offset, "expected ',' or ')' after the arguments of " +
                                       std::string(call.name) + ", found " + describeToken(token_));
      }
    }
    call.closeOffset = token_.offset;
    if (!advance()) return std::nullopt;
    ast_.calls.push_back(std::move(call));
    return addNode(AstNode{AstNode::Kind::Call, uint32_t(ast_.calls.size() - 1), {}});
  }

  std::string_view rule_;
  Lexer lexer_;
  Token token_;
  RuleAst ast_;
  std::optional<RuleError> error_;
  int depth_ = 0;
};

} // namespace

std::variant<RuleAst, RuleError> parseRule(std::string_view rule) {
  return Parser(rule).run();
}

} // namespace causeway::router::detail
