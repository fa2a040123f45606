#include "middleware/compress/accept_encoding.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

namespace causeway::middleware::compress {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c + 32);
  return out;
}

bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}
std::string_view trimLeft(std::string_view s) {
  while (!s.empty() && isSpace(s.front()))
    s.remove_prefix(1);
  return s;
}
std::string_view trimSpace(std::string_view s) {
  s = trimLeft(s);
  while (!s.empty() && isSpace(s.back()))
    s.remove_suffix(1);
  return s;
}

// strconv.ParseFloat; 0 on error (what the callers do with the error).
double parseFloat(std::string_view s, bool& ok) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  ok = ec == std::errc() && p == s.data() + s.size() && !s.empty();
  return ok ? v : 0;
}

bool isTokenChar(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  return std::string_view("()<>@,;:\\\"/[]?=").find(char(c)) == std::string_view::npos;
}

std::string_view consumeToken(std::string_view v, std::string_view& rest) {
  size_t i = 0;
  while (i < v.size() && isTokenChar(static_cast<unsigned char>(v[i])))
    ++i;
  rest = v.substr(i);
  return v.substr(0, i);
}

bool checkMediaType(std::string_view s) {
  std::string_view rest;
  std::string_view type = consumeToken(s, rest);
  if (type.empty()) return false;
  if (rest.empty()) return true;
  if (rest[0] != '/') return false;
  std::string_view sub = consumeToken(rest.substr(1), rest);
  return !sub.empty() && rest.empty();
}

// consumeValue: a token or a quoted-string (unquoted); false when neither.
bool consumeValue(std::string_view v, std::string& value, std::string_view& rest) {
  if (v.empty()) return false;
  if (v[0] != '"') {
    std::string_view token = consumeToken(v, rest);
    value = std::string(token);
    return !token.empty();
  }
  value.clear();
  for (size_t i = 1; i < v.size(); ++i) {
    char r = v[i];
    if (r == '"') {
      rest = v.substr(i + 1);
      return true;
    }
    if (r == '\\' && i + 1 < v.size() && (v[i + 1] == '"' || v[i + 1] == '\\')) {
      value += v[i + 1];
      ++i;
      continue;
    }
    if (r == '\r' || r == '\n') return false;
    value += r;
  }
  return false;
}

}  // namespace

std::string chooseEncoding(std::span<const std::string_view> values,
                           const std::vector<std::string>& encodings,
                           std::string_view defaultEncoding) {
  if (values.size() == 1 && values[0].empty()) return std::string(kIdentity);
  auto rank = [&](std::string_view type) -> int {
    if (type == "*") return -1;
    if (type == kIdentity) return int(encodings.size());
    for (size_t i = 0; i < encodings.size(); ++i)
      if (encodings[i] == type) return int(i);
    return -2;  // unsupported
  };
  struct Choice {
    std::string type;
    double weight;
  };
  std::vector<Choice> acceptable;
  for (std::string_view line : values) {
    std::string compact;
    for (char c : line)
      if (c != ' ') compact += c;
    std::string_view rest = compact;
    while (true) {
      size_t comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      size_t semi = item.find(';');
      std::string_view type = item.substr(0, semi);
      if (rank(type) != -2) {
        double weight = 1.0;
        bool skip = false;
        if (semi != std::string_view::npos) {
          std::string_view param = item.substr(semi + 1);
          if (param.starts_with("q=")) {
            bool ok = false;
            double w = parseFloat(param.substr(2), ok);
            if (w == 0)
              skip = true;
            else
              weight = w;
          }
        }
        if (!skip) acceptable.push_back({std::string(type), weight});
      }
      if (comma == std::string_view::npos) break;
      rest = rest.substr(comma + 1);
    }
  }
  if (acceptable.empty()) return std::string(kNotAcceptable);
  std::stable_sort(acceptable.begin(), acceptable.end(), [&](const Choice& a, const Choice& b) {
    if (a.weight == b.weight) return rank(a.type) < rank(b.type);
    return a.weight > b.weight;
  });
  if (acceptable[0].type == "*")
    return defaultEncoding.empty() ? encodings[0] : std::string(defaultEncoding);
  return acceptable[0].type;
}

bool gzhttpAcceptsGzip(std::string_view header) {
  std::string_view s = trimSpace(header);
  while (!s.empty()) {
    size_t stop = s.find(',');
    std::string_view item = s.substr(0, stop);
    std::string coding;
    double q = 1.0;
    if (item.find(';') == std::string_view::npos) {
      coding = lower(trimSpace(item));
    } else {
      size_t n = 0;
      std::string_view parts = item;
      while (true) {
        size_t semi = parts.find(';');
        std::string_view part = trimSpace(parts.substr(0, semi));
        if (n == 0) {
          coding = lower(part);
        } else if (part.size() >= 2 && (part[0] == 'q' || part[0] == 'Q') && part[1] == '=') {
          bool ok = false;
          q = std::clamp(parseFloat(part.substr(2), ok), 0.0, 1.0);
        }
        ++n;
        if (semi == std::string_view::npos) break;
        parts = parts.substr(semi + 1);
      }
    }
    if (coding == "gzip") return q > 0;
    if (stop == std::string_view::npos) break;
    s = s.substr(stop + 1);
  }
  return false;
}

std::optional<MediaType> parseMediaType(std::string_view text) {
  std::string_view base = text.substr(0, text.find(';'));
  MediaType out;
  out.type = lower(trimSpace(base));
  if (!checkMediaType(out.type)) return std::nullopt;
  std::string_view v = text.substr(base.size());
  while (!v.empty()) {
    v = trimLeft(v);
    if (v.empty()) break;
    // consumeMediaParam
    std::string_view rest = v;
    bool ok = false;
    std::string key, value;
    if (rest.starts_with(';')) {
      rest = trimLeft(rest.substr(1));
      std::string_view after;
      std::string_view param = consumeToken(rest, after);
      if (!param.empty()) {
        rest = trimLeft(after);
        if (rest.starts_with('=')) {
          rest = trimLeft(rest.substr(1));
          std::string_view after2;
          if (consumeValue(rest, value, after2)) {
            key = lower(param);
            rest = after2;
            ok = true;
          }
        }
      }
    }
    if (!ok) {
      if (trimSpace(v) == ";") break;  // trailing semicolon
      return std::nullopt;
    }
    auto [it, inserted] = out.params.emplace(key, value);
    if (!inserted && it->second != value) return std::nullopt;
    v = rest;
  }
  return out;
}

bool mediaTypeEquals(const MediaType& configured, const MediaType& actual) {
  if (configured.type != actual.type) return false;
  if (configured.params.empty()) return true;
  if (configured.params.size() != actual.params.size()) return false;
  for (const auto& [k, v] : configured.params) {
    auto it = actual.params.find(k);
    if (it == actual.params.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace causeway::middleware::compress
