#include "exchange/replies.h"

#include "exchange/local_reply.h"
#include "http/go_text.h"

namespace causeway::exchange {

void bareReply(Exchange& ex, int status, std::string_view body) {
  Response& r = ex.response;
  r.status = status;
  r.reason = {};
  r.headers.clear();
  r.body = body.empty() ? nullptr : ex.arena.make<MemoryBody>(ex.arena.copy(body));
  r.tunnel = nullptr;
}

void redirectReply(Exchange& ex, std::string_view location, bool permanent) {
  bool get = ex.request.method == "GET";
  int status = permanent ? (get ? 301 : 308) : (get ? 302 : 307);
  bareReply(ex, status, http::goStatusText(status));
  ex.response.headers.add("Location", ex.arena.copy(location));
}

void bareStatusReply(Exchange& ex, int status) {
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

void goRedirect(Exchange& ex, std::string_view target, int status) {
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
        "<a href=\"" + htmlEscape(url) + "\">" + std::string(http::goStatusText(status)) + "</a>.\n\n";
    r.body = ex.arena.make<MemoryBody>(ex.arena.copy(body));
  }
}

}  // namespace causeway::exchange
