#include "downstream/forwarded_headers.h"

#include <unistd.h>

#include <array>
#include <string>

#include "core/strings.h"
#include "http/hop_by_hop.h"
#include "runtime/entry_point.h"

namespace causeway::downstream {
namespace {

using http::sameFieldName;

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

void applyForwardedHeaders(exchange::Request& request, Arena& arena, const exchange::ConnectionInfo& conn,
                           const runtime::EntryPoint& entryPoint) {
  http::Headers& headers = request.headers;

  // 1. Hop-by-hop fields and those nominated by Connection go first, so a client cannot
  //    make us drop what we add below. Upgrade stays for an accepted upgrade request and
  //    "TE: trailers" for gRPC; the proxy re-adds both when forwarding. Proxy-Authorization
  //    stays for forwardAuth; the forwarders drop it.
  std::array<std::string_view, 16> kept;
  size_t keptCount = 0;
  for (const auto& name : entryPoint.keepConnectionHeaders)
    if (keptCount < kept.size()) kept[keptCount++] = name;
  request.nominatedKeptCount = 0;
  if (keptCount > 0) {
    // Remember the kept ones the client nominated: they reach middlewares, not upstreams.
    http::forEachConnectionToken(headers, [&](std::string_view token) {
      for (size_t i = 0; i < keptCount; ++i)
        if (iequals(token, kept[i]) && request.nominatedKeptCount < request.nominatedKept.size())
          request.nominatedKept[request.nominatedKeptCount++] = kept[i];
    });
  }
  http::HopByHopOptions options;
  options.keepUpgrade = request.upgrade;
  options.keepTeTrailers = true;
  options.keepProxyAuthorization = true;  // for forwardAuth; never sent upstream
  options.keepNominated = std::span<const std::string_view>(kept.data(), keptCount);
  http::removeHopByHop(headers, options);
  if (request.upgrade && !headers.has("Upgrade")) request.upgrade = false;

  // 2. One pass: drop what an untrusted peer may not send, note what is present.
  enum Field { kProto, kPort, kHost, kServer, kRealIp, kScheme, kXScheme, kCount };
  std::array<int, kCount> present;
  present.fill(-1);
  size_t forwardedFor = 0;
  bool trusted = conn.peerTrusted;
  auto& fields = headers.fields();
  size_t w = 0;
  for (size_t r = 0; r < fields.size(); ++r) {
    const http::HeaderField f = fields[r];
    if (isManaged(f.name)) {
      if (!trusted) continue;
      if (sameFieldName(f.name, "X-Forwarded-For")) ++forwardedFor;
      else if (sameFieldName(f.name, "X-Forwarded-Proto")) present[kProto] = int(w);
      else if (sameFieldName(f.name, "X-Forwarded-Port")) present[kPort] = int(w);
      else if (sameFieldName(f.name, "X-Forwarded-Host")) present[kHost] = int(w);
      else if (sameFieldName(f.name, "X-Forwarded-Server")) present[kServer] = int(w);
      else if (sameFieldName(f.name, "X-Real-Ip")) present[kRealIp] = int(w);
      else if (sameFieldName(f.name, "X-Forwarded-Scheme")) present[kScheme] = int(w);
      else if (sameFieldName(f.name, "X-Scheme")) present[kXScheme] = int(w);
    }
    fields[w++] = f;
  }
  fields.resize(w);
  auto valueOf = [&](Field field) -> std::string_view {
    return present[field] < 0 ? std::string_view() : fields[size_t(present[field])].value;
  };

  // 3. Fold several X-Forwarded-For fields into one, as Go joins header values.
  if (forwardedFor > 1) {
    std::string joined;
    for (const auto& f : headers)
      if (sameFieldName(f.name, "X-Forwarded-For")) {
        if (!joined.empty()) joined += ", ";
        joined += f.value;
      }
    headers.set("X-Forwarded-For", arena.copy(joined));
  }

  // 4. Fill in what is missing (an empty value counts as missing, as in Traefik).
  bool secure = conn.tls;
  std::string_view proto = valueOf(kProto);
  if (proto.empty()) {
    if (request.websocket) proto = secure ? "wss" : "ws";
    else proto = secure ? "https" : "http";
    if (present[kProto] >= 0) fields[size_t(present[kProto])].value = proto;
    else headers.add("X-Forwarded-Proto", proto);
  }
  if (entryPoint.addXForwardedSchemeHeaders) {
    if (present[kScheme] < 0) headers.add("X-Forwarded-Scheme", proto);
    if (present[kXScheme] < 0) headers.add("X-Scheme", proto);
  }
  if (valueOf(kPort).empty()) {
    std::string_view authority = request.authority;
    std::string_view port;
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos)
      port = authority.substr(colon + 1);
    if (port.empty()) port = (secure || proto == "https" || proto == "wss") ? "443" : "80";
    if (present[kPort] >= 0) fields[size_t(present[kPort])].value = port;
    else headers.add("X-Forwarded-Port", port);
  }
  if (valueOf(kHost).empty() && !request.authority.empty()) {
    if (present[kHost] >= 0) fields[size_t(present[kHost])].value = request.authority;
    else headers.add("X-Forwarded-Host", request.authority);
  }
  if (std::string_view server = forwardedServerName(); !server.empty()) {
    if (present[kServer] >= 0) fields[size_t(present[kServer])].value = server;
    else headers.add("X-Forwarded-Server", server);
  }
  if (valueOf(kRealIp).empty()) {
    if (present[kRealIp] >= 0) fields[size_t(present[kRealIp])].value = conn.peerIpText;
    else headers.add("X-Real-Ip", conn.peerIpText);
  }
}

}  // namespace causeway::downstream
