// Tokens of the rule language. Traefik parses rules as Go expressions, so the lexer follows
// Go's scanner where it matters: backtick (raw) and double-quoted strings with Go escapes,
// '&&', '||', '!', parentheses, commas, identifiers; spaces, tabs and newlines between tokens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "router/rule.h"

namespace causeway::router::detail {

enum class TokenKind : uint8_t {
  End,
  Identifier,
  String,
  LeftParen,
  RightParen,
  Comma,
  AndAnd,
  OrOr,
  Bang,
};

struct Token {
  TokenKind kind = TokenKind::End;
  size_t offset = 0;     // byte offset of the token's first character
  std::string_view text; // the token as written (for String: with its quotes)
  std::string value;     // String only: the decoded value
};

// A short human description of a token for error messages ("')'", "end of rule", "`a`").
std::string describeToken(const Token& token);

class Lexer {
public:
  explicit Lexer(std::string_view rule) : rule_(rule) {}

  // Reads the next token into `token`; on a lexical error returns the error instead.
  std::optional<RuleError> next(Token& token);

private:
  std::optional<RuleError> readRawString(Token& token);
  std::optional<RuleError> readQuotedString(Token& token);

  std::string_view rule_;
  size_t pos_ = 0;
};

// Offset of the first byte that makes `text` invalid Go source (invalid UTF-8 or NUL), or
// std::nullopt when there is none.
std::optional<RuleError> checkSourceEncoding(std::string_view text);

} // namespace causeway::router::detail
