// prometheus@internal: serves the metrics exposition (any method, as promhttp does).
#pragma once

#include <memory>

#include "observe/metrics.h"
#include "server/handler.h"

namespace causeway::server {
class Server;
class HealthRegistry;
}  // namespace causeway::server

namespace causeway::observe {

class PrometheusService final : public server::Handler {
 public:
  // `server` gives the open connections, `health` the live server status (may be null). Both
  // outlive the handler.
  PrometheusService(std::shared_ptr<const Metrics> metrics, const server::Server& server,
                    const server::HealthRegistry* health)
      : metrics_(std::move(metrics)), server_(server), health_(health) {}
  awaitable<void> handle(server::Exchange& ex) const override;

 private:
  std::shared_ptr<const Metrics> metrics_;
  const server::Server& server_;
  const server::HealthRegistry* health_;
};

}  // namespace causeway::observe
