#include "middleware/mw_util.h"

#include "server/local_reply.h"

namespace causeway::middleware {

void bareReply(server::Exchange& ex, int status, std::string_view body) {
  server::Response& r = ex.response;
  r.status = status;
  r.reason = {};
  r.headers.clear();
  r.body = body.empty() ? nullptr : ex.arena.make<server::MemoryBody>(ex.arena.copy(body));
  r.tunnel = nullptr;
}

void redirectReply(server::Exchange& ex, std::string_view location, bool permanent) {
  bool get = ex.request.method == "GET";
  int status = permanent ? (get ? 301 : 308) : (get ? 302 : 307);
  bareReply(ex, status, goStatusText(status));
  ex.response.headers.add("Location", ex.arena.copy(location));
}

awaitable<void> drainBody(server::BodySource* body, size_t limit) {
  size_t seen = 0;
  while (body && !body->finished() && seen <= limit) {
    server::BodyChunk chunk = co_await body->read();
    if (chunk.error || chunk.last) break;
    seen += chunk.data.size();
  }
}

awaitable<server::BodyChunk> HeldBody::read() {
  if (!heldSent_) {
    heldSent_ = true;
    if (restFinished_) {
      finished_ = true;
      co_return server::BodyChunk{held_, true, false};
    }
    if (!held_.empty()) co_return server::BodyChunk{held_, false, false};
  }
  if (restFinished_) {
    finished_ = true;
    co_return server::BodyChunk{{}, true, false};
  }
  server::BodyChunk chunk = co_await rest_->read();
  if (chunk.last) finished_ = true;
  co_return chunk;
}

}  // namespace causeway::middleware
