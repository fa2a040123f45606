// AWS Bedrock's Converse API (POST /model/{modelId}/converse and /converse-stream), reached from
// either client format through OpenAI Chat Completions as the pivot:
//   messages ⇄ messages with content blocks (text, image bytes, toolUse, toolResult), system ⇄
//   system blocks, max tokens/temperature/top_p/stop ⇄ inferenceConfig, tools ⇄
//   toolConfig.tools[].toolSpec, tool_choice ⇄ toolConfig.toolChoice, stopReason ⇄
//   finish_reason, usage {inputTokens, outputTokens} ⇄ usage.
// converse-stream answers in AWS's binary event stream (application/vnd.amazon.eventstream):
// frames of [total length, headers length, prelude CRC32, headers, payload, message CRC32];
// AwsEventStreamParser checks both CRCs and hands on (":event-type", JSON payload).
#pragma once

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "gateway/ai/sse.h"
#include "gateway/ai/stream_translate.h"
#include "gateway/ai/translate.h"

namespace causeway::gateway::ai {

bool openAIToConverseRequest(const boost::json::object& in, boost::json::object& out, std::string& error);
boost::json::object converseToOpenAIResponse(const boost::json::object& in, std::string_view model);
Usage converseUsage(const boost::json::value* usage);
// /model/<modelId, percent-encoded>/converse (or converse-stream).
std::string conversePath(std::string_view model, bool stream);
std::unique_ptr<StreamTranslator> makeConverseToOpenAIStream(std::string model, bool clientWantsUsage);

// AWS event stream frames → events. An exception frame is handed on as the event
// "exception" with its payload ({"message": …}).
class AwsEventStreamParser final : public EventFramer {
 public:
  explicit AwsEventStreamParser(size_t maxFrameBytes = 16 << 20) : max_(maxFrameBytes) {}
  bool feed(std::string_view bytes, const OnEvent& onEvent) override;
  bool pending() const override { return !buffer_.empty(); }

 private:
  size_t max_;
  std::string buffer_;
};

}  // namespace causeway::gateway::ai
