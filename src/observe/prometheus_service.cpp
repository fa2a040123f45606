#include "observe/prometheus_service.h"

#include <algorithm>

#include "server/body.h"
#include "server/health_registry.h"
#include "server/server.h"

namespace causeway::observe {

awaitable<void> PrometheusService::handle(server::Exchange& ex) const {
  ScrapeInputs inputs;
  inputs.snapshot = ex.snapshot;
  if (health_) inputs.serverStatus = [this](const std::string& service) { return health_->serverStatus(service); };
  for (const auto& ep : server_.entryPoints()) inputs.openConnections.emplace_back(ep.name, server_.openConnections(ep.index));
  std::sort(inputs.openConnections.begin(), inputs.openConnections.end());
  std::string text = metrics_->render(inputs);
  server::Response& r = ex.response;
  r.status = 200;
  r.reason = {};
  r.headers.clear();
  r.headers.add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  r.body = ex.arena.make<server::OwnedBody>(std::move(text));
  r.tunnel = nullptr;
  co_return;
}

}  // namespace causeway::observe
