#include "middleware/accept_encoding.h"

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

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
std::string_view trimLeft(std::string_view s) {
  while (!s.empty() && isSpace(s.front())) s.remove_prefix(1);
  return s;
}
std::string_view trimSpace(std::string_view s) {
  s = trimLeft(s);
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
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
  while (i < v.size() && isTokenChar(static_cast<unsigned char>(v[i]))) ++i;
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

std::string chooseEncoding(std::span<const std::string_view> values, const std::vector<std::string>& encodings,
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
            if (w == 0) skip = true;
            else weight = w;
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
  if (acceptable[0].type == "*") return defaultEncoding.empty() ? encodings[0] : std::string(defaultEncoding);
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

// --- http.DetectContentType -----------------------------------------------------------

namespace {

bool isWs(unsigned char b) { return b == '\t' || b == '\n' || b == '\x0c' || b == '\r' || b == ' '; }
bool isTagTerminator(unsigned char b) { return b == ' ' || b == '>'; }

bool htmlSig(std::string_view data, std::string_view sig) {
  if (data.size() < sig.size() + 1) return false;
  for (size_t i = 0; i < sig.size(); ++i) {
    unsigned char db = static_cast<unsigned char>(data[i]);
    unsigned char b = static_cast<unsigned char>(sig[i]);
    if (b >= 'A' && b <= 'Z') db &= 0xDF;
    if (b != db) return false;
  }
  return isTagTerminator(static_cast<unsigned char>(data[sig.size()]));
}

bool masked(std::string_view data, std::string_view mask, std::string_view pat) {
  if (data.size() < mask.size()) return false;
  for (size_t i = 0; i < mask.size(); ++i)
    if ((static_cast<unsigned char>(data[i]) & static_cast<unsigned char>(mask[i])) != static_cast<unsigned char>(pat[i]))
      return false;
  return true;
}

bool mp4(std::string_view data) {
  if (data.size() < 12) return false;
  uint32_t boxSize = uint32_t(static_cast<unsigned char>(data[0])) << 24 | uint32_t(static_cast<unsigned char>(data[1])) << 16 |
                     uint32_t(static_cast<unsigned char>(data[2])) << 8 | uint32_t(static_cast<unsigned char>(data[3]));
  if (boxSize % 4 != 0 || data.size() < boxSize) return false;
  if (data.substr(4, 4) != "ftyp") return false;
  for (size_t st = 8; st < boxSize; st += 4) {
    if (st == 12) continue;
    if (data.substr(st, 3) == "mp4") return true;
  }
  return false;
}

using namespace std::string_view_literals;

}  // namespace

std::string_view detectContentType(std::string_view data) {
  if (data.size() > 512) data = data.substr(0, 512);
  size_t firstNonWs = 0;
  while (firstNonWs < data.size() && isWs(static_cast<unsigned char>(data[firstNonWs]))) ++firstNonWs;
  std::string_view ws = data.substr(firstNonWs);

  static constexpr std::string_view kHtml[] = {"<!DOCTYPE HTML", "<HTML", "<HEAD", "<SCRIPT", "<IFRAME", "<H1", "<DIV",
                                               "<FONT", "<TABLE", "<A", "<STYLE", "<TITLE", "<B", "<BODY", "<BR",
                                               "<P", "<!--"};
  for (auto sig : kHtml)
    if (htmlSig(ws, sig)) return "text/html; charset=utf-8";
  if (masked(ws, "\xFF\xFF\xFF\xFF\xFF"sv, "<?xml"sv)) return "text/xml; charset=utf-8";
  auto prefix = [&](std::string_view sig) { return data.starts_with(sig); };
  if (prefix("%PDF-")) return "application/pdf";
  if (prefix("%!PS-Adobe-")) return "application/postscript";
  if (masked(data, "\xFF\xFF\x00\x00"sv, "\xFE\xFF\x00\x00"sv)) return "text/plain; charset=utf-16be";
  if (masked(data, "\xFF\xFF\x00\x00"sv, "\xFF\xFE\x00\x00"sv)) return "text/plain; charset=utf-16le";
  if (masked(data, "\xFF\xFF\xFF\x00"sv, "\xEF\xBB\xBF\x00"sv)) return "text/plain; charset=utf-8";
  if (prefix("\x00\x00\x01\x00"sv) || prefix("\x00\x00\x02\x00"sv)) return "image/x-icon";
  if (prefix("BM")) return "image/bmp";
  if (prefix("GIF87a") || prefix("GIF89a")) return "image/gif";
  if (masked(data, "\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF\xFF\xFF"sv, "RIFF\x00\x00\x00\x00WEBPVP"sv))
    return "image/webp";
  if (prefix("\x89PNG\x0D\x0A\x1A\x0A")) return "image/png";
  if (prefix("\xFF\xD8\xFF")) return "image/jpeg";
  if (masked(data, "\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF"sv, "FORM\x00\x00\x00\x00" "AIFF"sv)) return "audio/aiff";
  if (prefix("ID3")) return "audio/mpeg";
  if (prefix("OggS\x00"sv)) return "application/ogg";
  if (prefix("MThd\x00\x00\x00\x06"sv)) return "audio/midi";
  if (masked(data, "\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF"sv, "RIFF\x00\x00\x00\x00" "AVI "sv)) return "video/avi";
  if (masked(data, "\xFF\xFF\xFF\xFF\x00\x00\x00\x00\xFF\xFF\xFF\xFF"sv, "RIFF\x00\x00\x00\x00WAVE"sv)) return "audio/wave";
  if (mp4(data)) return "video/mp4";
  if (prefix("\x1A\x45\xDF\xA3")) return "video/webm";
  // 34 bytes of anything (mask 0), then "LP".
  if (data.size() >= 36 && data.substr(34, 2) == "LP") return "application/vnd.ms-fontobject";
  if (prefix("\x00\x01\x00\x00"sv)) return "font/ttf";
  if (prefix("OTTO")) return "font/otf";
  if (prefix("ttcf")) return "font/collection";
  if (prefix("wOFF")) return "font/woff";
  if (prefix("wOF2")) return "font/woff2";
  if (prefix("\x1F\x8B\x08")) return "application/x-gzip";
  if (prefix("PK\x03\x04")) return "application/zip";
  if (prefix("Rar!\x1A\x07\x00"sv) || prefix("Rar!\x1A\x07\x01\x00"sv)) return "application/x-rar-compressed";
  if (prefix("\x00\x61\x73\x6D"sv)) return "application/wasm";
  for (unsigned char b : ws)
    if (b <= 0x08 || b == 0x0B || (b >= 0x0E && b <= 0x1A) || (b >= 0x1C && b <= 0x1F)) return "application/octet-stream";
  return "text/plain; charset=utf-8";
}

}  // namespace causeway::middleware::compress
