#include <boost/json.hpp>

#include "admin/admin_handlers.h"
#include "admin/api_json.h"
#include "admin/api_query.h"
#include "config/api_management.h"
#include "exchange/local_reply.h"
#include "exchange/response_caches.h"
#include "runtime/snapshot.h"

namespace causeway::admin {
namespace json = boost::json;
namespace {

using exchange::Exchange;

void jsonReply(Exchange& ex, const json::value& value, std::string_view contentType = "application/json") {
  std::string body = json::serialize(value);
  body += '\n';  // Go's json.Encoder ends with a newline
  exchange::Response& r = ex.response;
  r.status = 200;
  r.reason = {};
  r.headers.clear();
  r.headers.add("Content-Type", contentType);
  r.body = ex.arena.make<exchange::OwnedBody>(std::move(body));
  r.tunnel = nullptr;
}

// Traefik's writeError: http.Error with {"message": ...}.
void apiError(Exchange& ex, int status, const std::string& message) {
  exchange::errorReply(ex, status, json::serialize(json::object{{"message", message}}));
}

void notFound(Exchange& ex) { exchange::errorReply(ex, 404, "404 page not found"); }

void methodNotAllowed(Exchange& ex) {
  exchange::Response& r = ex.response;
  r.status = 405;
  r.reason = {};
  r.headers.clear();
  r.body = nullptr;
  r.tunnel = nullptr;
}

void redirect(Exchange& ex, std::string_view location) {
  exchange::localReply(ex, 302, "");
  ex.response.headers.clear();
  ex.response.headers.add("Location", ex.arena.copy(location));
  ex.response.headers.add("Content-Type", "text/html; charset=utf-8");
  std::string body = "<a href=\"" + std::string(location) + "\">Found</a>.\n\n";
  ex.response.body = ex.arena.make<exchange::OwnedBody>(std::move(body));
}

// X-Forwarded-Prefix, when it is a plain path (Traefik ignores absolute URLs).
std::string forwardedPrefix(const Exchange& ex) {
  std::string_view prefix = ex.request.headers.get("X-Forwarded-Prefix");
  if (prefix.empty() || prefix[0] != '/' || (prefix.size() > 1 && (prefix[1] == '/' || prefix[1] == '\\')))
    return {};
  for (char c : prefix)
    if (c == ':' || c == '\\' || c == '"' || c == '<' || c == '>' || static_cast<unsigned char>(c) < 0x20) return {};
  std::string out(prefix);
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

// A list endpoint: filter, sort, paginate, with X-Next-Page.
template <class Map, class ToJson, class Keep>
void serveList(Exchange& ex, const runtime::Snapshot& snapshot, const Map& elements, std::string_view kind,
               ToJson toJson, Keep keep) {
  std::string error;
  auto query = ListQuery::parse(ex.request.query, error);
  std::vector<json::object> items;
  if (query) {
    items.reserve(elements.size());
    for (const auto& [name, state] : elements) {
      json::object item = toJson(snapshot, name, state);
      if (keep(*query, item)) items.push_back(std::move(item));
    }
    sortItems(items, kind, *query);
  }
  std::optional<PageSlice> page = query ? paginate(*query, items.size(), error) : std::nullopt;
  if (!page) {
    apiError(ex, 400, error);
    return;
  }
  json::array out;
  out.reserve(page->end - page->begin);
  for (size_t i = page->begin; i < page->end; ++i) out.push_back(std::move(items[i]));
  jsonReply(ex, out);
  ex.response.headers.add("X-Next-Page", ex.arena.copy(std::to_string(page->nextPage)));
}

// "name" from the rest of a route after its collection ("/name"); nullopt when the rest is
// not one segment.
std::optional<std::string> oneSegment(std::string_view rest) {
  if (rest.size() < 2 || rest[0] != '/' || rest.find('/', 1) != std::string_view::npos) return std::nullopt;
  return std::string(rest.substr(1));
}

}  // namespace

ApiHandler::ApiHandler(const config::StaticConfig& config, std::chrono::system_clock::time_point startDate,
                       std::shared_ptr<const GatewayStats> gatewayStats,
                       std::map<std::string, exchange::HandlerPtr> routes)
    : config_(config), startDate_(startDate), gatewayStats_(std::move(gatewayStats)), routes_(routes.begin(), routes.end()) {
  base_ = config.api ? config.api->basePath : "/";
  while (!base_.empty() && base_.back() == '/') base_.pop_back();
  dashboard_ = config.api && config.api->dashboard;
}

awaitable<void> ApiHandler::handle(Exchange& ex) const {
  std::string_view path = ex.request.path;
  if (!path.starts_with(base_)) {
    notFound(ex);
    co_return;
  }
  std::string_view rest = path.substr(base_.size());
  if (!rest.empty() && rest[0] != '/') {
    notFound(ex);
    co_return;
  }
  bool get = ex.request.method == "GET";
  if (dashboard_) {
    bool isBase = base_.empty() ? rest == "/" : rest.empty();
    if (isBase || rest == "/dashboard") {
      if (!get) {
        methodNotAllowed(ex);
        co_return;
      }
      redirect(ex, forwardedPrefix(ex) + base_ + "/dashboard/");
      co_return;
    }
    if (rest.starts_with("/dashboard/")) {
      serveDashboardFile(ex, rest.substr(11));
      co_return;
    }
  }
  if (rest.starts_with("/api/")) {
    if (auto route = routes_.find(rest.substr(4)); route != routes_.end()) {
      if (!get) {
        methodNotAllowed(ex);
        co_return;
      }
      co_await route->second->handle(ex);
      co_return;
    }
    std::string_view route = rest.substr(4);
    if (route == "/http/caches" || route.starts_with("/http/caches/")) {
      co_await serveCaches(ex, route.substr(12));
      co_return;
    }
    serveApi(ex, route);
    co_return;
  }
  notFound(ex);
}

void ApiHandler::serveApi(Exchange& ex, std::string_view route) const {
  const runtime::Snapshot* snapshot = ex.snapshot;
  static const runtime::Snapshot empty;
  if (!snapshot) snapshot = &empty;
  const auto& runtime = snapshot->runtime;
  bool get = ex.request.method == "GET";

  // Single-segment routes.
  using Simple = void (*)(const ApiHandler&, Exchange&, const runtime::Snapshot&);
  static const std::pair<std::string_view, Simple> simple[] = {
      {"/overview", [](const ApiHandler& h, Exchange& e, const runtime::Snapshot& s) {
         jsonReply(e, overviewJson(s, h.config_));
       }},
      {"/rawdata", [](const ApiHandler&, Exchange& e, const runtime::Snapshot& s) { jsonReply(e, rawDataJson(s)); }},
      {"/warnings", [](const ApiHandler&, Exchange& e, const runtime::Snapshot& s) { jsonReply(e, warningsJson(s)); }},
      {"/certificates", [](const ApiHandler&, Exchange& e, const runtime::Snapshot& s) { jsonReply(e, certificatesJson(s)); }},
      {"/ai", [](const ApiHandler& h, Exchange& e, const runtime::Snapshot& s) {
         jsonReply(e, h.gatewayStats_ ? h.gatewayStats_->json(s) : boost::json::object{{"routers", boost::json::array{}}});
       }},
      {"/mcp", [](const ApiHandler& h, Exchange& e, const runtime::Snapshot& s) {
         jsonReply(e, h.gatewayStats_ ? h.gatewayStats_->mcpJson(s) : boost::json::object{{"routers", boost::json::array{}}});
       }},
      {"/version", [](const ApiHandler& h, Exchange& e, const runtime::Snapshot&) {
         jsonReply(e, versionJson(h.config_, h.startDate_), "application/json; charset=UTF-8");
       }},
  };
  for (const auto& [name, serve] : simple) {
    if (route != name) continue;
    if (!get) return methodNotAllowed(ex);
    return serve(*this, ex, *snapshot);
  }

  // Collections, with an optional "/{name}".
  auto collection = [&](std::string_view prefix, std::optional<std::string>& id) {
    if (!route.starts_with(prefix)) return false;
    std::string_view rest = route.substr(prefix.size());
    if (rest.empty()) return true;
    id = oneSegment(rest);
    return id.has_value();
  };
  // The decoded element name; false (reply sent) when it does not decode.
  auto decodeId = [&](const std::string& raw, std::string& out, const char* what) {
    auto decoded = pathUnescape(raw);
    if (!decoded) {
      apiError(ex, 400, "unable to decode " + std::string(what) + " \"" + raw + "\": invalid URL escape");
      return false;
    }
    out = std::move(*decoded);
    return true;
  };

  std::optional<std::string> id;
  if (collection("/entrypoints", id)) {
    if (!get) return methodNotAllowed(ex);
    if (!id) {
      std::string error;
      auto query = ListQuery::parse(ex.request.query, error);
      auto page = query ? paginate(*query, config_.entryPoints.size(), error) : std::nullopt;
      if (!page) return apiError(ex, 400, error);
      json::array out;
      size_t index = 0;
      for (const auto& [name, ep] : config_.entryPoints) {  // std::map: sorted by name
        if (index >= page->begin && index < page->end) out.push_back(entryPointJson(name, ep));
        ++index;
      }
      jsonReply(ex, out);
      ex.response.headers.add("X-Next-Page", ex.arena.copy(std::to_string(page->nextPage)));
      return;
    }
    std::string name;
    if (!decodeId(*id, name, "entryPointID")) return;
    auto it = config_.entryPoints.find(name);
    if (it == config_.entryPoints.end()) return apiError(ex, 404, "entry point not found: " + name);
    return jsonReply(ex, entryPointJson(name, it->second));
  }

  auto element = [&](const auto& map, std::string_view kind, auto toJson, auto keep, const char* idName,
                     const char* notFoundText) {
    if (!get) return methodNotAllowed(ex);
    if (!id) return serveList(ex, *snapshot, map, kind, toJson, keep);
    std::string name;
    if (!decodeId(*id, name, idName)) return;
    auto it = map.find(name);
    if (it == map.end()) return apiError(ex, 404, std::string(notFoundText) + name);
    jsonReply(ex, toJson(*snapshot, name, it->second));
  };
  if (collection("/http/routers", id))
    return element(runtime.routers, "routers", routerJson, keepRouter, "routerID", "router not found: ");
  if (collection("/http/services", id))
    return element(runtime.services, "services", serviceJson, keepService, "serviceID", "service not found: ");
  if (collection("/http/middlewares", id))
    return element(runtime.middlewares, "middlewares", middlewareJson, keepMiddleware, "middlewareID",
                   "middleware not found: ");

  if (collection("/tcp/routers", id))
    return element(runtime.tcpRouters, "routers", tcpRouterJson, keepRouter, "routerID", "router not found: ");
  if (collection("/tcp/services", id))
    return element(runtime.tcpServices, "services", tcpServiceJson, keepService, "serviceID", "service not found: ");
  if (collection("/tcp/middlewares", id))
    return element(runtime.tcpMiddlewares, "middlewares", tcpMiddlewareJson, keepMiddleware, "middlewareID",
                   "middleware not found: ");

  // /api/apimanagement/<kind>[/<name>]: the API management resources (docs/api-management.md).
  for (std::string_view kind : config::kApiManagementKinds) {
    if (!collection("/apimanagement/" + std::string(kind), id)) continue;
    static const std::map<std::string, runtime::ApiResourceState> kNone;
    auto resources = runtime.apiResources.find(std::string(kind));
    return element(resources == runtime.apiResources.end() ? kNone : resources->second, "middlewares", apiResourceJson,
                   keepMiddleware, "resourceID", "resource not found: ");
  }

  if (collection("/udp/routers", id))
    return element(runtime.udpRouters, "routers", udpRouterJson, keepRouter, "routerID", "router not found: ");
  if (collection("/udp/services", id))
    return element(runtime.udpServices, "services", udpServiceJson, keepService, "serviceID", "service not found: ");
  notFound(ex);
}

// GET /api/http/caches[/{name}]: the httpCache middlewares' stores and counters.
// DELETE /api/http/caches/{name}[?url=host/path]: purges one URL (every variant; a trailing *
// purges a prefix) or the whole store, in memory and in its shared tier (docs/cache.md, Purging).
awaitable<void> ApiHandler::serveCaches(Exchange& ex, std::string_view rest) const {
  auto statsJson = [](const std::string& name, const exchange::ResponseCache& cache) {
    exchange::ResponseCache::Stats s = cache.stats();
    return json::object{{"name", name},          {"entries", s.entries},     {"bytes", s.bytes},
                        {"limit", s.limit},      {"hits", s.hits},           {"stale", s.stale},
                        {"revalidated", s.revalidated}, {"misses", s.misses}, {"collapsed", s.collapsed},
                        {"bypass", s.bypass},    {"stored", s.stored},       {"evicted", s.evicted},
                        {"servedBytes", s.servedBytes}};
  };
  auto caches = exchange::ResponseCaches::instance().all();
  if (rest.empty()) {
    if (ex.request.method != "GET") methodNotAllowed(ex);
    else {
      json::array out;
      for (const auto& [name, cache] : caches) out.push_back(statsJson(name, *cache));
      jsonReply(ex, out);
    }
    co_return;
  }
  std::optional<std::string> id = oneSegment(rest);
  std::optional<std::string> name = id ? pathUnescape(*id) : std::nullopt;
  if (!id) co_return notFound(ex);
  if (!name) co_return apiError(ex, 400, "unable to decode cache name \"" + *id + "\": invalid URL escape");
  auto it = std::find_if(caches.begin(), caches.end(), [&](const auto& c) { return c.first == *name; });
  if (it == caches.end()) co_return apiError(ex, 404, "cache not found: " + *name);
  if (ex.request.method == "GET") co_return jsonReply(ex, statsJson(*name, *it->second));
  if (ex.request.method != "DELETE") co_return methodNotAllowed(ex);
  std::string url = queryValue(ex.request.query, "url");
  json::object out{{"purged", it->second->purge(url)}};
  if (it->second->shared()) out["purgedShared"] = co_await it->second->purgeShared(ex.worker, url);
  jsonReply(ex, out);
}

std::map<std::string, exchange::HandlerPtr> makeInternalServices(const config::StaticConfig& config,
                                                                 std::shared_ptr<const GatewayStats> gatewayStats,
                                                                 std::map<std::string, exchange::HandlerPtr> apiRoutes) {
  std::map<std::string, exchange::HandlerPtr> out;
  if (!config.api) return out;
  out["api@internal"] = std::make_shared<ApiHandler>(config, std::chrono::system_clock::now(), std::move(gatewayStats),
                                                     std::move(apiRoutes));
  if (config.api->dashboard) out["dashboard@internal"] = std::make_shared<DashboardHandler>();
  return out;
}

}  // namespace causeway::admin
