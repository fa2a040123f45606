// Vectorised byte scanners shared by the HTTP/1.1 parsers and the URI helpers. Each returns
// the first byte in [p, end) that stops the scan (or `end`); SSE2 (baseline on x86-64)
// handles 16 bytes per step, a scalar loop handles the tail and other targets. Internal to
// src/http.
#pragma once

#if defined(__SSE2__)
#include <emmintrin.h>

#include "http/h1/char_class.h"
#endif

namespace causeway::http::scan {

// First CTL (< 0x20, HTAB included) or DEL: the end of a field value or reason phrase.
inline const char* findControl(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i bias = _mm_set1_epi8(char(0x80));
  const __m128i below = _mm_set1_epi8(char(0x20 ^ 0x80));  // unsigned c < 0x20, signed compare
  const __m128i del = _mm_set1_epi8(0x7f);
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i bad =
        _mm_or_si128(_mm_cmplt_epi8(_mm_xor_si128(v, bias), below), _mm_cmpeq_epi8(v, del));
    int mask = _mm_movemask_epi8(bad);
    if (mask != 0) return p + __builtin_ctz(unsigned(mask));
    p += 16;
  }
#endif
  while (p < end) {
    unsigned char c = static_cast<unsigned char>(*p);
    if (c < 0x20 || c == 0x7f) return p;
    ++p;
  }
  return end;
}

// Skips the token characters field names are mostly made of (ALPHA DIGIT '-'). Stops at any
// other byte, token or not; the caller finishes with a table loop.
inline const char* skipCommonTchars(const char* p, const char* end) {
#if defined(__SSE2__)
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    // c | 0x20 maps exactly A-Z and a-z onto a-z (bytes >= 0x80 stay negative).
    __m128i lower = _mm_or_si128(v, _mm_set1_epi8(0x20));
    __m128i letter = _mm_and_si128(_mm_cmpgt_epi8(lower, _mm_set1_epi8('a' - 1)),
                                   _mm_cmplt_epi8(lower, _mm_set1_epi8('z' + 1)));
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                  _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    __m128i dash = _mm_cmpeq_epi8(v, _mm_set1_epi8('-'));
    int good = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(letter, digit), dash));
    if (good != 0xffff) return p + __builtin_ctz(unsigned(~good));
    p += 16;
  }
#endif
  return p;
}

// First byte that is not VCHAR (0x21–0x7E), or is '#' or '%': the bytes a request-target
// scan must look at (SP ends it, '%' starts an escape, the rest is invalid).
inline const char* findTargetStop(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i bias = _mm_set1_epi8(char(0x80));
  const __m128i low = _mm_set1_epi8(char(0x21 ^ 0x80));
  const __m128i high = _mm_set1_epi8(char(0x7e ^ 0x80));
  while (end - p >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i b = _mm_xor_si128(v, bias);
    __m128i bad = _mm_or_si128(_mm_cmplt_epi8(b, low), _mm_cmpgt_epi8(b, high));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8('#')));
    bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, _mm_set1_epi8('%')));
    int mask = _mm_movemask_epi8(bad);
    if (mask != 0) return p + __builtin_ctz(unsigned(mask));
    p += 16;
  }
#endif
  while (p < end && chars::is(*p, chars::kTarget) && *p != '%')
    ++p;
  return p;
}

}  // namespace causeway::http::scan
