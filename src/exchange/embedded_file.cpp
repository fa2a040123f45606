#include "exchange/embedded_file.h"

#include "exchange/body.h"
#include "exchange/exchange.h"

namespace causeway::exchange {

const EmbeddedFile* findEmbeddedFile(std::span<const EmbeddedFile> files, std::string_view path) {
  for (const EmbeddedFile& f : files)
    if (f.path == path) return &f;
  return nullptr;
}

void serveEmbeddedFile(Exchange& ex, const EmbeddedFile& file) {
  Response& r = ex.response;
  r.reason = {};
  r.tunnel = nullptr;
  r.headers.set("ETag", file.etag);
  r.headers.set("Cache-Control", file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.headers.set("X-Content-Type-Options", "nosniff");
  std::string_view match = ex.request.headers.get("If-None-Match");
  if (!match.empty() && (match == "*" || match.find(file.etag) != std::string_view::npos)) {
    r.status = 304;
    r.body = nullptr;
    return;
  }
  r.status = 200;
  r.headers.set("Content-Type", file.contentType);
  r.body = ex.arena.make<MemoryBody>(std::string_view(reinterpret_cast<const char*>(file.data), file.size));
}

}  // namespace causeway::exchange
