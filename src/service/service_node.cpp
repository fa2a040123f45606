#include "service/service_node.h"

namespace causeway::service {

awaitable<BufferResult> bufferBody(exchange::BodySource& body, std::string& out, int64_t limit) {
  while (!body.finished()) {
    exchange::BodyChunk chunk = co_await body.read();
    if (chunk.error) co_return BufferResult::Failed;
    out.append(chunk.data);
    if (limit >= 0 && out.size() > uint64_t(limit)) co_return BufferResult::TooLarge;
    if (chunk.last) break;
  }
  co_return BufferResult::Complete;
}

awaitable<exchange::BodyChunk> PrefixedBody::read() {
  if (!prefixSent_) {
    prefixSent_ = true;
    if (!prefix_.empty() || rest_.finished()) co_return exchange::BodyChunk{prefix_, rest_.finished(), false};
  }
  co_return co_await rest_.read();
}

exchange::Request copyRequest(const exchange::Request& request, Arena& arena) {
  exchange::Request copy;
  copy.method = arena.copy(request.method);
  copy.path = arena.copy(request.path);
  copy.routingPath = arena.copy(request.routingPath);
  copy.rawPath = arena.copy(request.rawPath);
  copy.query = arena.copy(request.query);
  copy.hasQuery = request.hasQuery;
  copy.authority = arena.copy(request.authority);
  copy.host = arena.copy(request.host);
  copy.scheme = arena.copy(request.scheme);
  copy.versionMajor = request.versionMajor;
  copy.versionMinor = request.versionMinor;
  for (const auto& field : request.headers)
    copy.headers.add(arena.copy(field.name), arena.copy(field.value));
  copy.upgrade = request.upgrade;
  copy.websocket = request.websocket;
  copy.nominatedKeptCount = request.nominatedKeptCount;
  for (size_t i = 0; i < request.nominatedKeptCount; ++i)
    copy.nominatedKept[i] = arena.copy(request.nominatedKept[i]);
  return copy;
}

void addSetCookie(exchange::Response& response, std::string_view value) {
  auto& fields = response.headers.fields();
  fields.insert(fields.begin(), http::HeaderField{"Set-Cookie", value});
}

}  // namespace causeway::service
