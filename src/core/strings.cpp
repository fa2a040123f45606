#include "core/strings.h"

namespace causeway {

std::string toLower(std::string_view s) {
  std::string out(s);
  toLowerInPlace(out);
  return out;
}

std::string toUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = asciiUpper(c);
  return out;
}

void toLowerInPlace(std::string& s) {
  for (char& c : s) c = asciiLower(c);
}

std::string_view trimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string_view trim(std::string_view s) {
  auto isSpace = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> splitTrimmed(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t pos = s.find(sep);
    std::string_view piece = trim(s.substr(0, pos));
    if (!piece.empty()) out.push_back(piece);
    if (pos == std::string_view::npos) break;
    s.remove_prefix(pos + 1);
  }
  return out;
}

bool listContainsToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t pos = list.find(',');
    if (iequals(trimOws(list.substr(0, pos)), token)) return true;
    if (pos == std::string_view::npos) break;
    list.remove_prefix(pos + 1);
  }
  return false;
}

std::optional<uint64_t> parseDecimal(std::string_view s) {
  if (s.empty() || s.size() > 19) {
    if (s.size() > 19) {
      // 20 digits may still fit; fall through to the checked loop.
      if (s.size() > 20) return std::nullopt;
    } else {
      return std::nullopt;
    }
  }
  uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = uint64_t(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

size_t CaseInsensitiveHash::operator()(std::string_view s) const noexcept {
  // FNV-1a over lower-cased bytes.
  uint64_t h = 1469598103934665603ULL;
  for (char c : s) {
    h ^= uint8_t(asciiLower(c));
    h *= 1099511628211ULL;
  }
  return size_t(h);
}

}  // namespace causeway
