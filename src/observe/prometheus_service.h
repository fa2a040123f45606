// prometheus@internal: serves the metrics exposition (any method, as promhttp does).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "exchange/handler.h"
#include "observe/metrics.h"

namespace causeway::upstream {
class HealthRegistry;
}  // namespace causeway::upstream

namespace causeway::observe {

// Open downstream connections per entryPoint name, read at scrape time (any thread).
using OpenConnectionCounts =
    std::function<std::vector<std::pair<std::pair<std::string, std::string>, int64_t>>()>;

class PrometheusService final : public exchange::Handler {
 public:
  // `openConnections` gives the open connections, `health` the live server status (may be
  // null; it outlives the handler).
  PrometheusService(std::shared_ptr<const Metrics> metrics, OpenConnectionCounts openConnections,
                    const upstream::HealthRegistry* health)
      : metrics_(std::move(metrics)), openConnections_(std::move(openConnections)), health_(health) {}
  awaitable<void> handle(exchange::Exchange& ex) const override;

 private:
  std::shared_ptr<const Metrics> metrics_;
  OpenConnectionCounts openConnections_;
  const upstream::HealthRegistry* health_;
};

}  // namespace causeway::observe
