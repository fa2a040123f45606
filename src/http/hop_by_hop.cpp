#include "http/hop_by_hop.h"

#include <array>

namespace causeway::http {

namespace {

constexpr std::array<std::string_view, 10> kHopByHop = {
    "Connection",
    "Proxy-Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "TE",
    "Trailer",
    "Transfer-Encoding",
    "Upgrade",
    "HTTP2-Settings",
};

constexpr std::array<std::string_view, 8> kProtected = {
    "Host",   "Content-Length", "Transfer-Encoding", "Authorization",
    "Cookie", "Forwarded",      "X-Real-Ip",         "X-Scheme",
};

bool nominated(const Headers& headers, std::string_view name) {
  bool found = false;
  forEachConnectionToken(headers,
                         [&](std::string_view token) { found = found || iequals(token, name); });
  return found;
}

}  // namespace

bool isHopByHopField(std::string_view name) {
  for (std::string_view hop : kHopByHop)
    if (iequals(name, hop)) return true;
  return false;
}

bool isProtectedFromConnection(std::string_view name) {
  for (std::string_view p : kProtected)
    if (iequals(name, p)) return true;
  return istartsWith(name, "X-Forwarded-");
}

size_t removeHopByHop(Headers& headers, const HopByHopOptions& options) {
  // Decide for every field before removing anything: Connection itself goes away too.
  bool teTrailers = false;
  if (options.keepTeTrailers) {
    for (const HeaderField& field : headers)
      if (iequals(field.name, "TE") && listContainsToken(field.value, "trailers"))
        teTrailers = true;
  }
  auto& fields = headers.fields();
  // Pass 1: mark fields nominated by Connection with an empty name (a parsed name is never
  // empty). Connection fields are hop-by-hop, so they are still intact while this runs.
  for (HeaderField& field : fields) {
    if (isHopByHopField(field.name) || isProtectedFromConnection(field.name)) continue;
    if (!nominated(headers, field.name)) continue;
    bool keep = false;
    for (std::string_view name : options.keepNominated)
      keep = keep || iequals(name, field.name);
    if (!keep) field.name = {};
  }
  // Pass 2: compact.
  size_t removed = 0;
  size_t w = 0;
  bool teWritten = false;
  for (size_t r = 0; r < fields.size(); ++r) {
    const HeaderField field = fields[r];
    bool drop = field.name.empty();
    if (!drop && isHopByHopField(field.name)) {
      if (teTrailers && !teWritten && iequals(field.name, "TE")) {
        fields[w++] = HeaderField{field.name, "trailers"};
        teWritten = true;
        continue;
      }
      drop = !(options.keepUpgrade && iequals(field.name, "Upgrade"));
    }
    if (drop) {
      ++removed;
      continue;
    }
    fields[w++] = field;
  }
  fields.resize(w);
  return removed;
}

}  // namespace causeway::http
