#include "router/query_string.h"

namespace causeway::router::detail {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes the byte starting at raw[i] and advances i; `raw` must be valid.
char decodeAt(std::string_view raw, size_t& i) {
  char c = raw[i];
  if (c == '+') {
    ++i;
    return ' ';
  }
  if (c == '%') {
    char decoded = char(hexValue(raw[i + 1]) * 16 + hexValue(raw[i + 2]));
    i += 3;
    return decoded;
  }
  ++i;
  return c;
}

} // namespace

bool isValidQueryEscape(std::string_view raw) {
  for (size_t i = raw.find('%'); i != std::string_view::npos; i = raw.find('%', i + 3)) {
    if (i + 2 >= raw.size() || hexValue(raw[i + 1]) < 0 || hexValue(raw[i + 2]) < 0) return false;
  }
  return true;
}

bool queryUnescapedEquals(std::string_view raw, std::string_view decoded) {
  if (!needsQueryUnescape(raw)) return raw == decoded;
  if (!isValidQueryEscape(raw)) return false;
  size_t i = 0;
  size_t j = 0;
  while (i < raw.size()) {
    if (j == decoded.size() || decodeAt(raw, i) != decoded[j]) return false;
    ++j;
  }
  return j == decoded.size();
}

void appendQueryUnescaped(std::string_view raw, std::string& out) {
  out.reserve(out.size() + raw.size());
  size_t i = 0;
  while (i < raw.size())
    out.push_back(decodeAt(raw, i));
}

} // namespace causeway::router::detail
