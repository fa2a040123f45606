#include "server/forwarded_headers.h"

#include <unistd.h>

#include <array>
#include <string>

#include "core/strings.h"
#include "http/hop_by_hop.h"
#include "server/entry_point.h"

namespace causeway::server {
namespace {

// Equality that treats '_' like '-' and ignores case (X_Forwarded_For == X-Forwarded-For).
bool sameFieldName(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] == '_' ? '-' : asciiLower(a[i]);
    char y = b[i] == '_' ? '-' : asciiLower(b[i]);
    if (x != y) return false;
  }
  return true;
}

constexpr std::array<std::string_view, 13> kManaged = {
    "X-Forwarded-For",  "X-Forwarded-Proto",           "X-Forwarded-Host",
    "X-Forwarded-Port", "X-Forwarded-Server",          "X-Forwarded-Uri",
    "X-Forwarded-Method", "X-Forwarded-Prefix",        "X-Forwarded-Tls-Client-Cert",
    "X-Forwarded-Tls-Client-Cert-Info", "X-Forwarded-Scheme", "X-Scheme",
    "X-Real-Ip"};

bool isManaged(std::string_view name) {
  // Cheap pre-check: every managed name starts with "x-" / "x_".
  if (name.size() < 8 || asciiLower(name[0]) != 'x' || (name[1] != '-' && name[1] != '_'))
    return false;
  for (auto managed : kManaged)
    if (sameFieldName(name, managed)) return true;
  return false;
}

}  // namespace

std::string_view forwardedServerName() {
  static const std::string name = [] {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) != 0) return std::string();
    return std::string(buf);
  }();
  return name;
}

void applyForwardedHeaders(Exchange& ex, const EntryPoint& entryPoint) {
  http::Headers& headers = ex.request.headers;
  const ConnectionInfo& conn = ex.connection;

  // 1. Hop-by-hop fields and those nominated by Connection go first, so a client cannot
  //    make us drop what we add below. Upgrade stays for an accepted upgrade request and
  //    "TE: trailers" for gRPC; the proxy re-adds both when forwarding.
  std::array<std::string_view, 16> kept;
  size_t keptCount = 0;
  for (const auto& name : entryPoint.keepConnectionHeaders)
    if (keptCount < kept.size()) kept[keptCount++] = name;
  http::HopByHopOptions options;
  options.keepUpgrade = ex.request.upgrade;
  options.keepTeTrailers = true;
  options.keepNominated = std::span<const std::string_view>(kept.data(), keptCount);
  http::removeHopByHop(headers, options);
  if (ex.request.upgrade && !headers.has("Upgrade")) ex.request.upgrade = false;

  bool trusted = conn.peerTrusted;
  size_t xffCount = 0;
  headers.removeIf([&](const http::HeaderField& f) {
    if (!trusted && isManaged(f.name)) return true;
    if (sameFieldName(f.name, "X-Forwarded-For")) ++xffCount;
    return false;
  });

  // 2. Fold several X-Forwarded-For fields into one, as Go joins header values.
  if (xffCount > 1) {
    std::string joined;
    for (const auto& f : headers)
      if (sameFieldName(f.name, "X-Forwarded-For")) {
        if (!joined.empty()) joined += ", ";
        joined += f.value;
      }
    headers.set("X-Forwarded-For", ex.arena.copy(joined));
  }

  // 3. Fill in what is missing.
  bool secure = conn.tls;
  std::string_view proto = headers.get("X-Forwarded-Proto");
  if (proto.empty()) {
    if (ex.request.websocket) proto = secure ? "wss" : "ws";
    else proto = secure ? "https" : "http";
    headers.set("X-Forwarded-Proto", proto);
  }
  if (entryPoint.addXForwardedSchemeHeaders) {
    if (!headers.has("X-Forwarded-Scheme")) headers.set("X-Forwarded-Scheme", proto);
    if (!headers.has("X-Scheme")) headers.set("X-Scheme", proto);
  }
  if (headers.get("X-Forwarded-Port").empty()) {
    std::string_view authority = ex.request.authority;
    std::string_view port;
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos)
      port = authority.substr(colon + 1);
    if (port.empty()) port = (secure || proto == "https" || proto == "wss") ? "443" : "80";
    headers.set("X-Forwarded-Port", port);
  }
  if (headers.get("X-Forwarded-Host").empty() && !ex.request.authority.empty())
    headers.set("X-Forwarded-Host", ex.request.authority);
  if (!forwardedServerName().empty()) headers.set("X-Forwarded-Server", forwardedServerName());
  if (headers.get("X-Real-Ip").empty()) headers.set("X-Real-Ip", conn.peerIpText);
}

}  // namespace causeway::server
