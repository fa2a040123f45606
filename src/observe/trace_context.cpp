#include "observe/trace_context.h"

#include <algorithm>
#include <map>
#include <random>

#include "http/uri.h"

namespace causeway::observe {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // upper case is invalid in traceparent
}

template <size_t N>
bool parseHex(std::string_view text, std::array<uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  bool nonZero = false;
  for (size_t i = 0; i < N; ++i) {
    int hi = hexValue(text[2 * i]), lo = hexValue(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = uint8_t(hi << 4 | lo);
    nonZero = nonZero || out[i] != 0;
  }
  return nonZero;
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

int unhex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// url.QueryUnescape ('+' is a space); the input as is when malformed.
std::string queryUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out.push_back(' ');
    } else if (s[i] == '%' && i + 2 < s.size() && unhex(s[i + 1]) >= 0 && unhex(s[i + 2]) >= 0) {
      out.push_back(char(unhex(s[i + 1]) << 4 | unhex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

bool parseTraceparent(std::string_view v, ParentContext& out) {
  if (v.size() < 55) return false;
  if (hexValue(v[0]) < 0 || hexValue(v[1]) < 0 || v.substr(0, 2) == "ff") return false;
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return false;
  if (v.substr(0, 2) == "00" && v.size() != 55) return false;
  if (v.size() > 55 && v[55] != '-') return false;
  if (!parseHex(v.substr(3, 32), out.traceId) || !parseHex(v.substr(36, 16), out.spanId)) return false;
  int hi = hexValue(v[53]), lo = hexValue(v[54]);
  if (hi < 0 || lo < 0) return false;
  out.sampled = ((hi << 4 | lo) & 1) != 0;
  return true;
}

void appendHex(std::string& out, const uint8_t* data, size_t size) {
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
}

void appendTraceparent(std::string& out, const exchange::TraceId& traceId, const exchange::SpanId& spanId, bool sampled) {
  out.append("00-");
  appendHex(out, traceId.data(), traceId.size());
  out.push_back('-');
  appendHex(out, spanId.data(), spanId.size());
  out.append(sampled ? "-01" : "-00");
}

std::string_view acceptableTracestate(std::string_view value) {
  if (value.empty() || value.size() > 512) return {};
  for (char c : value)
    if (c < 0x20 || c > 0x7E) return {};
  return value;
}

bool sampleByRatio(const exchange::TraceId& id, double rate) {
  if (rate >= 1) return true;
  if (!(rate > 0)) return false;
  uint64_t x = 0;
  for (size_t i = 8; i < 16; ++i) x = x << 8 | id[i];
  const uint64_t threshold = uint64_t(rate * double(uint64_t(1) << 63));
  return (x >> 1) < threshold;
}

IdGenerator::IdGenerator() {
  std::random_device device;
  for (auto& s : s_) s = (uint64_t(device()) << 32) ^ device() ^ 0x9E3779B97F4A7C15ull;
}

uint64_t IdGenerator::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

exchange::TraceId IdGenerator::traceId() {
  exchange::TraceId id{};
  do {
    uint64_t a = next(), b = next();
    for (int i = 0; i < 8; ++i) {
      id[i] = uint8_t(a >> (56 - 8 * i));
      id[8 + i] = uint8_t(b >> (56 - 8 * i));
    }
  } while (std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; }));
  return id;
}

exchange::SpanId IdGenerator::spanId() {
  exchange::SpanId id{};
  do {
    uint64_t a = next();
    for (int i = 0; i < 8; ++i) id[i] = uint8_t(a >> (56 - 8 * i));
  } while (std::all_of(id.begin(), id.end(), [](uint8_t b) { return b == 0; }));
  return id;
}

std::string redactQuery(std::string_view rawQuery, const std::vector<std::string>& safe) {
  // url.ParseQuery then Set(k, "REDACTED") for unsafe keys, then Encode (sorted keys).
  std::map<std::string, std::vector<std::string>> values;
  size_t start = 0;
  while (start <= rawQuery.size()) {
    size_t end = rawQuery.find('&', start);
    if (end == std::string_view::npos) end = rawQuery.size();
    std::string_view pair = rawQuery.substr(start, end - start);
    if (!pair.empty() && pair.find(';') == std::string_view::npos) {
      size_t eq = pair.find('=');
      std::string key = queryUnescape(pair.substr(0, eq));
      std::string value = eq == std::string_view::npos ? std::string() : queryUnescape(pair.substr(eq + 1));
      values[key].push_back(std::move(value));
    }
    start = end + 1;
  }
  std::string out;
  for (auto& [key, list] : values) {
    bool isSafe = std::find(safe.begin(), safe.end(), key) != safe.end();
    if (!isSafe) list = {"REDACTED"};
    for (const auto& value : list) {
      if (!out.empty()) out.push_back('&');
      http::appendQueryEscaped(out, key);
      out.push_back('=');
      http::appendQueryEscaped(out, value);
    }
  }
  return out;
}

}  // namespace causeway::observe
