#include "server/middleware_span.h"

#include "observe/notes.h"

namespace causeway::server {
namespace {

observe::ExchangeNotes* sampledNotes(Exchange& ex) {
  observe::ExchangeNotes* notes = ex.record.notes;
  return notes && notes->traced && notes->sampled ? notes : nullptr;
}

}  // namespace

awaitable<void> MiddlewareSpan::handle(Exchange& ex) const {
  observe::ExchangeNotes* notes = sampledNotes(ex);
  if (!notes || notes->middlewareSpanCount >= observe::ExchangeNotes::kMaxMiddlewareSpans) {
    co_await inner_->handle(ex);
    co_return;
  }
  if (!notes->middlewareSpans)
    notes->middlewareSpans = static_cast<observe::MiddlewareSpanRecord*>(ex.arena.allocate(
        sizeof(observe::MiddlewareSpanRecord) * observe::ExchangeNotes::kMaxMiddlewareSpans,
        alignof(observe::MiddlewareSpanRecord)));
  const int16_t index = int16_t(notes->middlewareSpanCount++);
  const int16_t parent = notes->openMiddleware;
  notes->middlewareSpans[index] = {name_, spanName_, std::chrono::steady_clock::now(), {}, parent};
  notes->openMiddleware = index;
  co_await inner_->handle(ex);
  notes->middlewareSpans[index].end = std::chrono::steady_clock::now();
  notes->openMiddleware = parent;
}

awaitable<void> ServiceSpanMark::handle(Exchange& ex) const {
  if (observe::ExchangeNotes* notes = sampledNotes(ex)) {
    notes->serviceParent = notes->openMiddleware;
    notes->serviceStart = std::chrono::steady_clock::now();
  }
  co_await service_->handle(ex);
}

}  // namespace causeway::server
