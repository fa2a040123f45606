// Services causeway provides itself (Traefik's `@internal` objects).
#pragma once

#include <atomic>
#include <memory>

#include "exchange/handler.h"
#include "tls/acme_state.h"

namespace causeway::control {

// A service that answers one status with an empty body: noop@internal (418, the placeholder
// service of redirect routers) and invalid-backend@internal (500, what the Gateway API asks of
// a backendRef that cannot be used).
class StatusService final : public exchange::Handler {
 public:
  explicit StatusService(int status) : status_(status) {}
  awaitable<void> handle(exchange::Exchange& ex) const override;

 private:
  int status_;
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

// acme-http@internal: the HTTP-01 answers of the ACME provider (docs/acme.md): GET
// /.well-known/acme-challenge/<token> → 200 with the key authorization while the CA
// validates; any other token → 404.
class AcmeHttpChallengeService final : public exchange::Handler {
 public:
  explicit AcmeHttpChallengeService(std::shared_ptr<const tls::AcmeState> challenges)
      : challenges_(std::move(challenges)) {}
  awaitable<void> handle(exchange::Exchange& ex) const override;

 private:
  std::shared_ptr<const tls::AcmeState> challenges_;
};

}  // namespace causeway::control
