// The client's side of a streamed LLM answer: reads the provider's event stream as it
// arrives, translates it (stream_translate.h) and hands each piece on at once, never holding
// the whole answer. Keeps the exchange's AiRecord current after every piece, so that whoever
// looks at it (a token limit when the body ends or the client leaves, the access log) sees
// the tokens so far.
#pragma once

#include <memory>
#include <string>

#include "exchange/ai_record.h"
#include "exchange/body.h"
#include "gateway/ai/sse.h"
#include "gateway/ai/stream_translate.h"

namespace causeway::gateway::ai {

class TranslatedStream final : public exchange::BodySource {
 public:
  // `estimatedInput`: the request's tokens as estimated, used until the provider reports usage.
  // `framer`: how the provider frames its events (null: server-sent events).
  TranslatedStream(exchange::BodySource* upstream, std::unique_ptr<StreamTranslator> translator,
                   exchange::AiRecord& record, int64_t estimatedInput, std::unique_ptr<EventFramer> framer = nullptr);
  awaitable<exchange::BodyChunk> read() override;
  bool finished() const override { return done_; }

 private:
  void updateRecord();

  exchange::BodySource* upstream_;
  std::unique_ptr<StreamTranslator> translator_;
  exchange::AiRecord& record_;
  int64_t estimatedInput_;
  std::unique_ptr<EventFramer> parser_;
  std::string out_;
  std::string model_;  // owns record_.responseModel's bytes
  std::string finish_; // owns record_.finishReason's bytes
  bool done_ = false;
};

}  // namespace causeway::gateway::ai
