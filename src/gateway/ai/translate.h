// Translation of whole requests and responses between OpenAI Chat Completions and Anthropic
// Messages (docs/ai-gateway.md, "Translation"). Streams are translated event by event in
// stream_translate.h. Every function works on a parsed JSON object and never throws for
// bad input: a request that cannot be translated gets an error message instead.
#pragma once

#include <boost/json.hpp>
#include <string>

#include "gateway/ai/wire.h"

namespace causeway::gateway::ai {

struct Usage {
  int64_t input = 0;
  int64_t output = 0;
  int64_t cachedInput = 0;  // cache reads (OpenAI prompt_tokens_details.cached_tokens)
  bool known = false;
};

struct RequestTranslation {
  int64_t defaultMaxTokens = 4096;  // Anthropic requires max_tokens; OpenAI clients may omit it
  bool maxCompletionTokens = true;  // OpenAI target: max_completion_tokens (else max_tokens)
};

// OpenAI Chat Completions request → Anthropic Messages request. Returns false with `error`
// set when the request cannot be expressed (e.g. messages missing).
bool openAIToAnthropicRequest(const boost::json::object& in, boost::json::object& out,
                              const RequestTranslation& options, std::string& error);
// Anthropic Messages request → OpenAI Chat Completions request.
bool anthropicToOpenAIRequest(const boost::json::object& in, boost::json::object& out,
                              const RequestTranslation& options, std::string& error);

// Whole (non-streamed) responses.
boost::json::object anthropicToOpenAIResponse(const boost::json::object& in);
boost::json::object openAIToAnthropicResponse(const boost::json::object& in);

// Usage as each format reports it (`usage` of a response, a usage chunk, message_start or
// message_delta).
Usage usageOf(Wire wire, const boost::json::value* usage);

// Stop reasons: Anthropic's (end_turn, max_tokens, stop_sequence, tool_use, refusal…) to
// OpenAI's (stop, length, tool_calls, content_filter) and back.
std::string_view openAIFinishReason(std::string_view anthropicStopReason);
std::string_view anthropicStopReason(std::string_view openAIFinishReason);

// The text of an error body in either format ({"error":{"message"}} for both), or the body
// itself when it is not JSON.
std::string errorMessageOf(std::string_view body);

// Helpers over boost::json that never throw.
// A number as an integer (a fraction truncated, out of range clamped; 0 when not a number).
int64_t integerOf(const boost::json::value* v);
// A token count a provider reported, clamped to [0, 10^12]: sums and prices of a few of them
// can then never overflow, whatever a provider (or a fake one) sends.
int64_t tokenCountOf(const boost::json::value* v);
const boost::json::value* field(const boost::json::object& o, std::string_view key);
std::string_view stringField(const boost::json::object& o, std::string_view key);

}  // namespace causeway::gateway::ai
