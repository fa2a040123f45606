#include "middleware/path/path_rewrite.h"

#include <string>

#include "exchange/local_reply.h"
#include "http/go_url.h"
#include "http/uri.h"

namespace causeway::middleware::path {

void setPath(exchange::Exchange& ex, std::string_view escaped) {
  exchange::Request& r = ex.request;
  r.path = escaped;
  r.rawPath = escaped;
  std::string routing;
  r.routingPath = http::routingPath(escaped, routing) ? ex.arena.copy(routing) : escaped;
}

bool stripDecodedPrefix(exchange::Exchange& ex, std::string_view prefix) {
  std::string_view path = ex.request.path;
  std::string_view rest = path.substr(http::gourl::encodedPrefixLen(path, prefix));
  std::string normalized = "/";
  if (!rest.empty()) {
    std::string stripped = rest.starts_with('/') ? std::string(rest) : "/" + std::string(rest);
    if (!http::gourl::renormalize(stripped, normalized)) {
      exchange::errorReply(ex, 400, "Bad Request");
      return false;
    }
  }
  setPath(ex, ex.arena.copy(normalized));
  return true;
}

}  // namespace causeway::middleware::path
