#include "router/rule_lexer.h"

#include <cstdio>

namespace causeway::router::detail {

namespace {

bool isIdentifierStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool isIdentifierPart(char c) {
  return isIdentifierStart(c) || (c >= '0' && c <= '9');
}
bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence at text[i], or 0 when it is invalid (Go's rules:
// no overlong forms, no surrogates, nothing above U+10FFFF).
size_t utf8SequenceLength(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return i + k < text.size() ? uint8_t(text[i + k]) : uint8_t(0); };
  auto cont = [&](size_t k, uint8_t lo = 0x80, uint8_t hi = 0xBF) {
    uint8_t b = byte(k);
    return i + k < text.size() && b >= lo && b <= hi;
  };
  uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF) return cont(1) ? 2 : 0;
  if (b0 == 0xE0) return cont(1, 0xA0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xE1 && b0 <= 0xEC) || b0 == 0xEE || b0 == 0xEF) return cont(1) && cont(2) ? 3 : 0;
  if (b0 == 0xED) return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0;
  if (b0 == 0xF0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xF1 && b0 <= 0xF3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 == 0xF4) return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(char(cp));
  } else if (cp < 0x800) {
    out.push_back(char(0xC0 | (cp >> 6)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(char(0xE0 | (cp >> 12)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(char(0xF0 | (cp >> 18)));
    out.push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(char(0x80 | (cp & 0x3F)));
  }
}

std::string quoteCharacter(std::string_view rule, size_t offset) {
  size_t length = utf8SequenceLength(rule, offset);
  unsigned char c = uint8_t(rule[offset]);
  if (length == 0 || (length == 1 && (c < 0x20 || c == 0x7F))) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "byte 0x%02X", c);
    return buf;
  }
  return "'" + std::string(rule.substr(offset, length)) + "'";
}

RuleError errorAt(size_t offset, std::string message) {
  RuleError error;
  error.offset = offset;
  error.message = std::move(message);
  return error;
}

} // namespace

std::string describeToken(const Token& token) {
  switch (token.kind) {
  case TokenKind::End:
    return "end of rule";
  case TokenKind::String:
    return "string " + std::string(token.text);
  default:
    return "'" + std::string(token.text) + "'";
  }
}

std::optional<RuleError> checkSourceEncoding(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\0') return errorAt(i, "NUL character in rule");
    size_t length = utf8SequenceLength(text, i);
    if (length == 0) return errorAt(i, "invalid UTF-8 in rule");
    i += length;
  }
  return std::nullopt;
}

std::optional<RuleError> Lexer::next(Token& token) {
  while (pos_ < rule_.size() && isSpace(rule_[pos_]))
    ++pos_;
  token.offset = pos_;
  token.value.clear();
  if (pos_ == rule_.size()) {
    token.kind = TokenKind::End;
    token.text = {};
    return std::nullopt;
  }
  char c = rule_[pos_];
  auto single = [&](TokenKind kind, size_t length) {
    token.kind = kind;
    token.text = rule_.substr(pos_, length);
    pos_ += length;
    return std::nullopt;
  };
  switch (c) {
  case '(':
    return single(TokenKind::LeftParen, 1);
  case ')':
    return single(TokenKind::RightParen, 1);
  case ',':
    return single(TokenKind::Comma, 1);
  case '!':
    return single(TokenKind::Bang, 1);
  case '&':
    if (rule_.substr(pos_, 2) == "&&") return single(TokenKind::AndAnd, 2);
    return errorAt(pos_, "unexpected '&': use '&&' to combine matchers");
  case '|':
    if (rule_.substr(pos_, 2) == "||") return single(TokenKind::OrOr, 2);
    return errorAt(pos_, "unexpected '|': use '||' to combine matchers");
  case '`':
    return readRawString(token);
  case '"':
    return readQuotedString(token);
  case '\'':
    return errorAt(pos_, "single quotes are not allowed: quote arguments with backticks (`) or "
                         "double quotes (\")");
  default:
    break;
  }
  if (isIdentifierStart(c)) {
    size_t end = pos_ + 1;
    while (end < rule_.size() && isIdentifierPart(rule_[end]))
      ++end;
    return single(TokenKind::Identifier, end - pos_);
  }
  return errorAt(pos_, "unexpected character " + quoteCharacter(rule_, pos_));
}

std::optional<RuleError> Lexer::readRawString(Token& token) {
  size_t close = rule_.find('`', pos_ + 1);
  if (close == std::string_view::npos)
    return errorAt(pos_, "unterminated string: missing closing backtick");
  // Go discards carriage returns inside raw strings.
  for (char c : rule_.substr(pos_ + 1, close - pos_ - 1))
    if (c != '\r') token.value.push_back(c);
  token.kind = TokenKind::String;
  token.text = rule_.substr(pos_, close + 1 - pos_);
  pos_ = close + 1;
  return std::nullopt;
}

std::optional<RuleError> Lexer::readQuotedString(Token& token) {
  size_t start = pos_;
  size_t i = pos_ + 1;
  while (true) {
    if (i >= rule_.size() || rule_[i] == '\n')
      return errorAt(start, "unterminated string: missing closing double quote");
    char c = rule_[i];
    if (c == '"') break;
    if (c != '\\') {
      token.value.push_back(c);
      ++i;
      continue;
    }
    size_t escape = i;
    if (i + 1 >= rule_.size())
      return errorAt(start, "unterminated string: missing closing double quote");
    char e = rule_[i + 1];
    i += 2;
    switch (e) {
    case 'a':
      token.value.push_back('\a');
      continue;
    case 'b':
      token.value.push_back('\b');
      continue;
    case 'f':
      token.value.push_back('\f');
      continue;
    case 'n':
      token.value.push_back('\n');
      continue;
    case 'r':
      token.value.push_back('\r');
      continue;
    case 't':
      token.value.push_back('\t');
      continue;
    case 'v':
      token.value.push_back('\v');
      continue;
    case '\\':
      token.value.push_back('\\');
      continue;
    case '"':
      token.value.push_back('"');
      continue;
    default:
      break;
    }
    if (e >= '0' && e <= '7') {
      uint32_t v = 0;
      for (size_t k = 0; k < 3; ++k) {
        size_t at = escape + 1 + k;
        if (at >= rule_.size() || rule_[at] < '0' || rule_[at] > '7')
          return errorAt(escape, "invalid octal escape: expected three octal digits");
        v = v * 8 + uint32_t(rule_[at] - '0');
      }
      if (v > 255) return errorAt(escape, "octal escape value above 255");
      token.value.push_back(char(v));
      i = escape + 4;
      continue;
    }
    size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (digits == 0) return errorAt(escape, "unknown escape sequence \\" + std::string(1, e));
    uint32_t v = 0;
    for (size_t k = 0; k < digits; ++k) {
      size_t at = escape + 2 + k;
      int h = at < rule_.size() ? hexValue(rule_[at]) : -1;
      if (h < 0)
        return errorAt(escape, "invalid \\" + std::string(1, e) + " escape: expected " +
                                   std::to_string(digits) + " hexadecimal digits");
      v = v * 16 + uint32_t(h);
    }
    i = escape + 2 + digits;
    if (e == 'x') {
      token.value.push_back(char(v));
    } else {
      if (v > 0x10FFFF || (v >= 0xD800 && v < 0xE000))
        return errorAt(escape, "escape sequence is an invalid Unicode code point");
      appendUtf8(token.value, v);
    }
  }
  token.kind = TokenKind::String;
  token.text = rule_.substr(start, i + 1 - start);
  pos_ = i + 1;
  return std::nullopt;
}

} // namespace causeway::router::detail
