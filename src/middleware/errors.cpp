// errors (Traefik's customerrors): when the next handler answers with a status in
// `status`, its body is discarded and `query` is fetched with GET from `service` (client
// Host; the request headers, or only those named in errorRequestHeaders when it is set);
// the client gets that page's headers and body with the original status, or its rewrite
// from statusRewrites. `query` may hold {status} (after rewrite), {originalStatus} and {url}
// (the request URL, query-escaped). A query that is not a valid URL → http.Error with the
// status text.
#include <algorithm>
#include <map>

#include "core/log.h"
#include "exchange/local_reply.h"
#include "exchange/replies.h"
#include "http/go_text.h"
#include "http/go_url.h"
#include "http/status_ranges.h"
#include "http/uri.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

constexpr size_t kDrainLimit = 64 * 1024;

struct Options {
  std::vector<std::string> status;
  std::map<std::string, int> statusRewrites;
  std::string service;
  std::string query;
  std::optional<std::vector<std::string>> errorRequestHeaders;

  static void describe(auto& self, auto& v) {
    v("status", self.status);
    v("statusRewrites", self.statusRewrites);
    v("service", self.service);
    v("query", self.query);
    v("errorRequestHeaders", self.errorRequestHeaders);
  }
};

struct Rewrite {
  http::StatusRanges from;
  int to;
};

void replaceAll(std::string& s, std::string_view from, std::string_view to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
}

struct Config {
  Options options_;
  http::StatusRanges ranges_;
  std::vector<Rewrite> rewrites_;
  exchange::ServiceRefPtr service_;
};

class Errors final : public Handler {
 public:
  Errors(std::shared_ptr<const Config> config, HandlerPtr next, std::string name)
      : c_(std::move(config)), next_(std::move(next)), name_(std::move(name)) {}

  awaitable<void> handle(Exchange& ex) const override {
    co_await next_->handle(ex);
    exchange::Response& r = ex.response;
    int code = r.status == 0 ? 200 : r.status;
    if (r.tunnel || code < 200 || !c_->ranges_.contains(code)) co_return;
    const HandlerPtr& service = c_->service_->handler();
    if (!service) co_return;

    int originalCode = code;
    for (const auto& rewrite : c_->rewrites_) {
      if (rewrite.from.contains(code)) {
        code = rewrite.to;
        break;
      }
    }
    log::debug("caught error status, returning the error page",
               {{"middleware", name_}, {"status", originalCode}, {"rewritten", code}});
    // The original body is not sent: release it (bounded drain for connection reuse).
    co_await exchange::drainBody(r.body, kDrainLimit);
    r.body = nullptr;

    const auto& q = ex.request;
    std::string query;
    if (!c_->options_.query.empty()) {
      std::string_view configured = c_->options_.query;
      if (configured.starts_with('/')) configured.remove_prefix(1);
      query = "/" + std::string(configured);
      replaceAll(query, "{status}", std::to_string(code));
      replaceAll(query, "{originalStatus}", std::to_string(originalCode));
      std::string url = ex.connection.tls ? "https://" : "http://";
      url += q.authority;
      url += q.path;
      if (!q.query.empty()) {
        url += '?';
        url += q.query;
      }
      replaceAll(query, "{url}", http::queryEscape(url));
    }
    std::string error;
    auto page = http::gourl::parse("http://" + std::string(q.authority) + query, error);
    if (!page) {
      log::error("unable to create error page request", {{"middleware", name_}, {"error", error}});
      exchange::errorReply(ex, code, http::goStatusText(code));
      co_return;
    }

    Exchange sub(ex.worker, ex.arena, ex.connection);
    sub.snapshot = ex.snapshot;
    sub.record = ex.record;
    exchange::Request& pr = sub.request;
    pr.method = "GET";
    pr.path = ex.arena.copy(page->escapedPath());
    if (pr.path.empty()) pr.path = "/";
    pr.rawPath = pr.path;
    pr.routingPath = pr.path;
    pr.query = ex.arena.copy(page->rawQuery);
    pr.hasQuery = page->forceQuery || !page->rawQuery.empty();
    pr.authority = q.authority;
    pr.host = q.host;
    pr.scheme = "http";
    pr.versionMajor = 1;
    pr.versionMinor = 1;
    if (const auto& only = c_->options_.errorRequestHeaders) {
      for (const auto& name : *only)
        for (const auto& f : q.headers)
          if (iequals(f.name, name) && !iequals(f.name, "Host")) pr.headers.add(f.name, f.value);
    } else {
      for (const auto& f : q.headers)
        if (!iequals(f.name, "Host") && !iequals(f.name, "Content-Length") &&
            !iequals(f.name, "Transfer-Encoding"))
          pr.headers.add(f.name, f.value);
    }
    co_await service->handle(sub);

    r.status = code;
    r.reason = {};
    r.headers = sub.response.headers;
    r.body = sub.response.body;
    r.tunnel = nullptr;
    r.closeConnection = r.closeConnection || sub.response.closeConnection;
  }

 private:
  std::shared_ptr<const Config> c_;
  HandlerPtr next_;
  std::string name_;
};

class Factory final : public exchange::MiddlewareFactory {
 public:
  explicit Factory(std::shared_ptr<const Config> config) : config_(std::move(config)) {}
  HandlerPtr wrap(HandlerPtr next, const WrapContext& context) const override {
    return std::make_shared<Errors>(config_, std::move(next), std::string(context.middlewareName));
  }

 private:
  std::shared_ptr<const Config> config_;
};

exchange::MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& options = *decoded;
  std::string error;
  auto ranges = http::parseStatusRanges(options.status, error);
  if (!ranges) {
    context.error("errors: " + error);
    return nullptr;
  }
  std::vector<Rewrite> rewrites;
  // Go iterates the map in random order; a sorted order keeps overlapping ranges deterministic.
  for (const auto& [from, to] : options.statusRewrites) {
    auto parsed = http::parseStatusRanges({from}, error);
    if (!parsed) {
      context.error("errors: statusRewrites: " + error);
      return nullptr;
    }
    rewrites.push_back({std::move(*parsed), to});
  }
  if (options.service.empty()) {
    context.error("errors: service is required");
    return nullptr;
  }
  auto service = context.service(options.service);
  auto config = std::make_shared<Config>(
      Config{std::move(options), std::move(*ranges), std::move(rewrites), std::move(service)});
  return std::make_shared<Factory>(std::move(config));
}

const exchange::MiddlewareRegistration registration("errors", create, "customError");

}  // namespace
}  // namespace causeway::middleware
