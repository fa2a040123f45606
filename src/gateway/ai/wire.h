// The two wire formats LLM clients and providers speak here, and what both sides need to
// write in them: error bodies and server-sent-event framing.
//  - OpenAI Chat Completions (POST /v1/chat/completions): errors are
//    {"error":{"message","type","param","code"}}; a stream is `data: <chunk>` events ending
//    with `data: [DONE]`.
//  - Anthropic Messages (POST /v1/messages): errors are
//    {"type":"error","error":{"type","message"}}; a stream is named events
//    (`event: message_start` …) with no end sentinel.
// docs/ai-gateway.md has both formats and how causeway translates between them.
#pragma once

#include <string>
#include <string_view>

namespace causeway::gateway::ai {

// Gemini and Bedrock Converse are provider formats only; OpenAI Responses is a client format
// only (carried as Chat Completions, responses.h). Its errors are OpenAI's.
enum class Wire { OpenAIChat, AnthropicMessages, Gemini, BedrockConverse, OpenAIResponses };

std::string_view wireName(Wire wire);  // "openai", "anthropic" or "gemini"

// The error `type` each format uses for an HTTP status (OpenAI: invalid_request_error,
// authentication_error, rate_limit_error, api_error…; Anthropic: the same names plus
// not_found_error, request_too_large, overloaded_error).
std::string_view errorType(Wire wire, int status);

// A complete error body in `wire`'s format; `type` empty: errorType(wire, status).
std::string errorBody(Wire wire, int status, std::string_view message, std::string_view type = {});

// One server-sent event: "data: <json>\n\n", or with a name "event: <name>\ndata: <json>\n\n".
void appendEvent(std::string& out, std::string_view name, std::string_view data);

// The Content-Type of a JSON answer and of an event stream.
inline constexpr std::string_view kJsonType = "application/json";
inline constexpr std::string_view kEventStreamType = "text/event-stream";
inline constexpr std::string_view kAwsEventStreamType = "application/vnd.amazon.eventstream";

}  // namespace causeway::gateway::ai
