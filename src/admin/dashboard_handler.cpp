#include "admin/admin_handlers.h"
#include "admin/dashboard_assets.h"
#include "exchange/local_reply.h"

namespace causeway::admin {

const DashboardAsset* findDashboardAsset(std::string_view path) {
  return exchange::findEmbeddedFile({kDashboardAssets, kDashboardAssetCount}, path.empty() ? "index.html" : path);
}

void serveDashboardFile(exchange::Exchange& ex, std::string_view path) {
  exchange::Response& r = ex.response;
  if (ex.request.method != "GET" && ex.request.method != "HEAD") {
    r.status = 405;
    r.reason = {};
    r.headers.clear();
    r.body = nullptr;
    return;
  }
  const DashboardAsset* asset = findDashboardAsset(path);
  if (!asset) {
    exchange::errorReply(ex, 404, "404 page not found");
    return;
  }
  r.headers.clear();
  exchange::serveEmbeddedFile(ex, *asset);
}

// Reached through dashboard_stripprefix@internal: the path is what followed /dashboard/.
// "/dashboard" without its slash arrives as "/" with X-Forwarded-Prefix "/dashboard": the
// browser must be sent to "/dashboard/" or relative asset paths would miss.
awaitable<void> DashboardHandler::handle(exchange::Exchange& ex) const {
  std::string_view path = ex.request.path;
  std::string_view prefix;
  for (const auto& field : ex.request.headers)
    if (iequals(field.name, "X-Forwarded-Prefix")) prefix = field.value;
  if (path == "/" && prefix == "/dashboard" && ex.request.method == "GET") {
    exchange::localReply(ex, 302, "");
    ex.response.headers.clear();
    ex.response.headers.add("Location", "/dashboard/");
    ex.response.body = nullptr;
    co_return;
  }
  if (!path.empty() && path[0] == '/') path.remove_prefix(1);
  serveDashboardFile(ex, path);
  co_return;
}

}  // namespace causeway::admin
