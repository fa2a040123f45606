// Streamed responses, event by event: a StreamTranslator takes the provider's events as they
// arrive and writes what the client gets, in the client's format, without waiting for the end.
// It also gathers what the stream says about itself (usage, model, finish reason, how much
// text went out) for token limits and observability.
//
//   provider → client      what happens
//   OpenAI   → OpenAI      events pass; the usage-only chunk the gateway asked for is dropped
//                          when the client did not ask for it (stream_options.include_usage)
//   Anthropic→ Anthropic   events pass
//   Anthropic→ OpenAI      message_start → role chunk; text_delta → delta.content; tool_use
//                          blocks and input_json_delta → delta.tool_calls[i]; message_delta →
//                          finish_reason chunk; message_stop → usage chunk (if asked) + [DONE]
//   OpenAI   → Anthropic   first chunk → message_start; content → text block deltas;
//                          tool_calls → tool_use blocks with input_json_delta; [DONE] →
//                          content_block_stop, message_delta (stop_reason, usage), message_stop
// A stream that ends early (the provider closed, sent a malformed event, or an error event)
// ends for the client with an error event in its own format.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "gateway/ai/translate.h"
#include "gateway/ai/wire.h"

namespace causeway::gateway::ai {

class StreamTranslator {
 public:
  virtual ~StreamTranslator() = default;
  // One event from the provider. Appends the client's events to `out`. Returns false when
  // the event is malformed (the stream is then ended with finish(false, …)).
  virtual bool onEvent(std::string_view name, std::string_view data, std::string& out) = 0;
  // The provider's stream is over. `clean`: it ended the way its format ends a stream;
  // otherwise the client gets an error event saying why (`reason`).
  void finish(bool clean, std::string_view reason, std::string& out);
  // The client's error event for a stream that broke off (finish(false, …) writes it).
  virtual void writeFailure(std::string_view reason, std::string& out);

  Usage usage;                // as reported, or estimated by finish() when never reported
  std::string responseModel;
  std::string finishReason;   // in the client's vocabulary
  size_t outputChars = 0;     // text and tool arguments sent so far
  bool sawContent = false;    // at least one piece of content went out
  bool ended = false;         // the provider's end marker was seen
  bool failed = false;        // an error event was passed or written
  bool estimated = false;     // usage.output was estimated from the text that went out

 protected:
  virtual void close(std::string& out) = 0;  // closing events after a clean end (if not sent)
  virtual Wire clientWire() const = 0;
};

// `clientWantsUsage`: the OpenAI client asked for stream_options.include_usage itself.
std::unique_ptr<StreamTranslator> makeStreamTranslator(Wire provider, Wire client, bool clientWantsUsage);

}  // namespace causeway::gateway::ai
