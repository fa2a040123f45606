#include "service/failover.h"

#include "http/go_text.h"

#include "exchange/local_reply.h"

namespace causeway::service {

FailoverService::FailoverService(ServiceChild main, ServiceChild fallback, http::StatusRanges errorStatus,
                                 int64_t maxRequestBodyBytes)
    : main_(std::move(main)), fallback_(std::move(fallback)), errorStatus_(std::move(errorStatus)),
      maxRequestBodyBytes_(maxRequestBodyBytes) {}

awaitable<void> FailoverService::handle(exchange::Exchange& ex) const {
  exchange::BodySource* original = ex.request.body;
  if (mainUp()) {
    if (errorStatus_.empty()) {
      co_await main_.handler->handle(ex);
      co_return;
    }
    std::string_view bytes;
    if (original) {
      auto* held = ex.arena.make<std::string>();
      exchange::ReadResult read = co_await exchange::readBody(*original, *held, maxRequestBodyBytes_);
      if (read == exchange::ReadResult::Failed) {
        exchange::errorReply(ex, 500, http::reasonPhrase(500));
        ex.response.closeConnection = true;
        co_return;
      }
      if (read == exchange::ReadResult::TooLarge) {
        exchange::errorReply(ex, 413, "Request body too large");
        co_return;
      }
      bytes = *held;
      ex.request.body = ex.arena.make<exchange::MemoryBody>(bytes);
    }
    exchange::Request sent = ex.request;  // the main path may rewrite it; the fallback gets it as it came
    co_await main_.handler->handle(ex);
    if (!errorStatus_.contains(ex.response.status)) {
      ex.request.body = original;
      co_return;
    }
    // Discard the main answer (its upstream connection is closed with the exchange).
    ex.response = exchange::Response();
    ex.request = std::move(sent);
    if (original) ex.request.body = ex.arena.make<exchange::MemoryBody>(bytes);
  }
  if (fallbackUp())
    co_await fallback_.handler->handle(ex);
  else
    exchange::errorReply(ex, 503, http::reasonPhrase(503));
  ex.request.body = original;
}

}  // namespace causeway::service
