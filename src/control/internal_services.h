// Services causeway provides itself (Traefik's `@internal` objects).
#pragma once

#include <atomic>

#include "exchange/handler.h"

namespace causeway::control {

// noop@internal: answers 418; the placeholder service of redirect routers.
class NoopService final : public exchange::Handler {
 public:
  awaitable<void> handle(exchange::Exchange& ex) const override;
};

// ping@internal: 200 "OK" (any method, as Traefik v3); while shutting down →
// terminatingStatusCode with its status text.
class PingService final : public exchange::Handler {
 public:
  PingService(const std::atomic<bool>& terminating, int terminatingStatusCode)
      : terminating_(terminating), terminatingStatusCode_(terminatingStatusCode) {}
  awaitable<void> handle(exchange::Exchange& ex) const override;

 private:
  const std::atomic<bool>& terminating_;
  int terminatingStatusCode_;
};

}  // namespace causeway::control
