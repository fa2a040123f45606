#include "middleware/http_util.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <vector>

#include "http/h1/char_class.h"
#include "server/exchange.h"
#include "server/local_reply.h"

namespace causeway::middleware {

std::string_view goStatusText(int status) {
  switch (status) {
  case 208:
    return "Already Reported";
  case 226:
    return "IM Used";
  case 305:
    return "Use Proxy";
  case 423:
    return "Locked";
  case 424:
    return "Failed Dependency";
  case 451:
    return "Unavailable For Legal Reasons";
  case 506:
    return "Variant Also Negotiates";
  case 507:
    return "Insufficient Storage";
  case 508:
    return "Loop Detected";
  case 510:
    return "Not Extended";
  case 511:
    return "Network Authentication Required";
  case 499:
    return "";
  default:
    return server::reasonPhrase(status);
  }
}

namespace {

constexpr std::string_view kBase64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string canonicalHeaderKey(std::string_view name) {
  for (unsigned char c : name)
    if (!http::chars::isTchar(char(c))) return std::string(name);
  std::string out(name);
  bool upper = true;
  for (char& c : out) {
    if (upper && c >= 'a' && c <= 'z')
      c = char(c - 32);
    else if (!upper && c >= 'A' && c <= 'Z')
      c = char(c + 32);
    upper = c == '-';
  }
  return out;
}

std::string base64Encode(std::string_view data, bool pad) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16 | uint32_t(uint8_t(data[i + 1])) << 8 |
                 uint8_t(data[i + 2]);
    out.push_back(kBase64[v >> 18 & 63]);
    out.push_back(kBase64[v >> 12 & 63]);
    out.push_back(kBase64[v >> 6 & 63]);
    out.push_back(kBase64[v & 63]);
  }
  size_t rest = data.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16;
    out.push_back(kBase64[v >> 18 & 63]);
    out.push_back(kBase64[v >> 12 & 63]);
    if (pad) out.append("==");
  } else if (rest == 2) {
    uint32_t v = uint32_t(uint8_t(data[i])) << 16 | uint32_t(uint8_t(data[i + 1])) << 8;
    out.push_back(kBase64[v >> 18 & 63]);
    out.push_back(kBase64[v >> 12 & 63]);
    out.push_back(kBase64[v >> 6 & 63]);
    if (pad) out.push_back('=');
  }
  return out;
}

bool base64Decode(std::string_view text, std::string& out) {
  out.clear();
  std::string clean;
  clean.reserve(text.size());
  for (char c : text)
    if (c != '\r' && c != '\n') clean.push_back(c);
  if (clean.size() % 4 != 0) return false;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  for (size_t i = 0; i < clean.size(); i += 4) {
    bool last = i + 4 == clean.size();
    int a = value(clean[i]), b = value(clean[i + 1]);
    if (a < 0 || b < 0) return false;
    char c3 = clean[i + 2], c4 = clean[i + 3];
    if (last && c3 == '=' && c4 == '=') {
      out.push_back(char(a << 2 | b >> 4));
      return true;
    }
    int c = value(c3);
    if (c < 0) return false;
    if (last && c4 == '=') {
      out.push_back(char(a << 2 | b >> 4));
      out.push_back(char((b & 0x0f) << 4 | c >> 2));
      return true;
    }
    int d = value(c4);
    if (d < 0) return false;
    out.push_back(char(a << 2 | b >> 4));
    out.push_back(char((b & 0x0f) << 4 | c >> 2));
    out.push_back(char((c & 0x03) << 6 | d));
  }
  return true;
}

bool constantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string randomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), int(n)) != 1) {
    // The CSPRNG cannot fail on a supported system; fall back to the OS source.
    if (FILE* f = std::fopen("/dev/urandom", "rb")) {
      size_t got = std::fread(out.data(), 1, n, f);
      (void)got;
      std::fclose(f);
    }
  }
  return out;
}

std::string hexEncode(std::string_view data) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (unsigned char c : data) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

void bareStatusReply(server::Exchange& ex, int status) {
  auto& r = ex.response;
  r.status = status;
  r.reason = {};
  r.headers.clear();
  r.body = nullptr;
  r.tunnel = nullptr;
}

namespace {

std::string htmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '"':
      out += "&#34;";
      break;
    case '\'':
      out += "&#39;";
      break;
    default:
      out.push_back(c);
    }
  }
  return out;
}

std::string hexEscapeNonAscii(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x80) {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(char(c));
    }
  }
  return out;
}

// path.Clean for an absolute path.
std::string cleanPath(std::string_view p) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t slash = p.find('/', i);
    if (slash == std::string_view::npos) slash = p.size();
    std::string_view part = p.substr(i, slash - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = slash + 1;
  }
  std::string out;
  for (auto part : parts) {
    out.push_back('/');
    out.append(part);
  }
  return out.empty() ? "/" : out;
}

}  // namespace

void goRedirect(server::Exchange& ex, std::string_view target, int status) {
  std::string url(target);
  bool hasScheme = false;
  if (size_t colon = url.find(':'); colon != std::string::npos && colon > 0) {
    hasScheme = true;
    for (size_t k = 0; k < colon; ++k) {
      char c = url[k];
      bool ok = std::isalpha(static_cast<unsigned char>(c)) ||
                (k > 0 &&
                 (std::isdigit(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'));
      if (!ok) {
        hasScheme = false;
        break;
      }
    }
  }
  bool hasHost = url.starts_with("//");
  if (!hasScheme && !hasHost) {
    // Relative: make it absolute against the request path, then clean it.
    std::string_view oldPath = ex.request.path.empty() ? std::string_view("/") : ex.request.path;
    if (url.empty() || url[0] != '/') {
      std::string_view dir = oldPath.substr(0, oldPath.rfind('/') + 1);
      url = std::string(dir) + url;
    }
    std::string query;
    if (size_t q = url.find('?'); q != std::string::npos) {
      query = url.substr(q);
      url.resize(q);
    }
    bool trailing = url.ends_with('/');
    url = cleanPath(url);
    if (trailing && !url.ends_with('/')) url.push_back('/');
    url += query;
  }
  auto& r = ex.response;
  bareStatusReply(ex, status);
  std::string location = hexEscapeNonAscii(url);
  r.headers.add("Location", ex.arena.copy(location));
  bool get = ex.request.method == "GET";
  if (get || ex.request.method == "HEAD") r.headers.add("Content-Type", "text/html; charset=utf-8");
  if (get) {
    std::string body =
        "<a href=\"" + htmlEscape(url) + "\">" + std::string(goStatusText(status)) + "</a>.\n\n";
    r.body = ex.arena.make<server::MemoryBody>(ex.arena.copy(body));
  }
}

}  // namespace causeway::middleware
