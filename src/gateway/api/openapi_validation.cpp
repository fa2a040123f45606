// openApiSpec: requests checked against an OpenAPI contract (docs/api-gateway.md,
// "openApiSpec"), Traefik Hub's `openApiSpec` of an API as a middleware. The document (OpenAPI
// 3.0, 3.1 or Swagger 2, JSON or YAML) comes from `file` (read when the configuration is built)
// or `url` (fetched on first use, then again every `refreshInterval`; a failed refresh keeps the
// last good contract). It is compiled once per version (openapi.h): a tree of path templates and
// every schema. Then, per request:
//  - validateRequestMethodAndPath (true): a path the document does not declare gets 404, a
//    method its path does not have 405 with Allow;
//  - the operation's parameters (path, query, header, cookie): required ones present, values
//    turned from text into the schema's type and checked (400);
//  - validateRequestBodySchema (true): a declared body's Content-Type must be one of the
//    operation's media types (415), a required body must be there (400), and a JSON body must
//    parse and match its schema (400 naming the JSON path); bodies are read up to `maxBodySize`
//    (1 MiB; larger 413) and then sent on unchanged.
// Refusals are JSON: {"error": "...", "location": "..."}.
#include <boost/json.hpp>
#include <fstream>
#include <mutex>
#include <sstream>

#include "config/duration.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/body.h"
#include "exchange/exchange.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "gateway/api/credentials.h"
#include "gateway/api/http_client.h"
#include "gateway/api/openapi.h"
#include "http/uri.h"

namespace causeway::gateway::api {
namespace {

namespace json = boost::json;
using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

struct ServerOverride {
  std::string url;
  static void describe(auto& self, auto& v) { v("url", self.url); }
};

struct Override {
  std::vector<ServerOverride> servers;
  static void describe(auto& self, auto& v) { v("servers", self.servers); }
};

struct Options {
  std::string file;
  std::string url;
  config::Duration refreshInterval = std::chrono::minutes(5);
  bool validateRequestMethodAndPath = true;
  bool validateRequestBodySchema = true;
  int64_t maxBodySize = 1 << 20;
  std::optional<Override> override;
  ClientConfig clientConfig;
  static void describe(auto& self, auto& v) {
    v("file", self.file);
    v("url", self.url);
    v("refreshInterval", self.refreshInterval);
    v("validateRequestMethodAndPath", self.validateRequestMethodAndPath);
    v("validateRequestBodySchema", self.validateRequestBodySchema);
    v("maxBodySize", self.maxBodySize);
    v("override", self.override);
    v("clientConfig", self.clientConfig);
  }
};

using ContractPtr = std::shared_ptr<const ApiContract>;

// The current contract, shared by the workers; fetched and refreshed from `url`.
class ContractSource : public std::enable_shared_from_this<ContractSource> {
 public:
  ContractSource(std::string name, ContractPtr fixed, std::shared_ptr<const HttpClient> client,
                 std::chrono::nanoseconds refresh, std::vector<std::string> servers)
      : name_(std::move(name)), contract_(std::move(fixed)), client_(std::move(client)),
        refresh_(refresh), servers_(std::move(servers)) {}

  awaitable<ContractPtr> current(exchange::WorkerContext& worker) {
    if (!client_) co_return contract_;
    auto now = std::chrono::steady_clock::now();
    ContractPtr have;
    bool start = false;
    {
      std::lock_guard lock(mutex_);
      have = contract_;
      start = !fetching_ && now >= next_;
      if (start) {
        fetching_ = true;
        next_ = now + refresh_;
      }
    }
    if (have) {
      if (start)
        asio::co_spawn(worker.io(), refreshInBackground(shared_from_this(), worker),
                       asio::detached);
      co_return have;
    }
    if (start) {
      co_await fetch(worker);
      std::lock_guard lock(mutex_);
      co_return contract_;
    }
    // Another request is fetching the first contract: wait for it, at most 20 s.
    for (int i = 0; i < 2000; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (!fetching_) co_return contract_;
      }
      asio::steady_timer pause(worker.io(), std::chrono::milliseconds(10));
      co_await pause.async_wait(nothrow);
    }
    co_return nullptr;
  }

 private:
  static awaitable<void> refreshInBackground(std::shared_ptr<ContractSource> self,
                                             exchange::WorkerContext& worker) {
    co_await self->fetch(worker);
  }

  awaitable<void> fetch(exchange::WorkerContext& worker) {
    HttpCall call;
    call.headers.emplace_back("Accept", "application/json, application/yaml, text/yaml, */*");
    HttpAnswer answer = co_await client_->call(worker, call, 16 << 20);
    std::string error;
    ContractPtr compiled;
    if (answer.status == 200)
      compiled = ApiContract::compile(answer.body, servers_, error);
    else
      error = answer.status ? "status " + std::to_string(answer.status) : answer.error;
    std::lock_guard lock(mutex_);
    fetching_ = false;
    if (!compiled) {
      log::warn("openApiSpec: cannot load the contract; the last good one stays in use",
                {{"middlewareName", name_}, {"url", client_->url()}, {"error", error}});
      // Try again soon when there is none at all.
      if (!contract_) next_ = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      co_return;
    }
    if (!contract_ || body_ != answer.body)
      log::info("openApiSpec: contract loaded",
                {{"middlewareName", name_},
                 {"url", client_->url()},
                 {"operations", std::to_string(compiled->operationCount())}});
    body_ = std::move(answer.body);
    contract_ = std::move(compiled);
  }

  std::string name_;
  std::mutex mutex_;
  ContractPtr contract_;
  std::string body_;
  std::shared_ptr<const HttpClient> client_;
  std::chrono::nanoseconds refresh_;
  std::vector<std::string> servers_;
  std::chrono::steady_clock::time_point next_{};
  bool fetching_ = false;
};

struct Compiled {
  std::shared_ptr<ContractSource> source;
  bool methodAndPath = true;
  bool body = true;
  int64_t maxBody = 1 << 20;
};

void jsonRefusal(Exchange& ex, int status, std::string_view error, std::string_view location) {
  json::object o{{"error", error}};
  if (!location.empty()) o["location"] = location;
  std::string text = json::serialize(o) + "\n";
  auto& response = ex.response;
  response.status = status;
  response.headers.clear();
  response.headers.add("Content-Type", "application/json");
  response.body = ex.arena.make<exchange::MemoryBody>(ex.arena.copy(text));
  ex.record.errorDetail =
      ex.arena.copy(std::string(error) + (location.empty() ? "" : " at " + std::string(location)));
}

// A parameter's text as the JSON value its schema expects; text that is not one stays a string
// (and the schema check then says what was expected).
json::value typed(std::string_view text, std::string_view type) {
  if (type == "integer") {
    std::string s(text);
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (!s.empty() && *end == '\0' && errno == 0) return json::value(static_cast<int64_t>(v));
  } else if (type == "number") {
    std::string s(text);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && *end == '\0' && std::isfinite(d)) return json::value(d);
  } else if (type == "boolean") {
    if (text == "true") return true;
    if (text == "false") return false;
  } else if (type == "null" && text.empty()) {
    return nullptr;
  }
  return json::value(json::string(text));
}

bool mediaTypeAllowed(std::string_view contentType, const std::vector<std::string>& declared) {
  std::string type = toLower(trim(contentType.substr(0, contentType.find(';'))));
  for (const std::string& d : declared) {
    if (d == type || d == "*/*") return true;
    if (d.ends_with("/*") && type.starts_with(std::string_view(d).substr(0, d.size() - 1)))
      return true;
  }
  return false;
}

class OpenApiValidation final : public Handler {
 public:
  OpenApiValidation(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext&)
      : c_(std::move(c)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    const Compiled& c = *c_;
    ContractPtr contract = co_await c.source->current(ex.worker);
    if (!contract) {
      jsonRefusal(ex, 503, "the API contract is not available", {});
      co_return;
    }
    auto& r = ex.request;
    ApiContract::Match m = contract->match(r.method, r.path);
    if (m.kind != ApiContract::Match::Kind::Found) {
      if (!c.methodAndPath) {
        co_await next_->handle(ex);
        co_return;
      }
      if (m.kind == ApiContract::Match::Kind::NoPath) {
        jsonRefusal(ex, 404, "the API has no such path", r.path);
      } else {
        jsonRefusal(ex, 405, "the path does not accept this method", r.method);
        ex.response.headers.add("Allow", ex.arena.copy(m.allowed));
      }
      co_return;
    }
    const ApiOperation& op = *m.operation;
    std::string where;
    if (!checkParameters(ex, *contract, op, m, where)) co_return;

    if (c.body && op.hasBody) {
      bool hasBody = r.body && (!r.body->length() || *r.body->length() > 0);
      if (!hasBody) {
        if (op.bodyRequired) {
          jsonRefusal(ex, 400, "the request body is required", {});
          co_return;
        }
      } else {
        std::string_view type = r.headers.get("Content-Type");
        if (!mediaTypeAllowed(type, op.mediaTypes)) {
          jsonRefusal(ex, 415, "the content type is not one the operation accepts", type);
          co_return;
        }
        std::string mt = toLower(trim(type.substr(0, type.find(';'))));
        bool isJson =
            mt == "application/json" || (mt.starts_with("application/") && mt.ends_with("+json"));
        if (isJson && op.jsonSchema >= 0) {
          std::string body;
          exchange::ReadResult read = co_await exchange::readBody(*r.body, body, c.maxBody);
          if (read == exchange::ReadResult::TooLarge) {
            jsonRefusal(ex, 413, "the request body is too large to validate", {});
            co_return;
          }
          if (read != exchange::ReadResult::Complete) {
            jsonRefusal(ex, 400, "the request body broke off", {});
            co_return;
          }
          boost::system::error_code ec;
          json::parse_options opts;
          opts.max_depth = 128;
          json::value doc = json::parse(body, ec, {}, opts);
          if (ec) {
            jsonRefusal(ex, 400, "the request body is not JSON", {});
            co_return;
          }
          if (auto failure = contract->schemas().check(op.jsonSchema, doc)) {
            jsonRefusal(ex, 400, "the request body does not match the schema: " + failure->reason,
                        failure->path);
            co_return;
          }
          r.body = ex.arena.make<exchange::MemoryBody>(ex.arena.copy(body));
        }
      }
    }
    co_await next_->handle(ex);
  }

 private:
  bool checkParameters(Exchange& ex, const ApiContract& contract, const ApiOperation& op,
                       const ApiContract::Match& m, std::string& where) const {
    auto& r = ex.request;
    for (const ApiParameter& p : op.parameters) {
      std::vector<std::string> values;
      const char* place = "query";
      switch (p.in) {
      case ApiParameter::In::Path:
        place = "path";
        for (const auto& [name, value] : m.pathValues)
          if (name == p.name) values.push_back(value);
        break;
      case ApiParameter::In::Query: {
        if (!r.hasQuery) break;
        std::string_view q = r.query;
        while (!q.empty()) {
          size_t amp = q.find('&');
          std::string_view pair = q.substr(0, amp);
          q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
          size_t eq = pair.find('=');
          std::string key, value;
          if (!http::queryUnescape(pair.substr(0, eq), key) || key != p.name) continue;
          if (eq != std::string_view::npos && !http::queryUnescape(pair.substr(eq + 1), value))
            continue;
          values.push_back(std::move(value));
        }
        break;
      }
      case ApiParameter::In::Header:
        place = "header";
        for (const auto& f : r.headers)
          if (iequals(f.name, p.name)) values.emplace_back(trim(f.value));
        break;
      case ApiParameter::In::Cookie:
        place = "cookie";
        if (auto v = cookieValue(ex, p.name)) values.emplace_back(*v);
        break;
      }
      where = std::string(place) + " parameter " + p.name;
      if (values.empty()) {
        if (p.required) {
          jsonRefusal(ex, 400, "a required parameter is missing", where);
          return false;
        }
        continue;
      }
      json::value value;
      if (p.type == "array") {
        json::array items;
        if (p.explode && p.in == ApiParameter::In::Query) {
          for (const std::string& v : values)
            items.push_back(typed(v, p.itemsType));
        } else {
          for (std::string_view piece : splitTrimmed(values.front(), ','))
            items.push_back(typed(piece, p.itemsType));
        }
        value = std::move(items);
      } else {
        value = typed(values.front(), p.type);
      }
      if (auto failure = contract.schemas().check(p.schema, value, where)) {
        jsonRefusal(ex, 400, "a parameter does not match its schema: " + failure->reason,
                    failure->path);
        return false;
      }
    }
    return true;
  }

  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
};

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = exchange::decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& o = *decoded;
  if (o.file.empty() == o.url.empty()) {
    context.error("openApiSpec: exactly one of file and url must be set");
    return nullptr;
  }
  if (o.refreshInterval.value < std::chrono::seconds(1)) {
    context.error("openApiSpec: refreshInterval must be at least 1s");
    return nullptr;
  }
  if (o.maxBodySize <= 0) {
    context.error("openApiSpec: maxBodySize must be positive");
    return nullptr;
  }
  std::vector<std::string> servers;
  if (o.override)
    for (const auto& s : o.override->servers)
      servers.push_back(s.url);
  std::string error;
  ContractPtr fixed;
  std::shared_ptr<const HttpClient> client;
  if (!o.file.empty()) {
    std::ifstream in(o.file, std::ios::binary);
    if (!in) {
      context.error("openApiSpec: cannot read " + o.file);
      return nullptr;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    fixed = ApiContract::compile(ss.str(), servers, error);
    if (!fixed) {
      context.error("openApiSpec: " + o.file + ": " + error);
      return nullptr;
    }
  } else {
    client = HttpClient::make(o.url, o.clientConfig, context.name() + "#openapi", error);
    if (!client) {
      context.error("openApiSpec: url: " + error);
      return nullptr;
    }
  }
  auto c = std::make_shared<Compiled>();
  c->source = std::make_shared<ContractSource>(context.name(), std::move(fixed), std::move(client),
                                               o.refreshInterval.value, std::move(servers));
  c->methodAndPath = o.validateRequestMethodAndPath;
  c->body = o.validateRequestBodySchema;
  c->maxBody = o.maxBodySize;
  return exchange::factoryOf<OpenApiValidation>(std::shared_ptr<const Compiled>(std::move(c)));
}

const exchange::MiddlewareRegistration registration("openApiSpec", create, "OpenAPISpec");

}  // namespace
}  // namespace causeway::gateway::api
