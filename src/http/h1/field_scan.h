// Internal building blocks of the HTTP/1.1 head parsers (request, response, trailers):
// the field-line scanner and the parsers of the framing-related field values. Not part of
// the public API; include request_parser.h / response_parser.h instead. Case ids (S07…)
// refer to docs/security.md.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

#include "http/h1/char_class.h"
#include "http/headers.h"
#include "http/scan.h"

namespace causeway::http::h1::detail {

using scan::findControl;

// Fields whose value the parsers interpret. Everything else is stored untouched.
enum class FieldId : uint8_t {
  Other,
  Host,
  ContentLength,
  TransferEncoding,
  Connection,
  Expect,
  Upgrade
};

// `lower` is a lower-case constant made of letters and '-'. OR-ing 0x20 maps only A–Z onto
// a–z among token characters ('-' already has the bit), so this is an exact ASCII
// case-insensitive comparison for token input.
inline bool equalsLowerToken(std::string_view name, std::string_view lower) {
  const size_t n = name.size();
  if (n != lower.size()) return false;
  if (n < 4) {
    for (size_t i = 0; i < n; ++i)
      if (char(name[i] | 0x20) != lower[i]) return false;
    return true;
  }
  // Eight bytes at a time (four when shorter), the last load overlapping the one before.
  constexpr uint64_t kCase = 0x2020202020202020ULL;
  auto load32 = [](const char* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return uint64_t(v);
  };
  auto load64 = [](const char* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  };
  if (n < 8)
    return ((load32(name.data()) | load32(name.data() + n - 4) << 32) | kCase) ==
           (load32(lower.data()) | load32(lower.data() + n - 4) << 32);
  for (size_t i = 0; i + 8 < n; i += 8)
    if ((load64(name.data() + i) | kCase) != load64(lower.data() + i)) return false;
  return (load64(name.data() + n - 8) | kCase) == load64(lower.data() + n - 8);
}

inline FieldId classifyField(std::string_view name) {
  switch (name.size()) {
  case 4:
    return equalsLowerToken(name, "host") ? FieldId::Host : FieldId::Other;
  case 6:
    return equalsLowerToken(name, "expect") ? FieldId::Expect : FieldId::Other;
  case 7:
    return equalsLowerToken(name, "upgrade") ? FieldId::Upgrade : FieldId::Other;
  case 10:
    return equalsLowerToken(name, "connection") ? FieldId::Connection : FieldId::Other;
  case 14:
    return equalsLowerToken(name, "content-length") ? FieldId::ContentLength : FieldId::Other;
  case 17:
    return equalsLowerToken(name, "transfer-encoding") ? FieldId::TransferEncoding : FieldId::Other;
  default:
    return FieldId::Other;
  }
}

// Content-Length = 1*DIGIT (RFC 9110 §8.6), at most 19 digits and at most INT64_MAX, so it
// never overflows and always fits the signed sizes other components use. No sign, no
// whitespace (OWS was trimmed by the field scanner), no list ("5, 5"), not empty.
inline bool parseContentLength(std::string_view v, uint64_t& out) {
  if (v.empty() || v.size() > 19) return false;
  uint64_t value = 0;
  for (char c : v) {
    unsigned d = unsigned(static_cast<unsigned char>(c)) - '0';
    if (d > 9) return false;
    value = value * 10 + d;  // 19 digits < 2^64: cannot wrap
  }
  if (value > uint64_t(INT64_MAX)) return false;
  out = value;
  return true;
}

// Tokens of Connection fields that change the parser's answers.
struct ConnectionTokens {
  bool close = false;
  bool keepAlive = false;
  bool upgrade = false;
};

inline void scanConnection(std::string_view v, ConnectionTokens& tokens) {
  size_t i = 0;
  while (i < v.size()) {
    while (i < v.size() && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
      ++i;
    size_t start = i;
    while (i < v.size() && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
      ++i;
    std::string_view token = v.substr(start, i - start);
    switch (token.size()) {
    case 5:
      tokens.close |= equalsLowerToken(token, "close");
      break;
    case 7:
      tokens.upgrade |= equalsLowerToken(token, "upgrade");
      break;
    case 10:
      tokens.keepAlive |= equalsLowerToken(token, "keep-alive");
      break;
    default:
      break;
    }
  }
}

// The transfer codings of every Transfer-Encoding field of a head, in order.
struct TransferCodings {
  bool present = false;
  unsigned chunked = 0;  // how many times "chunked" appears
  unsigned others = 0;   // how many other (unsupported) codings appear
  bool lastIsChunked = false;
};

// Adds one Transfer-Encoding field value. Returns false when the value is not a plain list
// of tokens: empty value or empty element (",chunked", "chunked,"), parameters
// ("chunked;a=b"), quoted strings, any non-token byte. Those are 400 (S09, S13).
inline bool addTransferCodings(std::string_view v, TransferCodings& codings) {
  codings.present = true;
  size_t i = 0;
  const size_t n = v.size();
  while (true) {
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
      ++i;
    size_t start = i;
    while (i < n && chars::isTchar(v[i]))
      ++i;
    std::string_view coding = v.substr(start, i - start);
    if (coding.empty()) return false;
    bool chunked = equalsLowerToken(coding, "chunked");
    codings.chunked += chunked;
    codings.others += !chunked;
    codings.lastIsChunked = chunked;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
      ++i;
    if (i == n) return true;
    if (v[i] != ',') return false;
    ++i;
  }
}

// Outcome of scanning field lines.
struct FieldsResult {
  enum Kind { Done, NeedMore, Error } kind;
  const char* next;  // Done: first byte after the blank line
  std::string_view reason;
  int status;  // Error: 400 or 431
};

// Scans field lines from `p` up to and including the blank line that ends the section.
// Lines may end with CRLF or a bare LF (RFC 9112 §2.2, S30); a bare CR anywhere is an error.
// Each field is appended to `headers` (name and OWS-trimmed value as views into the input)
// and then passed to onField(FieldId, name, value), which returns nullptr or a static
// reason for a 400. Errors: a line starting with SP/HTAB (obs-fold or leading whitespace,
// S14/S36), an empty or non-token name, whitespace before ':' (S07/S34), a line without
// ':' (S35), a CTL other than HTAB or DEL in a value (S31–S33), more than maxCount fields
// (431, S51). `underscore` is set when a field name contains '_'. NeedMore when `end` is reached
// before the section is complete; a decision never depends on bytes past the byte that triggers it,
// so feeding input in pieces gives the same answer as feeding it at once.
template <class OnField>
inline FieldsResult scanFields(const char* p, const char* end, size_t maxCount, Headers& headers,
                               bool& underscore, OnField&& onField) {
  size_t count = 0;
  while (true) {
    if (p == end) return {FieldsResult::NeedMore, p, {}, 0};
    char c = *p;
    if (c == '\r') {
      if (p + 1 == end) return {FieldsResult::NeedMore, p, {}, 0};
      if (p[1] != '\n') return {FieldsResult::Error, p, "bare CR in header section", 400};
      return {FieldsResult::Done, p + 2, {}, 0};
    }
    if (c == '\n') return {FieldsResult::Done, p + 1, {}, 0};
    if (c == ' ' || c == '\t')
      return {FieldsResult::Error, p, "whitespace at the start of a header line (obs-fold)", 400};
    if (++count > maxCount) return {FieldsResult::Error, p, "too many header fields", 431};

    const char* nameStart = p;
    p = scan::skipCommonTchars(p, end);
    while (p < end && chars::isTchar(*p)) {
      underscore |= *p == '_';
      ++p;
    }
    if (p == end) return {FieldsResult::NeedMore, p, {}, 0};
    if (*p != ':') {
      if (*p == '\r' || *p == '\n')
        return {FieldsResult::Error, p, "header line without colon", 400};
      return {FieldsResult::Error, p, "invalid character in header name", 400};
    }
    if (p == nameStart) return {FieldsResult::Error, p, "empty header name", 400};
    std::string_view name(nameStart, size_t(p - nameStart));
    ++p;

    while (p < end && (*p == ' ' || *p == '\t'))
      ++p;
    const char* valueStart = p;
    const char* q = findControl(p, end);
    while (q < end && *q == '\t')
      q = findControl(q + 1, end);
    if (q == end) return {FieldsResult::NeedMore, q, {}, 0};
    const char* valueEnd = q;
    if (*q == '\n') {
      p = q + 1;
    } else if (*q == '\r') {
      if (q + 1 == end) return {FieldsResult::NeedMore, q, {}, 0};
      if (q[1] != '\n') return {FieldsResult::Error, q, "bare CR in header value", 400};
      p = q + 2;
    } else {
      return {FieldsResult::Error, q, "control character in header value", 400};
    }
    while (valueEnd > valueStart && (valueEnd[-1] == ' ' || valueEnd[-1] == '\t'))
      --valueEnd;
    std::string_view value(valueStart, size_t(valueEnd - valueStart));
    headers.add(name, value);
    if (const char* reason = onField(classifyField(name), name, value))
      return {FieldsResult::Error, nameStart, reason, 400};
  }
}

// Parses "HTTP/" DIGIT "." DIGIT at p (8 bytes). Returns -2 when more bytes are needed,
// -1 when the text is not an HTTP-version, otherwise major*10+minor.
inline int parseVersion(const char* p, const char* end) {
  static constexpr char kName[] = "HTTP/";
  for (int i = 0; i < 8; ++i) {
    if (p + i == end) return -2;
    char c = p[i];
    bool ok =
        i < 5 ? c == kName[i] : (i == 6 ? c == '.' : chars::isDigit(static_cast<unsigned char>(c)));
    if (!ok) return -1;
  }
  return (p[5] - '0') * 10 + (p[7] - '0');
}

}  // namespace causeway::http::h1::detail
