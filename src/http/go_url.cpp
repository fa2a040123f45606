#include "http/go_url.h"

#include "http/h1/char_class.h"
#include "http/uri.h"

namespace causeway::http::gourl {
namespace {

bool isAlnum(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// shouldEscape(c, encodePath).
bool shouldEscapePath(unsigned char c) {
  if (isAlnum(c)) return false;
  switch (c) {
  case '-':
  case '_':
  case '.':
  case '~':
    return false;
  case '$':
  case '&':
  case '+':
  case ',':
  case '/':
  case ':':
  case ';':
  case '=':
  case '@':
    return false;
  default:
    return true;
  }
}

const char* kHex = "0123456789ABCDEF";

// Go's unescape() error text for the first invalid escape of `s`.
std::string escapeError(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == '%' && (i + 2 >= s.size() || !chars::isHex(s[i + 1]) || !chars::isHex(s[i + 2])))
      return "invalid URL escape \"" + std::string(s.substr(i, 3)) + "\"";
  return {};
}

// url.PathUnescape (http::pathUnescape) with Go's error text; `out` may be null.
bool unescapeChecked(std::string_view in, std::string* out, std::string* error) {
  std::string scratch;
  if (http::pathUnescape(in, out ? *out : scratch)) return true;
  if (error) *error = escapeError(in);
  return false;
}

}  // namespace

bool pathUnescape(std::string_view in, std::string& out, std::string* error) {
  return unescapeChecked(in, &out, error);
}

std::string escapePath(std::string_view decoded) {
  std::string out;
  out.reserve(decoded.size());
  for (unsigned char c : decoded) {
    if (shouldEscapePath(c)) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += char(c);
    }
  }
  return out;
}

bool validEncodedPath(std::string_view raw) {
  for (unsigned char c : raw) {
    switch (c) {
    case '!':
    case '$':
    case '&':
    case '\'':
    case '(':
    case ')':
    case '*':
    case '+':
    case ',':
    case ';':
    case '=':
    case ':':
    case '@':
    case '[':
    case ']':
    case '%':
      continue;
    default:
      if (shouldEscapePath(c)) return false;
    }
  }
  return true;
}

std::string escapedPath(std::string_view raw, std::string_view decoded) {
  if (!raw.empty() && validEncodedPath(raw)) {
    std::string check;
    if (unescapeChecked(raw, &check, nullptr) && check == decoded) return std::string(raw);
  }
  if (decoded == "*") return "*";
  return escapePath(decoded);
}

size_t encodedPrefixLen(std::string_view rawPath, std::string_view decodedPrefix) {
  size_t decoded = 0;
  size_t i = 0;
  while (i < rawPath.size() && decoded < decodedPrefix.size()) {
    if (rawPath[i] == '%' && i + 2 < rawPath.size())
      i += 3;
    else
      ++i;
    ++decoded;
  }
  return i;
}

bool renormalize(std::string_view escaped, std::string& out) {
  std::string plain;
  if (!normalizePath(escaped, false, plain)) return false;
  if (!normalizePath(escaped, true, out)) return false;
  return plain == out;
}

std::optional<ParsedUrl> parse(std::string_view text, std::string& error) {
  ParsedUrl u;
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) {
      error = "net/url: invalid control character in URL";
      return std::nullopt;
    }
  }
  std::string_view rest = text;
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    u.hasFragment = true;
    u.rawFragment = std::string(rest.substr(hash + 1));
    rest = rest.substr(0, hash);
    if (!unescapeChecked(u.rawFragment, nullptr, &error)) return std::nullopt;
  }
  // Scheme.
  for (size_t i = 0; i < rest.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(rest[i]);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) continue;
    if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.') {
      if (i == 0) break;
      continue;
    }
    if (c == ':') {
      if (i == 0) {
        error = "missing protocol scheme";
        return std::nullopt;
      }
      for (char s : rest.substr(0, i))
        u.scheme += char(s >= 'A' && s <= 'Z' ? s + 32 : s);
      rest = rest.substr(i + 1);
    }
    break;
  }
  // Query.
  if (!rest.empty() && rest.back() == '?' && rest.find('?') == rest.size() - 1) {
    u.forceQuery = true;
    rest.remove_suffix(1);
  } else if (size_t q = rest.find('?'); q != std::string_view::npos) {
    u.rawQuery = std::string(rest.substr(q + 1));
    rest = rest.substr(0, q);
  }
  if (!rest.starts_with('/')) {
    if (!u.scheme.empty()) {
      u.opaque = true;
      u.opaqueText = std::string(rest);
      return u;
    }
    size_t slash = rest.find('/');
    if (rest.substr(0, slash).find(':') != std::string_view::npos) {
      error = "first path segment in URL cannot contain colon";
      return std::nullopt;
    }
  }
  if ((!u.scheme.empty() || !rest.starts_with("///")) && rest.starts_with("//")) {
    std::string_view authority = rest.substr(2);
    size_t slash = authority.find('/');
    rest = slash == std::string_view::npos ? std::string_view() : authority.substr(slash);
    authority = authority.substr(0, slash);
    u.hasAuthority = true;
    u.authority = std::string(authority);
    std::string_view host = authority.substr(
        authority.rfind('@') == std::string_view::npos ? 0 : authority.rfind('@') + 1);
    size_t colon = host.rfind(':');
    if (!host.empty() && host.front() == '[') {
      size_t close = host.find(']');
      if (close == std::string_view::npos) {
        error = "missing ']' in host";
        return std::nullopt;
      }
      colon =
          host.size() > close + 1 && host[close + 1] == ':' ? close + 1 : std::string_view::npos;
      if (host.size() > close + 1 && host[close + 1] != ':') {
        error = "invalid port \"" + std::string(host.substr(close + 1)) + "\" after host";
        return std::nullopt;
      }
    }
    if (colon != std::string_view::npos) {
      for (char c : host.substr(colon + 1)) {
        if (c < '0' || c > '9') {
          error = "invalid port \"" + std::string(host.substr(colon)) + "\" after host";
          return std::nullopt;
        }
      }
    }
  }
  u.rawPath = std::string(rest);
  if (!unescapeChecked(rest, &u.path, &error)) return std::nullopt;
  return u;
}

std::string ParsedUrl::string() const {
  std::string out;
  if (!scheme.empty()) out += scheme + ":";
  if (opaque) {
    out += opaqueText;
  } else {
    if (hasAuthority || !scheme.empty()) {
      if (hasAuthority || rawPath.starts_with("//")) out += "//" + authority;
    }
    std::string p = escapedPath();
    if (!p.empty() && p[0] != '/' && hasAuthority) out += '/';
    out += p;
  }
  if (forceQuery || !rawQuery.empty()) out += "?" + rawQuery;
  if (hasFragment && !rawFragment.empty()) out += "#" + rawFragment;
  return out;
}

std::string ParsedUrl::requestUri() const {
  std::string out = opaque ? opaqueText : escapedPath();
  if (out.empty()) out = "/";
  if (forceQuery || !rawQuery.empty()) out += "?" + rawQuery;
  return out;
}

}  // namespace causeway::http::gourl
