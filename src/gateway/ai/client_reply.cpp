#include "gateway/ai/client_reply.h"

namespace causeway::gateway::ai {

Wire clientWireOf(const exchange::Exchange& ex) {
  return ex.request.headers.has("anthropic-version") || ex.request.path.ends_with("/messages") ? Wire::AnthropicMessages
                                                                                                : Wire::OpenAIChat;
}

void jsonReply(exchange::Exchange& ex, int status, std::string body) {
  exchange::Response& r = ex.response;
  r.status = status;
  r.reason = {};
  r.headers.clear();
  r.headers.add("Content-Type", kJsonType);
  r.body = ex.arena.make<exchange::OwnedBody>(std::move(body));
  r.tunnel = nullptr;
}

void noteRefusal(exchange::Exchange& ex, std::string_view type) {
  if (!ex.record.ai) {
    ex.record.ai = ex.arena.make<exchange::AiRecord>();
    ex.record.ai->clientFormat = wireName(clientWireOf(ex));
    ex.record.ai->finished = true;
  }
  ex.record.ai->refusedBy = type;
}

}  // namespace causeway::gateway::ai
