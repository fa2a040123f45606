#include "core/utf8.h"

#include <bit>
#include <cstdint>
#include <cstring>

namespace causeway {

bool validUtf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const unsigned char* end = p + text.size();
  while (p < end) {
    if (end - p >= 8) {
      uint64_t word;
      std::memcpy(&word, p, 8);
      uint64_t high = word & 0x8080808080808080ULL;
      if (high == 0) {
        p += 8;
        continue;
      }
      // Straight to the first byte with its high bit set.
      if constexpr (std::endian::native == std::endian::little) p += std::countr_zero(high) / 8;
      else p += std::countl_zero(high) / 8;
    }
    unsigned char c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t length;
    unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      length = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      length = 3;
      if (c == 0xE0) low = 0xA0;   // no overlong forms
      if (c == 0xED) high = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      length = 4;
      if (c == 0xF0) low = 0x90;   // no overlong forms
      if (c == 0xF4) high = 0x8F;  // nothing above U+10FFFF
    } else {
      return false;
    }
    if (size_t(end - p) < length || p[1] < low || p[1] > high) return false;
    for (size_t k = 2; k < length; ++k)
      if ((p[k] & 0xC0) != 0x80) return false;
    p += length;
  }
  return true;
}

}  // namespace causeway
