// A service: a handler that also tells whether it can take requests (loadBalancer, weighted,
// highestRandomWeight, mirroring, failover), and the small pieces the services share.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "exchange/handler.h"

namespace causeway::service {

class ServiceHandler : public exchange::Handler {
 public:
  // Whether the service can take requests now, as a parent with `healthCheck: {}` sees it
  // (Traefik's status propagation, read on demand instead of pushed): a loadBalancer is up
  // while one server is up, weighted and highestRandomWeight while one child is, failover
  // while its service or fallback is, mirroring while its service is. Any worker; reads
  // atomics only.
  virtual bool up() const = 0;
};
using ServiceHandlerPtr = std::shared_ptr<const ServiceHandler>;

// Lives in the exchange's arena: decrements an in-flight counter when the exchange ends
// (arena reset), i.e. after the response body has been sent. The counter's owner (a
// handler of the snapshot the exchange pinned) outlives the arena reset.
struct InflightGuard {
  explicit InflightGuard(std::atomic<int64_t>& c) : counter(c) {
    counter.fetch_add(1, std::memory_order_relaxed);
  }
  ~InflightGuard() { counter.fetch_sub(1, std::memory_order_relaxed); }
  std::atomic<int64_t>& counter;
};

// Adds a sticky Set-Cookie field before the others: the outer level's cookie comes first, as
// Traefik writes it before calling the inner level. `value` must outlive the exchange.
void addSetCookie(exchange::Response& response, std::string_view value);

}  // namespace causeway::service
