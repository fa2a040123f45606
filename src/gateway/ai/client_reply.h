// What the AI gateway's middlewares that sit before the protocol middleware (token limits,
// guards, the semantic cache) need to answer an LLM client themselves: which format the client
// speaks, guessed from the request as it arrives (Anthropic's when it carries anthropic-version
// or goes to …/messages, OpenAI's otherwise), and a JSON answer.
#pragma once

#include <string>

#include "exchange/exchange.h"
#include "gateway/ai/wire.h"

namespace causeway::gateway::ai {

Wire clientWireOf(const exchange::Exchange& ex);

// ex.response becomes `status` with `body` as application/json (no other header).
void jsonReply(exchange::Exchange& ex, int status, std::string body);

// Records that middleware `type` refused the exchange (AiRecord::refusedBy), creating the
// exchange's AI record when no protocol middleware has yet.
void noteRefusal(exchange::Exchange& ex, std::string_view type);

}  // namespace causeway::gateway::ai
