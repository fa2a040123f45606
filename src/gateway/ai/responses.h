// The OpenAI Responses API as a client format (middleware responses-api), carried to every
// provider through Chat Completions as the pivot:
//   input (a string, or items: messages with input_text / input_image / output_text parts,
//   function_call, function_call_output) and instructions ⇄ messages; tools (flat
//   {type: function, name, parameters}) ⇄ Chat Completions tools; max_output_tokens ⇄
//   max_completion_tokens; the answer's message and tool calls ⇄ output items (message with
//   output_text, function_call); usage ⇄ {input_tokens, output_tokens, total_tokens}.
// A stream is re-framed as the Responses events: response.created, response.in_progress,
// response.output_item.added, response.content_part.added, response.output_text.delta,
// response.function_call_arguments.delta, the matching .done events and response.completed
// (or response.failed). Stored conversations (previous_response_id, conversation) need state
// this gateway does not keep: such requests are refused with 400.
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "gateway/ai/stream_translate.h"

namespace causeway::gateway::ai {

bool responsesToChatRequest(const boost::json::object& in, boost::json::object& out, std::string& error);
boost::json::object chatToResponsesResponse(const boost::json::object& chat);
// Chat Completions chunks (with usage) → Responses events.
std::unique_ptr<StreamTranslator> makeChatToResponsesStream();

}  // namespace causeway::gateway::ai
