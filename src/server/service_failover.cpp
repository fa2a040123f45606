#include "server/service_failover.h"

#include "server/local_reply.h"

namespace causeway::server {

FailoverService::FailoverService(ServiceChild main, ServiceChild fallback, StatusRanges errorStatus,
                                 int64_t maxRequestBodyBytes)
    : main_(std::move(main)), fallback_(std::move(fallback)), errorStatus_(std::move(errorStatus)),
      maxRequestBodyBytes_(maxRequestBodyBytes) {}

awaitable<void> FailoverService::handle(Exchange& ex) const {
  BodySource* original = ex.request.body;
  if (mainUp()) {
    if (errorStatus_.empty()) {
      co_await main_.handler->handle(ex);
      co_return;
    }
    std::string_view bytes;
    if (original) {
      auto* held = ex.arena.make<std::string>();
      BufferResult read = co_await bufferBody(*original, *held, maxRequestBodyBytes_);
      if (read == BufferResult::Failed) {
        errorReply(ex, 500, reasonPhrase(500));
        ex.response.closeConnection = true;
        co_return;
      }
      if (read == BufferResult::TooLarge) {
        errorReply(ex, 413, "Request body too large");
        co_return;
      }
      bytes = *held;
      ex.request.body = ex.arena.make<MemoryBody>(bytes);
    }
    Request sent = ex.request;  // the main path may rewrite it; the fallback gets it as it came
    co_await main_.handler->handle(ex);
    if (!errorStatus_.contains(ex.response.status)) {
      ex.request.body = original;
      co_return;
    }
    // Discard the main answer (its upstream connection is closed with the exchange).
    ex.response = Response();
    ex.request = std::move(sent);
    if (original) ex.request.body = ex.arena.make<MemoryBody>(bytes);
  }
  if (fallbackUp())
    co_await fallback_.handler->handle(ex);
  else
    errorReply(ex, 503, reasonPhrase(503));
  ex.request.body = original;
}

}  // namespace causeway::server
