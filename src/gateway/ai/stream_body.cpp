#include "gateway/ai/stream_body.h"

#include <algorithm>

namespace causeway::gateway::ai {

TranslatedStream::TranslatedStream(exchange::BodySource* upstream, std::unique_ptr<StreamTranslator> translator,
                                   exchange::AiRecord& record, int64_t estimatedInput,
                                   std::unique_ptr<EventFramer> framer)
    : upstream_(upstream),
      translator_(std::move(translator)),
      record_(record),
      estimatedInput_(estimatedInput),
      parser_(framer ? std::move(framer) : std::make_unique<SseParser>()) {
  record_.inputTokens = estimatedInput_;
  record_.estimated = true;
}

awaitable<exchange::BodyChunk> TranslatedStream::read() {
  out_.clear();
  StreamTranslator& t = *translator_;
  auto onEvent = [&](std::string_view name, std::string_view data) { return t.onEvent(name, data, out_); };
  while (!done_) {
    if (!upstream_ || upstream_->finished()) {
      t.finish(t.ended || !t.finishReason.empty(), "the provider closed the stream before it ended", out_);
      done_ = true;
      break;
    }
    exchange::BodyChunk chunk = co_await upstream_->read();
    if (chunk.error) {
      t.finish(false, "the provider closed the stream before it ended", out_);
      done_ = true;
      break;
    }
    if (!parser_->feed(chunk.data, onEvent)) {
      // The rest of the provider's stream is not read: its connection is not reused.
      t.finish(false, "the provider sent a malformed event", out_);
      done_ = true;
      break;
    }
    if (chunk.last) {
      t.finish(t.ended || (!parser_->pending() && !t.finishReason.empty()),
               "the provider closed the stream before it ended", out_);
      done_ = true;
      break;
    }
    if (!out_.empty()) break;
  }
  updateRecord();
  co_return exchange::BodyChunk{out_, done_, false};
}

void TranslatedStream::updateRecord() {
  const StreamTranslator& t = *translator_;
  if (t.sawContent && record_.firstTokenAt == std::chrono::steady_clock::time_point{})
    record_.firstTokenAt = std::chrono::steady_clock::now();
  if (t.usage.known && t.usage.input > 0) {
    record_.inputTokens = t.usage.input;
  }
  // Until the end, what went out so far (the provider's running count may lag behind it);
  // at the end, finish() has settled the count.
  int64_t soFar = int64_t((t.outputChars + 3) / 4);
  record_.outputTokens = done_ ? t.usage.output : std::max(t.usage.output, soFar);
  record_.usageKnown = t.usage.known && !t.estimated && done_ && !t.failed;
  record_.estimated = !record_.usageKnown;
  if (model_.empty() && !t.responseModel.empty()) {
    model_ = t.responseModel;
    record_.responseModel = model_;
  }
  if (done_) {
    finish_ = t.finishReason;
    record_.finishReason = finish_;
    record_.finished = true;
    record_.endAt = std::chrono::steady_clock::now();
  }
}

}  // namespace causeway::gateway::ai
