#include "observe/text_format.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace causeway::observe {
namespace {

// The shortest decimal digits of |value| (no leading zeros) and the position of the decimal
// point relative to them: value = 0.DIGITS × 10^dp.
struct Digits {
  char digits[32];
  int count = 0;
  int dp = 0;
};

Digits shortestDigits(double value) {
  Digits d;
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, std::fabs(value), std::chars_format::scientific);
  // "d.ddde±XX"
  const char* p = buffer;
  int exponent = 0;
  for (; p < end && *p != 'e'; ++p)
    if (*p != '.') d.digits[d.count++] = *p;
  if (p < end) std::from_chars(p + 1 + (p[1] == '+'), end, exponent);
  while (d.count > 1 && d.digits[d.count - 1] == '0') --d.count;
  d.dp = exponent + 1;
  return d;
}

// d.ddde±XX: strconv's 'g' pads the exponent to two digits ("e-09"); encoding/json trims it.
void appendExponentForm(std::string& out, const Digits& d, bool twoDigitExponent) {
  out.push_back(d.digits[0]);
  if (d.count > 1) {
    out.push_back('.');
    out.append(d.digits + 1, size_t(d.count - 1));
  }
  int exponent = d.dp - 1;
  out.push_back('e');
  out.push_back(exponent < 0 ? '-' : '+');
  if (exponent < 0) exponent = -exponent;
  if (twoDigitExponent && exponent < 10) out.push_back('0');
  appendDecimal(out, uint64_t(exponent));
}

void appendFixedForm(std::string& out, const Digits& d) {
  if (d.dp <= 0) {
    out.append("0.");
    out.append(size_t(-d.dp), '0');
    out.append(d.digits, size_t(d.count));
    return;
  }
  if (d.dp >= d.count) {
    out.append(d.digits, size_t(d.count));
    out.append(size_t(d.dp - d.count), '0');
    return;
  }
  out.append(d.digits, size_t(d.dp));
  out.push_back('.');
  out.append(d.digits + d.dp, size_t(d.count - d.dp));
}

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct Civil {
  int64_t year;
  unsigned month, day, hour, minute, second;
  uint32_t nanos;
};

// Howard Hinnant's civil_from_days.
Civil civil(int64_t unixNanos, int offsetSeconds) {
  int64_t seconds = unixNanos / 1000000000;
  int64_t nanos = unixNanos % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --seconds;
  }
  seconds += offsetSeconds;
  int64_t days = seconds / 86400;
  int64_t rest = seconds % 86400;
  if (rest < 0) {
    rest += 86400;
    --days;
  }
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = unsigned(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = int64_t(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d, unsigned(rest / 3600), unsigned(rest % 3600 / 60), unsigned(rest % 60),
          uint32_t(nanos)};
}

void append2(std::string& out, unsigned v) {
  out.push_back(char('0' + v / 10 % 10));
  out.push_back(char('0' + v % 10));
}

void append4(std::string& out, int64_t v) {
  if (v < 0 || v > 9999) {
    appendDecimal(out, v);
    return;
  }
  append2(out, unsigned(v / 100));
  append2(out, unsigned(v % 100));
}

void appendOffset(std::string& out, int offsetSeconds, bool colon, bool zulu) {
  if (zulu && offsetSeconds == 0) {
    out.push_back('Z');
    return;
  }
  out.push_back(offsetSeconds < 0 ? '-' : '+');
  int minutes = std::abs(offsetSeconds) / 60;
  append2(out, unsigned(minutes / 60));
  if (colon) out.push_back(':');
  append2(out, unsigned(minutes % 60));
}

void appendDate(std::string& out, const Civil& c) {
  append4(out, c.year);
  out.push_back('-');
  append2(out, c.month);
  out.push_back('-');
  append2(out, c.day);
  out.push_back('T');
  append2(out, c.hour);
  out.push_back(':');
  append2(out, c.minute);
  out.push_back(':');
  append2(out, c.second);
}

const char kHex[] = "0123456789abcdef";

}  // namespace

void appendDecimal(std::string& out, uint64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, size_t(end - buffer));
}

void appendDecimal(std::string& out, int64_t value) {
  char buffer[24];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  out.append(buffer, size_t(end - buffer));
}

void appendGoFloat(std::string& out, double value) {
  if (std::isnan(value)) {
    out.append("NaN");
    return;
  }
  if (std::isinf(value)) {
    out.append(value > 0 ? "+Inf" : "-Inf");
    return;
  }
  if (value == 0) {
    out.append(std::signbit(value) ? "-0" : "0");
    return;
  }
  if (value < 0) out.push_back('-');
  Digits d = shortestDigits(value);
  int exponent = d.dp - 1;
  if (exponent < -4 || exponent >= 6) {
    // Go's shortest 'g': %e when the exponent is below -4 or at least 6.
    appendExponentForm(out, d, true);
  } else {
    appendFixedForm(out, d);
  }
}

void appendJsonFloat(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out.append("0");  // encoding/json refuses these; never produced by callers
    return;
  }
  if (value == 0) {
    out.append("0");
    return;
  }
  if (value < 0) out.push_back('-');
  Digits d = shortestDigits(value);
  double magnitude = std::fabs(value);
  if (magnitude < 1e-6 || magnitude >= 1e21) {
    appendExponentForm(out, d, false);  // Go trims e-09 to e-9
  } else {
    appendFixedForm(out, d);
  }
}

void appendLabelValue(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') out.append("\\\\");
    else if (c == '"') out.append("\\\"");
    else if (c == '\n') out.append("\\n");
    else out.push_back(c);
  }
}

void appendHelpText(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c == '\\') out.append("\\\\");
    else if (c == '\n') out.append("\\n");
    else out.push_back(c);
  }
}

// Bytes that appendJsonString cannot copy as they are (escapes, non-ASCII to validate).
constexpr std::array<bool, 256> kJsonSpecial = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&';
  return t;
}();

void appendJsonString(std::string& out, std::string_view value) {
  out.push_back('"');
  const auto* s = reinterpret_cast<const unsigned char*>(value.data());
  const size_t n = value.size();
  size_t i = 0;
  while (i < n) {
    size_t run = i;
    while (run < n && !kJsonSpecial[s[run]]) ++run;
    if (run > i) {
      out.append(reinterpret_cast<const char*>(s + i), run - i);
      i = run;
      if (i >= n) break;
    }
    unsigned char c = s[i];
    if (c < 0x80) {
      switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        case '<': out.append("\\u003c"); break;
        case '>': out.append("\\u003e"); break;
        case '&': out.append("\\u0026"); break;
        default:
          if (c < 0x20) {
            out.append("\\u00");
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
          } else {
            out.push_back(char(c));
          }
      }
      ++i;
      continue;
    }
    // UTF-8: validate the sequence; invalid bytes become U+FFFD (as Go does).
    size_t length = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) length = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0) length = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0) length = 4, cp = c & 0x07;
    bool valid = length > 0 && i + length <= n;
    for (size_t k = 1; valid && k < length; ++k) {
      if ((s[i + k] & 0xC0) != 0x80) valid = false;
      else cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (valid) {
      if ((length == 2 && cp < 0x80) || (length == 3 && cp < 0x800) || (length == 4 && cp < 0x10000) ||
          cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        valid = false;
    }
    if (!valid) {
      out.append("\\ufffd");
      ++i;
      continue;
    }
    if (cp == 0x2028 || cp == 0x2029) {
      out.append(cp == 0x2028 ? "\\u2028" : "\\u2029");
    } else {
      out.append(reinterpret_cast<const char*>(s + i), length);
    }
    i += length;
  }
  out.push_back('"');
}

void appendLogText(std::string& out, std::string_view value, bool quote) {
  size_t plain = 0;
  while (plain < value.size()) {
    auto c = static_cast<unsigned char>(value[plain]);
    if (c < 0x20 || c == 0x7F || (quote && c == '"')) break;
    ++plain;
  }
  out.append(value.substr(0, plain));
  value.remove_prefix(plain);
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '\n') out.append("\\n");
    else if (c == '\r') out.append("\\r");
    else if (c == '\t') out.append("\\t");
    else if (c < 0x20 || c == 0x7F) {
      out.append("\\x");
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else if (quote && c == '"') {
      out.append("\\\"");
    } else {
      out.push_back(ch);
    }
  }
}

void appendClfTime(std::string& out, int64_t unixNanos, int offsetSeconds) {
  Civil c = civil(unixNanos, offsetSeconds);
  append2(out, c.day);
  out.push_back('/');
  out.append(kMonths[c.month - 1]);
  out.push_back('/');
  append4(out, c.year);
  out.push_back(':');
  append2(out, c.hour);
  out.push_back(':');
  append2(out, c.minute);
  out.push_back(':');
  append2(out, c.second);
  out.push_back(' ');
  appendOffset(out, offsetSeconds, false, false);
}

void appendRfc3339Nano(std::string& out, int64_t unixNanos, int offsetSeconds) {
  Civil c = civil(unixNanos, offsetSeconds);
  appendDate(out, c);
  if (c.nanos) {
    char fraction[10];
    uint32_t v = c.nanos;
    for (int k = 8; k >= 0; --k) {
      fraction[k] = char('0' + v % 10);
      v /= 10;
    }
    int length = 9;
    while (length > 0 && fraction[length - 1] == '0') --length;
    out.push_back('.');
    out.append(fraction, size_t(length));
  }
  appendOffset(out, offsetSeconds, true, true);
}

void appendRfc3339(std::string& out, int64_t unixNanos, int offsetSeconds) {
  Civil c = civil(unixNanos, offsetSeconds);
  appendDate(out, c);
  appendOffset(out, offsetSeconds, true, true);
}

}  // namespace causeway::observe
