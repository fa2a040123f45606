#include "core/bytes.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>

namespace causeway {

namespace {

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string base64Encode(std::string_view data, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16 | uint32_t(uint8_t(data[i + 1])) << 8 |
                 uint8_t(data[i + 2]);
    out.push_back(kBase64[v >> 18 & 63]);
    out.push_back(kBase64[v >> 12 & 63]);
    out.push_back(kBase64[v >> 6 & 63]);
    out.push_back(kBase64[v & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16;
    out.push_back(kBase64[v >> 18 & 63]);
    out.push_back(kBase64[v >> 12 & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16 | uint32_t(uint8_t(data[i + 1])) << 8;
    out.push_back(kBase64[v >> 18 & 63]);
    out.push_back(kBase64[v >> 12 & 63]);
    out.push_back(kBase64[v >> 6 & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

bool base64Decode(std::string_view text, std::string& out) {
  out.clear();
  out.reserve(text.size() / 4 * 3 + 3);
  std::string clean;
  clean.reserve(text.size());
  for (char c : text)
    if (c != '\r' && c != '\n') clean.push_back(c);
  if (clean.size() % 4 != 0) return false;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  for (size_t i = 0; i < clean.size(); i += 4) {
    bool last = i + 4 == clean.size();
    int a = value(clean[i]), b = value(clean[i + 1]);
    if (a < 0 || b < 0) return false;
    char c3 = clean[i + 2], c4 = clean[i + 3];
    if (last && c3 == '=' && c4 == '=') {
      out.push_back(char(a << 2 | b >> 4));
      return true;
    }
    int c = value(c3);
    if (c < 0) return false;
    if (last && c4 == '=') {
      out.push_back(char(a << 2 | b >> 4));
      out.push_back(char((b & 0x0f) << 4 | c >> 2));
      return true;
    }
    int d = value(c4);
    if (d < 0) return false;
    out.push_back(char(a << 2 | b >> 4));
    out.push_back(char((b & 0x0f) << 4 | c >> 2));
    out.push_back(char((c & 0x03) << 6 | d));
  }
  return true;
}

std::string base64UrlEncode(std::string_view data) {
  std::string s = base64Encode(data, false);
  for (char& c : s)
    c = c == '+' ? '-' : c == '/' ? '_' : c;
  return s;
}

bool base64UrlDecode(std::string_view text, std::string& out) {
  std::string s(text);
  for (char& c : s) {
    if (c == '+' || c == '/' || c == '=' || c == '\r' || c == '\n') return false;
    c = c == '-' ? '+' : c == '_' ? '/' : c;
  }
  while (s.size() % 4)
    s += '=';
  return base64Decode(s, out) && base64UrlEncode(out) == text;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  // Every byte is compared whatever the earlier ones were; volatile keeps the compiler from
  // stopping at the first difference.
  volatile unsigned char difference = 0;
  for (size_t i = 0; i < a.size(); ++i) difference = difference | (uint8_t(a[i]) ^ uint8_t(b[i]));
  return difference == 0;
}

std::string randomBytes(size_t n) {
  std::string out(n, '\0');
  size_t filled = 0;
  while (filled < n) {
    ssize_t got = ::getrandom(out.data() + filled, n - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      // getrandom cannot fail on a supported kernel once the pool is ready; a zeroed result
      // would be a silent weakness, so stop here.
      std::abort();
    }
    filled += size_t(got);
  }
  return out;
}

std::string hexEncode(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

std::optional<std::string> hexDecode(std::string_view hex) {
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2) return std::nullopt;
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = digit(hex[i]), lo = digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(char(hi << 4 | lo));
  }
  return out;
}

}  // namespace causeway
