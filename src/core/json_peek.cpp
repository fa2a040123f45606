#include "core/json_peek.h"

namespace causeway {
namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  void space() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }
  bool eat(char c) {
    space();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  char peek() {
    space();
    return i_ < s_.size() ? s_[i_] : '\0';
  }
  // A string at the cursor, decoded (\uXXXX as UTF-8, surrogate pairs joined).
  bool string(std::string* out) {
    if (!eat('"')) return false;
    while (i_ < s_.size()) {
      char c = s_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        if (out) *out += c;
        continue;
      }
      if (i_ >= s_.size()) return false;
      char e = s_[i_++];
      switch (e) {
      case '"': case '\\': case '/': if (out) *out += e; break;
      case 'b': if (out) *out += '\b'; break;
      case 'f': if (out) *out += '\f'; break;
      case 'n': if (out) *out += '\n'; break;
      case 'r': if (out) *out += '\r'; break;
      case 't': if (out) *out += '\t'; break;
      case 'u': {
        unsigned code = 0;
        if (!hex4(code)) return false;
        if (code >= 0xD800 && code < 0xDC00 && i_ + 1 < s_.size() && s_[i_] == '\\' && s_[i_ + 1] == 'u') {
          i_ += 2;
          unsigned low = 0;
          if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
        }
        if (out) utf8(code, *out);
        break;
      }
      default: return false;
      }
    }
    return false;
  }
  // Skips any value at the cursor; nested containers are counted, not recursed into.
  bool skipValue() {
    std::string closers;  // what each open container must end with
    do {
      char c = peek();
      if (c == '"') {
        if (!string(nullptr)) return false;
      } else if (c == '{' || c == '[') {
        ++i_;
        closers += c == '{' ? '}' : ']';
        continue;
      } else if (c == '}' || c == ']') {
        if (closers.empty() || closers.back() != c) return false;
        ++i_;
        closers.pop_back();
      } else if (c == ',' || c == ':') {
        if (closers.empty()) return false;
        ++i_;
        continue;
      } else {
        size_t start = i_;
        while (i_ < s_.size() && (isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                                  s_[i_] == '+' || s_[i_] == '.'))
          ++i_;
        if (i_ == start) return false;
      }
    } while (!closers.empty());
    return true;
  }

 private:
  bool hex4(unsigned& code) {
    if (i_ + 4 > s_.size()) return false;
    for (int k = 0; k < 4; ++k) {
      char h = s_[i_++];
      code <<= 4;
      if (h >= '0' && h <= '9') code |= unsigned(h - '0');
      else if (h >= 'a' && h <= 'f') code |= unsigned(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') code |= unsigned(h - 'A' + 10);
      else return false;
    }
    return true;
  }
  static void utf8(unsigned code, std::string& out) {
    if (code < 0x80) {
      out += char(code);
    } else if (code < 0x800) {
      out += char(0xC0 | (code >> 6));
      out += char(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += char(0xE0 | (code >> 12));
      out += char(0x80 | ((code >> 6) & 0x3F));
      out += char(0x80 | (code & 0x3F));
    } else {
      out += char(0xF0 | (code >> 18));
      out += char(0x80 | ((code >> 12) & 0x3F));
      out += char(0x80 | ((code >> 6) & 0x3F));
      out += char(0x80 | (code & 0x3F));
    }
  }
  static bool isalnum(unsigned char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

std::optional<std::string> peekTopLevelString(std::string_view json, std::string_view key) {
  Scanner scan(json);
  if (!scan.eat('{')) return std::nullopt;
  if (scan.eat('}')) return std::nullopt;
  std::optional<std::string> found;
  for (;;) {
    std::string name;
    if (!scan.string(&name) || !scan.eat(':')) return std::nullopt;
    if (name == key) {
      // Twice is refused: parsers differ on which one counts, and the router must read the
      // same model as the handler that parses the body afterwards.
      if (found || scan.peek() != '"') return std::nullopt;
      found.emplace();
      if (!scan.string(&*found)) return std::nullopt;
    } else if (!scan.skipValue()) {
      return std::nullopt;
    }
    if (scan.eat('}')) return found;
    if (!scan.eat(',')) return std::nullopt;
  }
}

}  // namespace causeway
