#include "http/hop_by_hop.h"

#include <array>

namespace causeway::http {

namespace {

constexpr std::array<std::string_view, 8> kProtected = {
    "Host",   "Content-Length", "Transfer-Encoding", "Authorization",
    "Cookie", "Forwarded",      "X-Real-Ip",         "X-Scheme",
};

}  // namespace

bool isHopByHopField(std::string_view name) {
  // Switch on the length first: most fields are rejected without a comparison.
  switch (name.size()) {
    case 2: return iequals(name, "TE");
    case 7: return iequals(name, "Trailer") || iequals(name, "Upgrade");
    case 10: return iequals(name, "Connection") || iequals(name, "Keep-Alive");
    case 14: return iequals(name, "HTTP2-Settings");
    case 16: return iequals(name, "Proxy-Connection");
    case 17: return iequals(name, "Transfer-Encoding");
    case 18: return iequals(name, "Proxy-Authenticate");
    case 19: return iequals(name, "Proxy-Authorization");
    default: return false;
  }
}

bool isProtectedFromConnection(std::string_view name) {
  for (std::string_view p : kProtected)
    if (iequals(name, p)) return true;
  return istartsWith(name, "X-Forwarded-");
}

size_t removeHopByHop(Headers& headers, const HopByHopOptions& options) {
  // Decide for every field before removing anything: Connection itself goes away too.
  // Connection tokens that are not themselves hop-by-hop ("keep-alive", "close" and
  // "upgrade" are the usual ones) nominate extra fields; collect those once.
  bool teTrailers = false;
  std::array<std::string_view, 16> nominatedNames;
  size_t nominatedCount = 0;
  bool tooMany = false;
  for (const HeaderField& field : headers) {
    if (options.keepTeTrailers && field.name.size() == 2 && iequals(field.name, "TE") &&
        listContainsToken(field.value, "trailers"))
      teTrailers = true;
  }
  forEachConnectionToken(headers, [&](std::string_view token) {
    if (isHopByHopField(token) || iequals(token, "close") || isProtectedFromConnection(token)) return;
    if (nominatedCount < nominatedNames.size()) nominatedNames[nominatedCount++] = token;
    else tooMany = true;
  });
  auto isNominated = [&](std::string_view name) {
    for (size_t i = 0; i < nominatedCount; ++i)
      if (iequals(nominatedNames[i], name)) return true;
    if (!tooMany) return false;
    bool found = false;
    forEachConnectionToken(headers, [&](std::string_view token) { found = found || iequals(token, name); });
    return found;
  };
  auto& fields = headers.fields();
  // Pass 1: mark nominated fields with an empty name (a parsed name is never empty).
  if (nominatedCount > 0) {
    for (HeaderField& field : fields) {
      if (isHopByHopField(field.name) || !isNominated(field.name)) continue;
      bool keep = false;
      for (std::string_view name : options.keepNominated)
        keep = keep || iequals(name, field.name);
      if (!keep) field.name = {};
    }
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
      drop = !(options.keepUpgrade && iequals(field.name, "Upgrade")) &&
             !(options.keepProxyAuthorization && iequals(field.name, "Proxy-Authorization"));
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
