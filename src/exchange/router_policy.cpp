#include "exchange/router_policy.h"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include "exchange/local_reply.h"
#include "exchange/spill_buffer.h"
#include "http/go_text.h"

namespace causeway::exchange {
namespace {

constexpr size_t kHeldInMemory = 1 << 20;  // beyond this a held body goes to a temporary file

void refuse(Exchange& ex, int status, std::string_view detail) {
  ex.record.errorDetail = detail;
  errorReply(ex, status, http::goStatusText(status));
  ex.response.closeConnection = true;  // the rest of the body is not read
}

}  // namespace

awaitable<bool> RouterPolicy::holdBody(Exchange& ex) const {
  BodySource* body = ex.request.body;
  auto* held = ex.arena.make<SpillBuffer>(kHeldInMemory);
  const bool timed = limits_.requestBodyTimeout.count() > 0;
  asio::steady_timer timer(ex.worker.io());
  if (timed) timer.expires_after(limits_.requestBodyTimeout);
  while (!body->finished()) {
    BodyChunk chunk;
    if (timed) {
      using namespace asio::experimental::awaitable_operators;
      auto first = co_await (body->read() || timer.async_wait(asio::use_awaitable));
      if (first.index() == 1) {
        refuse(ex, 408, "request body not received within the router's requestBody timeout");
        co_return false;
      }
      chunk = std::get<0>(first);
    } else {
      chunk = co_await body->read();
    }
    if (chunk.error) {
      refuse(ex, 400, "client request body failed");
      co_return false;
    }
    if (limits_.maxRequestBodyBytes >= 0 && held->size() + chunk.data.size() > uint64_t(limits_.maxRequestBodyBytes)) {
      refuse(ex, 413, "request body larger than the router's maxRequestBodyBytes");
      co_return false;
    }
    if (!held->append(chunk.data)) {
      refuse(ex, 500, "cannot hold the request body");
      co_return false;
    }
    if (chunk.last) break;
  }
  ex.request.body = ex.arena.make<SpillBody>(*held, body->trailers());
  co_return true;
}

awaitable<void> RouterPolicy::handle(Exchange& ex) const {
  ex.limits.responseHeaderTimeout = limits_.responseHeaderTimeout;
  ex.limits.idleTimeout = limits_.idleTimeout;
  if (BodySource* body = ex.request.body) {
    std::optional<uint64_t> length = body->length();
    if (limits_.maxRequestBodyBytes >= 0 && length && *length > uint64_t(limits_.maxRequestBodyBytes)) {
      refuse(ex, 413, "request body larger than the router's maxRequestBodyBytes");
      co_return;
    }
    bool hold = limits_.requestBodyTimeout.count() > 0 || (limits_.maxRequestBodyBytes >= 0 && !length);
    if (hold && !co_await holdBody(ex)) co_return;
  }
  if (limits_.exchangeTimeout.count() <= 0) {
    co_await next_->handle(ex);
    co_return;
  }
  ex.limits.deadline = ex.record.start + limits_.exchangeTimeout;
  if (Clock::now() >= ex.limits.deadline) {
    ex.limits.timedOut = true;
    ex.record.errorDetail = "router exchange timeout";
    errorReply(ex, 504, http::goStatusText(504));
    co_return;
  }
  // At the deadline a wait on an upstream is given up; the handler that waited answers 504.
  asio::steady_timer timer(ex.worker.io(), ex.limits.deadline);
  timer.async_wait([&ex](error_code ec) {
    if (ec) return;  // cancelled: the exchange may be gone; touch nothing
    ex.limits.timedOut = true;
    if (ex.waiting) ex.waiting->abandon();
  });
  co_await next_->handle(ex);
}

}  // namespace causeway::exchange
