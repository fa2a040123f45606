// The failover service (Traefik's pkg/server/service/loadbalancer/failover): requests go to
// `service` while it is up (its health checks say so) and to `fallback` otherwise. With
// `errors.status` (v3.7) a main answer whose status is in those ranges is discarded and the
// request is sent again to the fallback; for that the request body is read ahead, up to
// `errors.maxRequestBodyBytes` (-1: no limit; larger bodies → 413 "Request body too large").
// When the fallback is needed but down (its status is only watched with `healthCheck: {}`)
// the answer is 503. Failovers can be chained (a fallback may be a failover).
#pragma once

#include "http/status_ranges.h"
#include "service/service.h"
#include "service/strategies.h"
#include "service/weighted.h"

namespace causeway::service {

class FailoverService final : public ServiceHandler {
 public:
  // `main.health` / `fallback.health` null: that side's status is not watched (always up).
  FailoverService(ServiceChild main, ServiceChild fallback, http::StatusRanges errorStatus,
                  int64_t maxRequestBodyBytes);
  awaitable<void> handle(exchange::Exchange& ex) const override;
  // DOWN only when both the service and the fallback are down (Traefik).
  bool up() const override { return mainUp() || fallbackUp(); }

 private:
  bool mainUp() const { return !main_.health || main_.health->up(); }
  bool fallbackUp() const { return !fallback_.health || fallback_.health->up(); }

  ServiceChild main_;
  ServiceChild fallback_;
  http::StatusRanges errorStatus_;
  int64_t maxRequestBodyBytes_;
};

}  // namespace causeway::service
