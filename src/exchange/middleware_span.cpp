#include "exchange/middleware_span.h"

#include "exchange/trace_notes.h"

namespace causeway::exchange {
namespace {

ExchangeNotes* sampledNotes(Exchange& ex) {
  ExchangeNotes* notes = ex.record.notes;
  return notes && notes->traced && notes->sampled ? notes : nullptr;
}

}  // namespace

int openMiddlewareSpan(Exchange& ex, std::string_view name, std::string_view type, uint16_t resendCount) {
  ExchangeNotes* notes = sampledNotes(ex);
  if (!notes || !notes->detailed || notes->middlewareSpanCount >= ExchangeNotes::kMaxMiddlewareSpans) return -1;
  if (!notes->middlewareSpans)
    notes->middlewareSpans = static_cast<MiddlewareSpanRecord*>(ex.arena.allocate(
        sizeof(MiddlewareSpanRecord) * ExchangeNotes::kMaxMiddlewareSpans, alignof(MiddlewareSpanRecord)));
  const int16_t index = int16_t(notes->middlewareSpanCount++);
  notes->middlewareSpans[index] = {name, type, std::chrono::steady_clock::now(), {}, notes->openMiddleware,
                                   resendCount};
  notes->openMiddleware = index;
  return index;
}

void closeMiddlewareSpan(Exchange& ex, int index) {
  ExchangeNotes* notes = ex.record.notes;
  if (index < 0 || !notes || index >= int(notes->middlewareSpanCount)) return;
  MiddlewareSpanRecord& record = notes->middlewareSpans[index];
  record.end = std::chrono::steady_clock::now();
  notes->openMiddleware = record.parent;
}

awaitable<void> DetailedTraceMark::handle(Exchange& ex) const {
  if (ExchangeNotes* notes = sampledNotes(ex)) notes->detailed = true;
  co_await chain_->handle(ex);
}

awaitable<void> MiddlewareSpan::handle(Exchange& ex) const {
  const int index = openMiddlewareSpan(ex, name_, spanName_);
  co_await inner_->handle(ex);
  closeMiddlewareSpan(ex, index);
}

awaitable<void> ServiceSpanMark::handle(Exchange& ex) const {
  if (ExchangeNotes* notes = sampledNotes(ex); notes && notes->detailed) {
    notes->serviceParent = notes->openMiddleware;
    notes->serviceStart = std::chrono::steady_clock::now();
  }
  co_await service_->handle(ex);
}

}  // namespace causeway::exchange
