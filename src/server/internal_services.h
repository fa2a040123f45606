// Services causeway provides itself (Traefik's `@internal` objects).
#pragma once

#include <atomic>

#include "server/handler.h"

namespace causeway::server {

// noop@internal: answers 418; the placeholder service of redirect routers.
class NoopService final : public Handler {
 public:
  awaitable<void> handle(Exchange& ex) const override;
};

// ping@internal: 200 "OK" (any method, as Traefik v3); while shutting down →
// terminatingStatusCode with its status text.
class PingService final : public Handler {
 public:
  PingService(const std::atomic<bool>& terminating, int terminatingStatusCode)
      : terminating_(terminating), terminatingStatusCode_(terminatingStatusCode) {}
  awaitable<void> handle(Exchange& ex) const override;

 private:
  const std::atomic<bool>& terminating_;
  int terminatingStatusCode_;
};

}  // namespace causeway::server
