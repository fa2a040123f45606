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

}  // namespace causeway::gateway::ai
