// Services of services (Traefik's `weighted` and `highestRandomWeight`).
//
//  - weighted: smooth weighted round robin over child services (per-worker cursors), with an
//    optional sticky cookie naming the child (sha256 of its name as written). With
//    `healthCheck: {}` a child that is down leaves the rotation (and a cookie pinning it is
//    rewritten); without it every child is always tried, as Traefik does.
//  - highestRandomWeight: rendezvous hashing of the client IP over the children's names.
// No child available → 503 "no available server".
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "service/service.h"
#include "service/sticky_cookie.h"

namespace causeway::service {

struct ServiceChild {
  std::string name;  // as written in the configuration
  int weight = 1;
  exchange::HandlerPtr handler;        // the child with its service-level middlewares
  ServiceHandlerPtr health;  // the child's own handler, for its status (null: internal service)
};

class WeightedService final : public ServiceHandler {
 public:
  WeightedService(std::vector<ServiceChild> children, std::optional<StickyCookieOptions> sticky,
                  bool healthCheck, unsigned workers);
  awaitable<void> handle(exchange::Exchange& ex) const override;
  bool up() const override;

 private:
  bool available(size_t index) const;
  struct alignas(64) Cursor {
    std::vector<int64_t> current;
  };

  std::vector<ServiceChild> children_;
  std::vector<int> weights_;
  std::optional<StickyTable> sticky_;
  std::vector<std::string> setCookies_;
  bool healthCheck_;
  mutable std::vector<Cursor> cursors_;  // one per worker
};

class HighestRandomWeightService final : public ServiceHandler {
 public:
  HighestRandomWeightService(std::vector<ServiceChild> children, bool healthCheck);
  awaitable<void> handle(exchange::Exchange& ex) const override;
  bool up() const override;

 private:
  bool available(size_t index) const;

  std::vector<ServiceChild> children_;
  std::vector<std::string> names_;
  std::vector<int> weights_;
  bool healthCheck_;
};

}  // namespace causeway::service
