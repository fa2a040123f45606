// What the AI gateway learned about one exchange (src/gateway/ai), for the middlewares that
// act on it after the response (token limits), and for the observers (access log, metrics,
// traces). Placed in the exchange's arena by the protocol middleware (chat-completion,
// messages-api) and pointed to by RequestRecord::ai; null on exchanges that are not LLM calls.
//
// Token counts are what the provider reported; when a stream ended before the provider's
// usage arrived (the provider closed mid-stream, the client went away), the counts are
// estimated from the text seen so far (about 4 characters per token) and `estimated` is set.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace causeway::exchange {

struct AiRecord {
  std::string_view operation = "chat";  // gen_ai.operation.name
  std::string_view provider;            // gen_ai.provider.name: "openai", "anthropic", ...
  std::string_view clientFormat;        // "openai" (Chat Completions) or "anthropic" (Messages)
  std::string_view requestModel;        // after aliases and overrides
  std::string_view responseModel;       // as the provider answered (empty until it did)
  bool stream = false;
  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  bool usageKnown = false;   // the provider reported usage (else the counts are estimates)
  bool estimated = false;
  bool finished = false;     // the response (or stream) has ended, one way or another
  double costUsd = 0;        // from the price table of a token limit, when one is configured
  std::string_view cacheResult;   // "hit", "miss" or empty (no semantic cache on the route)
  // The AI middleware that refused the exchange itself ("content-guard", "llm-guard",
  // "ai-rate-limit", "ai-quota"), or empty.
  std::string_view refusedBy;
  std::string_view finishReason;  // in the client's vocabulary
  std::chrono::steady_clock::time_point firstTokenAt{};  // the first content sent to the client
  std::chrono::steady_clock::time_point endAt{};

  int64_t totalTokens() const { return inputTokens + outputTokens; }
};

}  // namespace causeway::exchange
