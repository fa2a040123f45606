// A handler serves one request. Middlewares are handlers that wrap the next handler
// (Traefik's onion): they may act before, after, or instead of calling next, and may
// co_await remote work without blocking their worker.
//
// Contract: handle() returns with ex.response filled in (status set, body optional).
// It never throws for bad input; failures become responses (4xx/5xx). Handlers are part
// of an immutable snapshot and are shared by every worker, so their own state is const;
// state that changes per request is either per worker (indexed by ex.worker.index()) or
// atomic.
#pragma once

#include <memory>

#include "exchange/exchange.h"
#include "io/asio.h"

namespace causeway::exchange {

class Handler {
 public:
  virtual ~Handler() = default;
  virtual awaitable<void> handle(Exchange& ex) const = 0;
};
using HandlerPtr = std::shared_ptr<const Handler>;

}  // namespace causeway::exchange
