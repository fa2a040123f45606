// A router's own limits (causeway extensions: `maxRequestBodyBytes` and `timeouts` on a router;
// docs/compatibility.md), applied in front of its middleware chain:
//  - maxRequestBodyBytes: a body announced larger gets 413 at once; a body of unknown length is
//    held (memory, then a temporary file beyond 1 MiB) until it ends or passes the limit, so an
//    upstream never sees any part of a request it would have to drop;
//  - timeouts.requestBody: the whole body must arrive within it (held the same way), else 408;
//  - timeouts.responseHeader: replaces the transport's responseHeaderTimeout (504);
//  - timeouts.exchange: from the request head to the end of the response: a wait on an HTTP/1.1
//    upstream is given up (504) and the response write is cut when it runs past it;
//  - timeouts.idle: the keep-alive idle time of the HTTP/1.1 connection after this response.
// Immutable and shared by every worker.
#pragma once

#include <chrono>
#include <cstdint>

#include "exchange/handler.h"

namespace causeway::exchange {

struct RouterLimits {
  int64_t maxRequestBodyBytes = -1;  // < 0: none
  std::chrono::nanoseconds requestBodyTimeout{0};
  std::chrono::nanoseconds responseHeaderTimeout{0};
  std::chrono::nanoseconds exchangeTimeout{0};
  std::chrono::nanoseconds idleTimeout{-1};

  bool any() const {
    return maxRequestBodyBytes >= 0 || requestBodyTimeout.count() > 0 || responseHeaderTimeout.count() > 0 ||
           exchangeTimeout.count() > 0 || idleTimeout.count() >= 0;
  }
};

class RouterPolicy final : public Handler {
 public:
  RouterPolicy(RouterLimits limits, HandlerPtr next) : limits_(limits), next_(std::move(next)) {}
  awaitable<void> handle(Exchange& ex) const override;

 private:
  // Reads the whole body (within requestBodyTimeout, up to maxRequestBodyBytes) and replaces it
  // with a replay; false after answering 408 or 413.
  awaitable<bool> holdBody(Exchange& ex) const;

  RouterLimits limits_;
  HandlerPtr next_;
};

}  // namespace causeway::exchange
