// Small string helpers used across the codebase. All are allocation-free unless the
// return type says otherwise.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace causeway {

constexpr char asciiLower(char c) { return (c >= 'A' && c <= 'Z') ? char(c + 32) : c; }
constexpr char asciiUpper(char c) { return (c >= 'a' && c <= 'z') ? char(c - 32) : c; }

// ASCII case-insensitive equality (HTTP field names, hosts, config keys).
constexpr bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (asciiLower(a[i]) != asciiLower(b[i])) return false;
  return true;
}

constexpr bool istartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

std::string toLower(std::string_view s);
std::string toUpper(std::string_view s);
void toLowerInPlace(std::string& s);

// Trims spaces and horizontal tabs (HTTP optional whitespace) from both ends.
std::string_view trimOws(std::string_view s);
// Trims all ASCII whitespace from both ends.
std::string_view trim(std::string_view s);

// Splits on `sep`, trimming whitespace from each piece; empty pieces are dropped.
std::vector<std::string_view> splitTrimmed(std::string_view s, char sep);

// True when the comma-separated list `list` contains `token` (case-insensitive, OWS trimmed).
bool listContainsToken(std::string_view list, std::string_view token);

// Parses an unsigned decimal with overflow checking; rejects empty input, signs and spaces.
std::optional<uint64_t> parseDecimal(std::string_view s);

// Hash and equality functors for case-insensitive unordered containers.
struct CaseInsensitiveHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept;
};
struct CaseInsensitiveEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return iequals(a, b); }
};

}  // namespace causeway
