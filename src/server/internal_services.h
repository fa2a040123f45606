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

// ping@internal: GET/HEAD /ping → 200 "OK"; while shutting down → terminatingStatusCode.
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
