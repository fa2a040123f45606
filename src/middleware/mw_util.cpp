#include "middleware/mw_util.h"

#include "server/local_reply.h"

namespace causeway::middleware {

std::string_view goStatusText(int status) {
  switch (status) {
    case 208: return "Already Reported";
    case 226: return "IM Used";
    case 305: return "Use Proxy";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 451: return "Unavailable For Legal Reasons";
    case 499: return "";  // not in Go's table
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    default: return server::reasonPhrase(status);
  }
}

void bareReply(server::Exchange& ex, int status, std::string_view body) {
  server::Response& r = ex.response;
  r.status = status;
  r.reason = {};
  r.headers.clear();
  r.body = body.empty() ? nullptr : ex.arena.make<server::MemoryBody>(ex.arena.copy(body));
  r.tunnel = nullptr;
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
