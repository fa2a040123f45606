// Byte classes of the HTTP/1.1 and URI grammars (RFC 9110 §5.6.2, RFC 9112, RFC 3986),
// as one 256-entry table so every hot loop does a single load and mask per byte.
// Internal to src/http: the parsers and the URI helpers share it.
#pragma once

#include <array>
#include <cstdint>

namespace causeway::http::chars {

enum : uint16_t {
  kTchar = 1 << 0,       // token character (field names, methods, coding names)
  kFieldValue = 1 << 1,  // field-vchar / obs-text / SP / HTAB: allowed inside a field value
  kTarget = 1 << 2,      // allowed raw in a request-target: VCHAR except '#'
  kHex = 1 << 3,         // HEXDIG
  kUnreserved = 1 << 4,  // RFC 3986 unreserved: ALPHA DIGIT - . _ ~
  kSubDelim = 1 << 5,    // RFC 3986 sub-delims: ! $ & ' ( ) * + , ; =
  kPathKeep = 1 << 6,    // kept raw in a normalised path (Go's validEncoded set): unreserved,
                         // sub-delims, ':', '@', '[', ']', '/', '%'; everything else is %XX-encoded
  kQdText = 1 << 7,      // qdtext of a quoted-string: HTAB SP 0x21 0x23-5B 0x5D-7E obs-text
};

constexpr bool isAlpha(unsigned c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
constexpr bool isDigit(unsigned c) {
  return c >= '0' && c <= '9';
}

constexpr std::array<uint16_t, 256> makeTable() {
  std::array<uint16_t, 256> t{};
  for (unsigned c = 0; c < 256; ++c) {
    uint16_t v = 0;
    bool alnum = isAlpha(c) || isDigit(c);
    if (alnum) v |= kTchar;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      v |= kTchar;
      break;
    default:
      break;
    }
    if ((c >= 0x20 && c != 0x7f) || c == '\t') v |= kFieldValue;
    if (c > 0x20 && c < 0x7f && c != '#') v |= kTarget;
    if (isDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')) v |= kHex;
    if (alnum || c == '-' || c == '.' || c == '_' || c == '~') v |= kUnreserved;
    switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
      v |= kSubDelim;
      break;
    default:
      break;
    }
    if ((v & (kUnreserved | kSubDelim)) || c == ':' || c == '@' || c == '[' || c == ']' ||
        c == '/' || c == '%')
      v |= kPathKeep;
    if (c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
        (c >= 0x5d && c <= 0x7e) || c >= 0x80)
      v |= kQdText;
    t[c] = v;
  }
  return t;
}

inline constexpr std::array<uint16_t, 256> kTable = makeTable();

constexpr bool is(char c, uint16_t mask) {
  return (kTable[static_cast<unsigned char>(c)] & mask) != 0;
}
constexpr bool isTchar(char c) {
  return is(c, kTchar);
}
constexpr bool isHex(char c) {
  return is(c, kHex);
}

// Value of a hex digit already known to satisfy isHex().
constexpr unsigned hexValue(char c) {
  unsigned u = static_cast<unsigned char>(c);
  return u <= '9' ? u - '0' : (u | 0x20) - 'a' + 10;
}

inline constexpr char kUpperHex[] = "0123456789ABCDEF";
inline constexpr char kLowerHex[] = "0123456789abcdef";

}  // namespace causeway::http::chars
