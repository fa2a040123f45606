#include "http/uri.h"

#include <cstring>

#include "core/strings.h"
#include "http/h1/char_class.h"
#include "http/scan.h"
#include "net/ip.h"

namespace causeway::http {

namespace {

using chars::is;

// Bytes allowed in a reg-name (RFC 3986 §3.2.2) minus pct-encoded.
constexpr bool isRegNameChar(char c) {
  return is(c, chars::kUnreserved | chars::kSubDelim);
}

// Validates the IP-literal between brackets: an IPv6 address, no zone, no IPvFuture.
bool validIpLiteral(std::string_view inner) {
  if (inner.empty() || inner.find(':') == std::string_view::npos) return false;
  for (char c : inner)
    if (!(chars::isHex(c) || c == ':' || c == '.')) return false;
  return net::IpAddress::parse(inner).has_value();
}

bool validPort(std::string_view port) {
  if (port.size() > 5) return false;
  unsigned value = 0;
  for (char c : port) {
    if (!chars::isDigit(static_cast<unsigned char>(c))) return false;
    value = value * 10 + unsigned(c - '0');
  }
  return value <= 65535;
}

// Validates raw request-target bytes: VCHAR except '#'. In the path every '%' must start a
// valid escape; in the query a stray '%' is accepted ("?q=100%"), as Go, Traefik, nginx and
// browsers do: the query is forwarded as is and only decoded on demand (Query matchers).
bool validTargetBytes(std::string_view s) {
  const char* p = s.data();
  const char* const end = p + s.size();
  bool inQuery = false;
  while (true) {
    p = scan::findTargetStop(p, end);
    if (p == end) return true;
    if (*p != '%') return false;
    if (end - p < 3 || !chars::isHex(p[1]) || !chars::isHex(p[2])) {
      if (!inQuery) {
        const void* q = std::memchr(s.data(), '?', size_t(p - s.data()));
        inQuery = q != nullptr;
      }
      if (!inQuery) return false;
      ++p;
      continue;
    }
    p += 3;
  }
}

// Splits "path?query" (path already known to be valid bytes).
void splitQuery(std::string_view rest, Target& t) {
  size_t q = rest.find('?');
  if (q == std::string_view::npos) {
    t.path = rest;
    return;
  }
  t.path = rest.substr(0, q);
  t.query = rest.substr(q + 1);
  t.hasQuery = true;
}

template <bool PlusIsSpace> bool unescape(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  const size_t n = in.size();
  for (size_t i = 0; i < n; ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= n || !chars::isHex(in[i + 1]) || !chars::isHex(in[i + 2])) return false;
      out.push_back(char(chars::hexValue(in[i + 1]) << 4 | chars::hexValue(in[i + 2])));
      i += 2;
    } else if (PlusIsSpace && c == '+') {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

// Go's path.Clean for a rooted path, in place, followed by JoinPath's trailing-slash rule.
// One addition: a segment that is "." or ".." followed by ";params" counts as a dot segment
// (and its parameters go with it), because servlet containers strip path parameters before
// resolving dot segments ("/public/..;/admin" is "/admin" to Tomcat and Spring).
void cleanRootedPath(std::string& p) {
  const bool trailingSlash = p.size() > 1 && p.back() == '/';
  const size_t n = p.size();
  auto segmentEndsAt = [&](size_t k) { return k == n || p[k] == '/' || p[k] == ';'; };
  auto skipSegment = [&](size_t k) {
    while (k < n && p[k] != '/')
      ++k;
    return k;
  };
  size_t r = 1, w = 1;
  constexpr size_t dotdot = 1;
  while (r < n) {
    if (p[r] == '/') {
      ++r;
    } else if (p[r] == '.' && segmentEndsAt(r + 1)) {
      r = skipSegment(r + 1);
    } else if (p[r] == '.' && r + 1 < n && p[r + 1] == '.' && segmentEndsAt(r + 2)) {
      r = skipSegment(r + 2);
      if (w > dotdot) {
        --w;
        while (w > dotdot && p[w] != '/')
          --w;
      }
    } else {
      if (w != 1) p[w++] = '/';
      while (r < n && p[r] != '/')
        p[w++] = p[r++];
    }
  }
  p.resize(w);
  if (trailingSlash && p.back() != '/') p.push_back('/');
}

}  // namespace

std::optional<Authority> parseAuthority(std::string_view text) {
  if (text.empty()) return std::nullopt;
  Authority a;
  std::string_view rest;
  if (text[0] == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || !validIpLiteral(text.substr(1, close - 1)))
      return std::nullopt;
    a.host = text.substr(0, close + 1);
    rest = text.substr(close + 1);
    if (!rest.empty() && rest[0] != ':') return std::nullopt;
  } else {
    size_t colon = text.find(':');
    a.host = text.substr(0, colon);
    if (colon != std::string_view::npos) rest = text.substr(colon);
    if (a.host.empty() || a.host[0] == '.') return std::nullopt;
    char prev = 0;
    for (char c : a.host) {
      if (!isRegNameChar(c) || (c == '.' && prev == '.')) return std::nullopt;
      prev = c;
    }
  }
  if (!rest.empty()) {  // rest starts with ':'
    a.port = rest.substr(1);
    if (!validPort(a.port)) return std::nullopt;  // also rejects a second ':'
  }
  return a;
}

void normalizeHost(std::string_view host, std::string& out) {
  out.clear();
  if (!host.empty() && host[0] == '[') {
    size_t close = host.find(']');
    host = host.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
  } else {
    host = host.substr(0, host.find(':'));
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  }
  out.resize(host.size());
  for (size_t i = 0; i < host.size(); ++i)
    out[i] = asciiLower(host[i]);
}

std::optional<Target> parseTarget(std::string_view target, std::string_view method) {
  if (target.empty()) return std::nullopt;
  Target t;
  const bool connect = method == "CONNECT";
  if (connect) {
    // authority-form = uri-host ":" port (RFC 9112 §3.2.3): the port is mandatory.
    auto authority = parseAuthority(target);
    if (!authority || authority->port.empty()) return std::nullopt;
    t.form = TargetForm::Authority;
    t.absoluteAuthority = target;
    return t;
  }
  if (target[0] == '/') {
    if (!validTargetBytes(target)) return std::nullopt;
    t.form = TargetForm::Origin;
    splitQuery(target, t);
    return t;
  }
  if (target == "*") {
    if (method != "OPTIONS") return std::nullopt;
    t.form = TargetForm::Asterisk;
    t.path = target;
    return t;
  }
  // absolute-form: scheme "://" authority path-abempty [ "?" query ]
  size_t colon = target.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view scheme = target.substr(0, colon);
  if (!iequals(scheme, "http") && !iequals(scheme, "https")) return std::nullopt;
  std::string_view rest = target.substr(colon + 1);
  if (rest.size() < 2 || rest[0] != '/' || rest[1] != '/') return std::nullopt;
  rest.remove_prefix(2);
  size_t authorityEnd = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, authorityEnd);
  // "http://@/": an empty userinfo and an empty host. Go then takes the Host field, and
  // Traefik's routing relies on it; any other userinfo is refused (docs/security.md, S40).
  if (authority == "@") authority = {};
  else if (!parseAuthority(authority)) return std::nullopt;
  rest = authorityEnd == std::string_view::npos ? std::string_view{} : rest.substr(authorityEnd);
  if (!validTargetBytes(rest)) return std::nullopt;
  t.form = TargetForm::Absolute;
  t.absoluteScheme = scheme;
  t.absoluteAuthority = authority;
  splitQuery(rest, t);
  if (t.path.empty()) t.path = (method == "OPTIONS" && !t.hasQuery) ? "*" : "/";
  return t;
}

bool normalizePath(std::string_view rawPath, bool sanitize, std::string& out) {
  out.clear();
  if (rawPath == "*") {
    out.push_back('*');
    return true;
  }
  out.reserve(rawPath.size() + 1);
  if (rawPath.empty() || rawPath[0] != '/') out.push_back('/');
  const size_t n = rawPath.size();
  for (size_t i = 0; i < n; ++i) {
    char c = rawPath[i];
    if (c == '%') {
      if (i + 2 >= n || !chars::isHex(rawPath[i + 1]) || !chars::isHex(rawPath[i + 2]))
        return false;
      char decoded = char(chars::hexValue(rawPath[i + 1]) << 4 | chars::hexValue(rawPath[i + 2]));
      if (decoded == 0) return false;
      if (is(decoded, chars::kUnreserved)) {
        out.push_back(decoded);
      } else {
        out.push_back('%');
        out.push_back(asciiUpper(rawPath[i + 1]));
        out.push_back(asciiUpper(rawPath[i + 2]));
      }
      i += 2;
    } else if (is(c, chars::kPathKeep)) {
      out.push_back(c);
    } else {
      if (c == '\0') return false;  // it would be forwarded as %00, which is refused above
      unsigned char u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(chars::kUpperHex[u >> 4]);
      out.push_back(chars::kUpperHex[u & 15]);
    }
  }
  if (sanitize) cleanRootedPath(out);
  return true;
}

void appendQueryEscaped(std::string& out, std::string_view in) {
  static constexpr char kHexDigits[] = "0123456789ABCDEF";
  for (unsigned char c : in) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(char(c));
    } else if (c == ' ') {
      out.push_back('+');
    } else {
      out.push_back('%');
      out.push_back(kHexDigits[c >> 4]);
      out.push_back(kHexDigits[c & 15]);
    }
  }
}

bool queryUnescape(std::string_view in, std::string& out) {
  return unescape<true>(in, out);
}
bool pathUnescape(std::string_view in, std::string& out) {
  return unescape<false>(in, out);
}

EncodedCharacters findEncodedCharacters(std::string_view rawPath) {
  EncodedCharacters found;
  const size_t n = rawPath.size();
  for (size_t i = 0; i + 2 < n; ++i) {
    if (rawPath[i] != '%') continue;
    char hi = rawPath[i + 1], lo = asciiUpper(rawPath[i + 2]);
    if (!chars::isHex(hi) || !chars::isHex(lo)) continue;
    switch (hi) {
    case '0':
      found.nul |= lo == '0';
      break;
    case '2':
      found.slash |= lo == 'F';
      found.percent |= lo == '5';
      found.hash |= lo == '3';
      break;
    case '3':
      found.semicolon |= lo == 'B';
      found.questionMark |= lo == 'F';
      break;
    case '5':
      found.backslash |= lo == 'C';
      break;
    default:
      break;
    }
    i += 2;
  }
  return found;
}

}  // namespace causeway::http

namespace causeway::http {

bool routingPath(std::string_view path, std::string& out) {
  if (path.find('%') == std::string_view::npos) return false;
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  constexpr std::string_view kReserved = ":/?#[]@!$&'()*+,;=%";
  out.clear();
  out.reserve(path.size());
  bool changed = false;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '%' && i + 2 < path.size()) {
      int hi = hex(path[i + 1]), lo = hex(path[i + 2]);
      if (hi >= 0 && lo >= 0) {
        char decoded = char(hi * 16 + lo);
        if (kReserved.find(decoded) == std::string_view::npos) {
          out.push_back(decoded);
          i += 2;
          changed = true;
          continue;
        }
      }
    }
    out.push_back(path[i]);
  }
  return changed;
}

}  // namespace causeway::http
