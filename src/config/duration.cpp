#include "config/duration.h"

#include <cstdint>

#include "core/strings.h"

namespace causeway::config {

namespace {

constexpr uint64_t kMaxMagnitude = uint64_t(1) << 63; // |INT64_MIN|

struct Unit {
  std::string_view name;
  uint64_t nanoseconds;
};
constexpr Unit kUnits[] = {
    {"ns", 1},           {"us", 1000},      {"\xC2\xB5s", 1000}, // U+00B5 micro sign
    {"\xCE\xBCs", 1000},                                         // U+03BC Greek small letter mu
    {"ms", 1000000},     {"s", 1000000000}, {"m", 60ULL * 1000000000}, {"h", 3600ULL * 1000000000},
};

std::optional<Duration> fail(std::string* error, std::string message) {
  if (error) *error = std::move(message);
  return std::nullopt;
}

// Go's time.ParseDuration.
std::optional<Duration> parseGoDuration(std::string_view s, std::string* error) {
  bool negative = false;
  if (!s.empty() && (s.front() == '-' || s.front() == '+')) {
    negative = s.front() == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Duration{};
  if (s.empty()) return fail(error, "empty duration");

  uint64_t total = 0;
  while (!s.empty()) {
    // Integer part.
    uint64_t whole = 0;
    size_t digits = 0;
    bool overflow = false;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') {
      uint64_t digit = uint64_t(s[digits] - '0');
      if (whole > (kMaxMagnitude - digit) / 10) overflow = true;
      whole = whole * 10 + digit;
      ++digits;
    }
    if (overflow) return fail(error, "duration out of range");
    bool hadDigits = digits > 0;
    s.remove_prefix(digits);

    // Fraction: keep the digits that still fit, like Go.
    uint64_t fraction = 0;
    double scale = 1;
    if (!s.empty() && s.front() == '.') {
      s.remove_prefix(1);
      size_t i = 0;
      bool fractionOverflow = false;
      for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        if (fractionOverflow) continue;
        if (fraction > (INT64_MAX - 9) / 10) {
          fractionOverflow = true;
          continue;
        }
        fraction = fraction * 10 + uint64_t(s[i] - '0');
        scale *= 10;
      }
      hadDigits = hadDigits || i > 0;
      s.remove_prefix(i);
    }
    if (!hadDigits) return fail(error, "missing number");

    // Unit.
    size_t unitLength = 0;
    while (unitLength < s.size() && !(s[unitLength] >= '0' && s[unitLength] <= '9') &&
           s[unitLength] != '.')
      ++unitLength;
    const std::string_view unitName = s.substr(0, unitLength);
    if (unitName.empty()) return fail(error, "missing unit (ns, us, ms, s, m or h)");
    const Unit* unit = nullptr;
    for (const Unit& candidate : kUnits)
      if (candidate.name == unitName) unit = &candidate;
    if (!unit)
      return fail(error,
                  "unknown unit '" + std::string(unitName) + "' (use ns, us, ms, s, m or h)");
    s.remove_prefix(unitLength);

    if (whole > kMaxMagnitude / unit->nanoseconds) return fail(error, "duration out of range");
    uint64_t component = whole * unit->nanoseconds;
    if (fraction > 0) {
      component += uint64_t(double(fraction) * (double(unit->nanoseconds) / scale));
      if (component > kMaxMagnitude) return fail(error, "duration out of range");
    }
    total += component;
    if (total > kMaxMagnitude) return fail(error, "duration out of range");
  }
  if (total == kMaxMagnitude && !negative) return fail(error, "duration out of range");
  const int64_t signedTotal = negative ? int64_t(0 - total) : int64_t(total);
  return Duration{std::chrono::nanoseconds(signedTotal)};
}

// Appends v / 10^precision with trailing zeros of the fraction removed.
void appendFraction(std::string& out, uint64_t v, int precision) {
  uint64_t divisor = 1;
  for (int i = 0; i < precision; ++i)
    divisor *= 10;
  out += std::to_string(v / divisor);
  uint64_t fraction = v % divisor;
  if (fraction == 0) return;
  std::string digits = std::to_string(fraction);
  digits.insert(0, size_t(precision) - digits.size(), '0');
  while (digits.back() == '0')
    digits.pop_back();
  out += '.';
  out += digits;
}

} // namespace

std::optional<Duration> Duration::parse(std::string_view text, std::string* error) {
  text = trim(text);
  // A bare integer means seconds (Traefik's ptypes.Duration).
  std::string_view digits = text;
  const bool negative = !digits.empty() && digits.front() == '-';
  if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) digits.remove_prefix(1);
  if (!digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos) {
    auto seconds = parseDecimal(digits);
    constexpr uint64_t kMaxSeconds = uint64_t(INT64_MAX) / 1000000000;
    if (!seconds || *seconds > kMaxSeconds) return fail(error, "duration out of range");
    int64_t value = int64_t(*seconds);
    return Duration{std::chrono::seconds(negative ? -value : value)};
  }
  return parseGoDuration(text, error);
}

std::string Duration::toString() const {
  const int64_t count = value.count();
  if (count == 0) return "0s";
  std::string out = count < 0 ? "-" : "";
  const uint64_t u = count < 0 ? uint64_t(0) - uint64_t(count) : uint64_t(count);
  if (u < 1000000000) {
    if (u < 1000) return out + std::to_string(u) + "ns";
    if (u < 1000000) {
      appendFraction(out, u, 3);
      return out + "\xC2\xB5s";
    }
    appendFraction(out, u, 6);
    return out + "ms";
  }
  const uint64_t totalSeconds = u / 1000000000;
  const uint64_t hours = totalSeconds / 3600;
  const uint64_t minutes = totalSeconds / 60 % 60;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (hours > 0 || minutes > 0) out += std::to_string(minutes) + "m";
  appendFraction(out, (totalSeconds % 60) * 1000000000 + u % 1000000000, 9);
  return out + "s";
}

} // namespace causeway::config
