// Google Gemini's native API (generateContent, streamGenerateContent?alt=sse), reached from
// either client format through OpenAI Chat Completions as the pivot:
//   messages ⇄ contents (role assistant ⇄ model; system/developer ⇄ systemInstruction),
//   text and image parts ⇄ text and inlineData parts, tool_calls ⇄ functionCall parts (arguments
//   string ⇄ args object), tool messages ⇄ functionResponse parts (the function's name found
//   from the call it answers), tools ⇄ functionDeclarations, tool_choice ⇄ toolConfig,
//   temperature/top_p/max tokens/stop/n ⇄ generationConfig, finishReason STOP/MAX_TOKENS/SAFETY
//   ⇄ stop/length/content_filter, usageMetadata ⇄ usage.
// Gemini gives function calls no ids: answers get "call_<n>".
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "gateway/ai/stream_translate.h"
#include "gateway/ai/translate.h"

namespace causeway::gateway::ai {

bool openAIToGeminiRequest(const boost::json::object& in, boost::json::object& out, std::string& error);
boost::json::object geminiToOpenAIResponse(const boost::json::object& in, std::string_view model);
Usage geminiUsage(const boost::json::value* usageMetadata);
// The path of a call: /v1beta/models/<model>:generateContent, or
// :streamGenerateContent?alt=sse for a stream.
std::string geminiPath(std::string_view model, bool stream);
// Gemini's stream as OpenAI chunks.
std::unique_ptr<StreamTranslator> makeGeminiToOpenAIStream(std::string model, bool clientWantsUsage);
// Two translators one after the other (Gemini → OpenAI → Anthropic).
std::unique_ptr<StreamTranslator> chainStreams(std::unique_ptr<StreamTranslator> first,
                                               std::unique_ptr<StreamTranslator> second);

}  // namespace causeway::gateway::ai
