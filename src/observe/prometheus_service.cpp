#include "observe/prometheus_service.h"

#include <algorithm>

#include "exchange/body.h"
#include "upstream/health/registry.h"

namespace causeway::observe {

awaitable<void> PrometheusService::handle(exchange::Exchange& ex) const {
  ScrapeInputs inputs;
  inputs.snapshot = ex.snapshot;
  if (health_) inputs.serverStatus = [this](const std::string& service) { return health_->serverStatus(service); };
  if (openConnections_) inputs.openConnections = openConnections_();
  std::sort(inputs.openConnections.begin(), inputs.openConnections.end());
  std::string text = metrics_->render(inputs);
  exchange::Response& r = ex.response;
  r.status = 200;
  r.reason = {};
  r.headers.clear();
  r.headers.add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  r.body = ex.arena.make<exchange::OwnedBody>(std::move(text));
  r.tunnel = nullptr;
  co_return;
}

}  // namespace causeway::observe
