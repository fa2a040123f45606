#include "exchange/body.h"

namespace causeway::exchange {

awaitable<BodyChunk> PrefixedBody::read() {
  bool restDone = rest_ == nullptr || rest_->finished();
  if (!prefixSent_) {
    prefixSent_ = true;
    if (restDone) {
      finished_ = true;
      co_return BodyChunk{prefix_, true, false};
    }
    if (!prefix_.empty()) co_return BodyChunk{prefix_, false, false};
  }
  if (restDone) {
    finished_ = true;
    co_return BodyChunk{{}, true, false};
  }
  BodyChunk chunk = co_await rest_->read();
  if (chunk.last) finished_ = true;
  co_return chunk;
}

awaitable<ReadResult> readBody(BodySource& body, std::string& out, int64_t limit) {
  // A declared length is reserved at once (up to the limit): no regrowth, no copies.
  if (std::optional<uint64_t> length = body.length(); length && (limit < 0 || *length <= uint64_t(limit) + 1))
    out.reserve(out.size() + size_t(*length));
  while (!body.finished()) {
    BodyChunk chunk = co_await body.read();
    if (chunk.error) co_return ReadResult::Failed;
    out.append(chunk.data);
    if (limit >= 0 && out.size() > uint64_t(limit)) co_return ReadResult::TooLarge;
    if (chunk.last) break;
  }
  co_return ReadResult::Complete;
}

awaitable<void> drainBody(BodySource* body, size_t limit) {
  size_t seen = 0;
  while (body && !body->finished() && seen <= limit) {
    BodyChunk chunk = co_await body->read();
    if (chunk.error || chunk.last) break;
    seen += chunk.data.size();
  }
}

BodySource* restOf(Arena& arena, ReadResult read, BodySource* body) {
  switch (read) {
  case ReadResult::Complete: return nullptr;
  case ReadResult::TooLarge: return body;
  case ReadResult::Failed: break;
  }
  return arena.make<BrokenBody>();
}

}  // namespace causeway::exchange
