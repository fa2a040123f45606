// The internal services behind Traefik's API and dashboard:
//
// - api@internal (ApiHandler): under api.basePath, GET /api/{overview, entrypoints[/name],
//   http/{routers,services,middlewares}[/name], tcp/..., udp/..., rawdata, version, ai}; with the
//   dashboard, also GET basePath → 302 to basePath/dashboard/, basePath/dashboard → 302 to
//   basePath/dashboard/, and basePath/dashboard/... → the embedded files. This is what users
//   route to (`service: api@internal`, usually with an auth middleware).
// - dashboard@internal (DashboardHandler): the dashboard files at the root, what the
//   api.insecure router reaches through dashboard_stripprefix@internal.
//
// Both read the snapshot the exchange pinned (ex.snapshot): no lock, no copy; the JSON is
// built per request, and servers' health is read live. They are created once at start and
// shared by every worker and every snapshot.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "admin/gateway_stats.h"
#include "config/static_config.h"
#include "exchange/handler.h"

namespace causeway::admin {

class ApiHandler final : public exchange::Handler {
 public:
  // `config` must outlive the handler (the static configuration lives as long as the process).
  // `gatewayStats` (may be null): the AI and MCP gateways' figures, served at /api/ai and /api/mcp.
  // `routes`: more GET routes under /api given by the application, from layers this one does not
  // see (e.g. "/apimanagement/portal/export": the developer portal's export).
  ApiHandler(const config::StaticConfig& config, std::chrono::system_clock::time_point startDate,
             std::shared_ptr<const GatewayStats> gatewayStats = nullptr,
             std::map<std::string, exchange::HandlerPtr> routes = {});
  awaitable<void> handle(exchange::Exchange& ex) const override;

 private:
  void serveApi(exchange::Exchange& ex, std::string_view route) const;
  awaitable<void> serveCaches(exchange::Exchange& ex, std::string_view rest) const;

  const config::StaticConfig& config_;
  std::chrono::system_clock::time_point startDate_;
  std::shared_ptr<const GatewayStats> gatewayStats_;
  std::map<std::string, exchange::HandlerPtr, std::less<>> routes_;
  std::string base_;  // api.basePath without its trailing '/' ("" for "/")
  bool dashboard_ = false;
};

class DashboardHandler final : public exchange::Handler {
 public:
  awaitable<void> handle(exchange::Exchange& ex) const override;
};

// Serves dashboard file `path` ("" = index.html) for GET and HEAD, with its ETag (304 on
// If-None-Match); 404 "404 page not found" when there is no such file.
void serveDashboardFile(exchange::Exchange& ex, std::string_view path);

// The handlers of api@internal and dashboard@internal for this static configuration (none
// when `api` is not configured), for ConfigPipeline::setInternalService.
// `apiRoutes`: ApiHandler's `routes`.
std::map<std::string, exchange::HandlerPtr> makeInternalServices(
    const config::StaticConfig& config, std::shared_ptr<const GatewayStats> gatewayStats = nullptr,
    std::map<std::string, exchange::HandlerPtr> apiRoutes = {});

}  // namespace causeway::admin
