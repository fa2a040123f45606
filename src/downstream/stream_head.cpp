#include "downstream/stream_head.h"

#include <charconv>

#include "core/memory_budget.h"
#include "core/strings.h"
#include "downstream/request_prep.h"
#include "downstream/stream_tunnel.h"
#include "exchange/local_reply.h"
#include "http/uri.h"

namespace causeway::downstream {

StreamHead::~StreamHead() { release(); }

void StreamHead::release() {
  headers = {};
  arena.reset();
  if (budgetTaken) requestHeadBudget().give(std::exchange(budgetTaken, 0));
}

FieldVerdict addStreamField(StreamHead& s, const runtime::EntryPoint& entryPoint, size_t& connectionBytes,
                            std::string_view n, std::string_view v) {
  const size_t cost = n.size() + v.size() + 32;  // a field's size in HPACK and QPACK (RFC 7541 §4.1)
  if (s.tooLarge) {
    // Past the limits the fields are dropped; a list far past them is a header bomb: the
    // library checks every field it hands over, so the caller stops the work with a reset.
    s.overflowBytes += cost;
    return ++s.overflowFields > 8 * entryPoint.limits.maxHeaderCount || s.overflowBytes > entryPoint.limits.maxHeadBytes
               ? FieldVerdict::Bomb
               : FieldVerdict::Taken;
  }
  const bool pseudo = !n.empty() && n[0] == ':';
  const size_t after = s.headerBytes + cost;
  if (after > entryPoint.limits.maxHeadBytes || (!pseudo && s.headers.size() >= entryPoint.limits.maxHeaderCount)) {
    s.tooLarge = true;  // as HTTP/1.1: 431
    return FieldVerdict::Taken;
  }
  if (connectionBytes + cost > kConnectionHeaderBudget) {
    s.refused = true;
    return FieldVerdict::Taken;
  }
  if (after > kFreeHeaderBytes + s.budgetTaken) {
    size_t need = after - kFreeHeaderBytes - s.budgetTaken;
    need = (need + kHeaderGranule - 1) / kHeaderGranule * kHeaderGranule;
    if (!requestHeadBudget().tryTake(need)) {
      s.refused = true;
      return FieldVerdict::Taken;
    }
    s.budgetTaken += need;
  }
  s.headerBytes = after;
  connectionBytes += cost;
  if (pseudo) {
    std::string_view copy = s.arena.copy(v);
    if (n == ":method") s.method = copy;
    else if (n == ":scheme") s.scheme = copy;
    else if (n == ":authority") {
      s.authority = copy;
      // RFC 9113 §8.3.1, RFC 9114 §4.3.1: :authority must not carry userinfo.
      if (v.find('@') != std::string_view::npos) s.malformed = true;
    } else if (n == ":path") s.path = copy;
    else if (n == ":protocol") s.protocol = copy;
    return FieldVerdict::Taken;
  }
  if (entryPoint.underscoreHeaders != runtime::EntryPoint::UnderscoreHeaders::Keep && n.find('_') != std::string_view::npos) {
    // underscoreHeadersStrategy applies to every protocol alike (docs/security.md, T09).
    if (entryPoint.underscoreHeaders == runtime::EntryPoint::UnderscoreHeaders::Reject) s.underscore = true;
    return FieldVerdict::Taken;
  }
  if (n == "content-length") {
    auto length = parseDecimal(v);
    if (!length) return FieldVerdict::BadLength;
    s.contentLength = *length;
  }
  if (n == "cookie" && !s.headers.empty()) {
    // RFC 9113 §8.2.3, RFC 9114 §4.2.1: several cookie fields become one for HTTP/1.1 ("; ").
    for (auto& f : s.headers.fields()) {
      if (f.name == "cookie") {
        f.value = s.arena.concat({f.value, "; ", v});
        return FieldVerdict::Taken;
      }
    }
  }
  s.headers.add(s.arena.copy(n), s.arena.copy(v));
  return FieldVerdict::Taken;
}

bool isConnectionSpecific(std::string_view name) {
  // By length first: most fields are kept without a comparison.
  switch (name.size()) {
    case 7: return iequals(name, "upgrade");
    case 10: return iequals(name, "connection") || iequals(name, "keep-alive");
    case 16: return iequals(name, "proxy-connection");
    case 17: return iequals(name, "transfer-encoding");
    default: return false;
  }
}

namespace {

// The lower-case form of a field name that origins usually write in this exact spelling, or ""
// (a static string: most response fields need no copy to go out in lower case).
std::string_view commonLowerCase(std::string_view name) {
  auto is = [&](std::string_view canonical) { return name == canonical; };
  switch (name.size()) {
    case 4: return is("Date") ? "date" : is("ETag") ? "etag" : is("Vary") ? "vary" : "";
    case 6: return is("Server") ? "server" : "";
    case 7: return is("Expires") ? "expires" : "";
    case 8: return is("Location") ? "location" : "";
    case 10: return is("Set-Cookie") ? "set-cookie" : "";
    case 12: return is("Content-Type") ? "content-type" : "";
    case 13:
      return is("Last-Modified") ? "last-modified" : is("Accept-Ranges") ? "accept-ranges"
           : is("Cache-Control") ? "cache-control" : "";
    case 14: return is("Content-Length") ? "content-length" : "";
    case 16: return is("Content-Encoding") ? "content-encoding" : "";
    default: return "";
  }
}

// `name` in lower case (HTTP/2 and HTTP/3 require it): as it is when it already is, else a
// copy in the exchange's arena, which outlives the response head.
std::string_view lowerCase(Arena& arena, std::string_view name) {
  if (std::string_view common = commonLowerCase(name); !common.empty()) return common;
  size_t upper = 0;
  while (upper < name.size() && asciiLower(name[upper]) == name[upper]) ++upper;
  if (upper == name.size()) return name;
  char* out = static_cast<char*>(arena.allocate(name.size(), 1));
  for (size_t i = 0; i < name.size(); ++i) out[i] = asciiLower(name[i]);
  return {out, name.size()};
}

}  // namespace

StreamResponseHead::StreamResponseHead(exchange::Exchange& ex, bool headRequest, std::string_view date) {
  exchange::Response& response = ex.response;
  if (response.status < 200 || response.status > 999 || response.tunnel) exchange::statusTextReply(ex, 502);
  std::to_chars(status_, status_ + 3, response.status);
  const bool noBody = headRequest || response.status == 204 || response.status == 304;
  body = noBody ? nullptr : response.body;
  auto* out = static_cast<Field*>(ex.arena.allocate(sizeof(Field) * (response.headers.size() + 3), alignof(Field)));
  size_t n = 0;
  auto add = [&](std::string_view name, std::string_view value) { new (&out[n++]) Field{name, value}; };
  add(":status", std::string_view(status_, 3));
  bool hasDate = false;
  for (const auto& f : response.headers) {
    // Content-Length goes when the body's length is written below (iequals compares lengths
    // first: most fields are kept without comparing a character).
    if (isConnectionSpecific(f.name) || iequals(f.name, "Trailer") || (body && iequals(f.name, "Content-Length")))
      continue;
    hasDate = hasDate || iequals(f.name, "Date");
    add(lowerCase(ex.arena, f.name), f.value);
  }
  if (body) {
    if (auto known = body->length()) {
      auto end = std::to_chars(length_, length_ + sizeof(length_), *known).ptr;
      add("content-length", std::string_view(length_, size_t(end - length_)));
    }
  }
  if (!hasDate) add("date", date);
  fields = {out, n};
}

int prepareStreamRequest(exchange::Request& r, StreamHead& s, const runtime::EntryPoint& entryPoint,
                         std::string_view scheme, std::string& scratch, bool& extendedConnect) {
  r.method = s.method;
  r.scheme = scheme;
  r.headers = s.headers;
  std::string_view authority = s.authority.empty() ? r.headers.get("host") : s.authority;
  r.headers.remove("host");
  int status = s.tooLarge ? 431 : s.underscore ? 400 : checkRequestFields(r.headers);
  std::optional<http::Authority> parsedAuthority;
  if (!status && !authority.empty()) {
    parsedAuthority = http::parseAuthority(authority);
    if (!parsedAuthority) status = 400;
  }
  r.authority = authority;
  // The libraries accept :protocol only with CONNECT, :scheme and :path (RFC 8441, RFC 9220).
  extendedConnect = s.method == "CONNECT" && !s.protocol.empty();
  if (!status && extendedConnect) status = prepareExtendedConnect(r, s.protocol, s.arena);
  else if (!status && s.method == "CONNECT") status = 501;
  if (status) return status;
  std::optional<http::Target> target = http::parseTarget(s.path, r.method);  // an extended CONNECT's is a GET's now
  if (!target || target->form == http::TargetForm::Absolute) return 400;
  return prepareRequestPath(r, s.arena, entryPoint, scratch, target->path, target->query, target->hasQuery,
                            target->form == http::TargetForm::Asterisk,
                            parsedAuthority ? parsedAuthority->host : std::string_view());
}

}  // namespace causeway::downstream
