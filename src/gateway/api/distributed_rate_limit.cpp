// distributedRateLimit: Traefik Hub's rate limit shared through Redis by every causeway
// instance that uses the same store and middleware name (docs/api-gateway.md,
// "distributedRateLimit"). Per source (sourceCriterion, as Traefik's rateLimit: the peer address
// by default, or an IP strategy, a request header, the host):
//  - tokenBucket (default): `limit` tokens per `period`, a bucket of `burst` tokens;
//  - slidingWindow (a causeway option): at most `limit` requests in any `period`, counted over
//    the current and the previous window, the previous weighted by how much of it the sliding
//    window still covers (two numbers per source, whatever the limit).
// Each request costs one round trip: a Lua script that reads, decides and writes atomically,
// with Redis's own clock (TIME), so instances with different clocks agree. Over the limit: 429
// with Retry-After. With `responseHeaders`: X-RateLimit-Limit, -Remaining and -Reset (seconds
// until the limit is whole again) on every answer.
//
// When Redis cannot be reached or answers an error, `denyOnError` (true) refuses with 503;
// false lets the request through. Redis may be one server (`endpoints`), a Cluster (`cluster`;
// redirections are followed) or a Sentinel set (`sentinel.masterSet`: the sentinels at
// `endpoints` name the master, asked again after a failure or a READONLY answer).
#include <boost/json.hpp>
#include <cmath>

#include "clients/redis/redis_client.h"
#include "clients/redis/redis_settings.h"
#include "clients/redis/sentinel.h"
#include "config/client_tls.h"
#include "config/duration.h"
#include "config/redis_options.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/exchange.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "gateway/api/credentials.h"
#include "limits/source_criterion.h"

namespace causeway::gateway::api {
namespace {

using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;
namespace resp = clients::redis::resp;

struct SentinelOptions {
  std::string masterSet;
  std::string username;
  std::string password;
  static void describe(auto& self, auto& v) {
    v("masterSet", self.masterSet);
    v("username", self.username);
    v("password", self.password);
  }
};

struct ClusterOptions {
  static void describe(auto&, auto&) {}
};

struct RedisStore {
  std::vector<std::string> endpoints;
  std::string username;
  std::string password;
  int64_t database = 0;
  config::Duration timeout = std::chrono::seconds(2);
  std::optional<ClusterOptions> cluster;
  std::optional<SentinelOptions> sentinel;
  std::optional<config::ClientTls> tls;
  static void describe(auto& self, auto& v) {
    v("endpoints", self.endpoints);
    v("username", self.username);
    v("password", self.password);
    v("database", self.database);
    v("timeout", self.timeout);
    v("cluster", self.cluster);
    v("sentinel", self.sentinel);
    v("tls", self.tls);
  }
};

struct Store {
  std::optional<RedisStore> redis;
  std::string keyPrefix;
  static void describe(auto& self, auto& v) {
    v("redis", self.redis);
    v("keyPrefix", self.keyPrefix);
  }
};

struct Options {
  int64_t limit = 0;
  config::Duration period = std::chrono::seconds(1);
  int64_t burst = 1;
  bool denyOnError = true;
  bool responseHeaders = false;
  std::string algorithm = "tokenBucket";
  std::optional<limits::SourceCriterionOptions> sourceCriterion;
  Store store;
  static void describe(auto& self, auto& v) {
    v("limit", self.limit);
    v("period", self.period);
    v("burst", self.burst);
    v("denyOnError", self.denyOnError);
    v("responseHeaders", self.responseHeaders);
    v("algorithm", self.algorithm);
    v("sourceCriterion", self.sourceCriterion);
    v("store", self.store);
  }
};

// KEYS[1]: the bucket. ARGV: rate (tokens per µs), burst, ttl (ms).
// Returns {allowed (1/0), tokens left, µs until one token, µs until the bucket is full}.
constexpr std::string_view kTokenBucket = R"lua(local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'last', 'tokens')
local last, tokens = now, burst
if state[1] and state[2] then
  last = tonumber(state[1])
  tokens = tonumber(state[2])
end
if last > now then now = last end
tokens = math.min(tokens + (now - last) * rate, burst)
local allowed, retry = 0, 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  retry = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'last', now, 'tokens', tokens)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {allowed, tostring(tokens), tostring(retry), tostring((burst - tokens) / rate)}
)lua";

// KEYS[1]: the counters. ARGV: period (µs), limit, ttl (ms).
// Returns {allowed (1/0), requests left, µs until one more is allowed, µs until the window ends}.
constexpr std::string_view kSlidingWindow = R"lua(local period = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = math.floor(now / period)
local state = redis.call('HMGET', KEYS[1], 'w', 'cur', 'prev')
local w, cur, prev = window, 0, 0
if state[1] then
  w = tonumber(state[1])
  cur = tonumber(state[2]) or 0
  prev = tonumber(state[3]) or 0
end
if w < window then
  if w == window - 1 then prev = cur else prev = 0 end
  cur = 0
  w = window
end
local offset = now - window * period
local weight = 1 - offset / period
local used = prev * weight + cur
local allowed, retry = 0, 0
if used + 1 <= limit then
  cur = cur + 1
  used = used + 1
  allowed = 1
elseif cur + 1 <= limit and prev > 0 then
  retry = ((1 - (limit - 1 - cur) / prev) - offset / period) * period
else
  retry = period - offset
  if cur > 0 and cur + 1 > limit then
    retry = retry + (1 - (limit - 1) / cur) * period
  end
end
redis.call('HSET', KEYS[1], 'w', w, 'cur', cur, 'prev', prev)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {allowed, tostring(limit - used), tostring(math.max(retry, 0)), tostring(period - offset)}
)lua";

struct Decision {
  bool allowed = true;
  double remaining = 0;
  double retryMicros = 0;
  double resetMicros = 0;
};

// A worker's client: to the store, or to the master Sentinel names.
struct WorkerRoute {
  uint64_t generation = UINT64_MAX;
  std::string endpoint;
  std::shared_ptr<clients::redis::RedisClient> client;
};

struct Compiled {
  std::string name;
  limits::SourceExtractor extractor;
  bool sliding = false;
  int64_t limit = 0;
  std::string script;
  std::string sha;
  std::vector<std::string> args;  // the script's ARGV
  std::string requestHead;        // EVALSHA <sha> 1, in RESP: the key and requestTail follow
  std::string requestTail;        // the ARGV, in RESP
  bool denyOnError = true;
  bool responseHeaders = false;
  std::string keyPrefix;
  clients::redis::RedisSettings redis;
  std::shared_ptr<clients::redis::SentinelMaster> sentinel;
  mutable std::vector<WorkerRoute> routes;  // one per worker
  ThrottledWarning outage;
};

double number(const resp::Value& v) {
  if (v.type == resp::Value::Type::Integer) return static_cast<double>(v.integer);
  char* end = nullptr;
  double d = std::strtod(v.text.c_str(), &end);
  return end && *end == '\0' ? d : NAN;
}

class DistributedRateLimit final : public Handler {
 public:
  DistributedRateLimit(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext&)
      : c_(std::move(c)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    const Compiled& c = *c_;
    std::string key = c.keyPrefix + c.name + ":" + c.extractor.extract(ex);
    std::string error;
    std::optional<Decision> d = co_await decide(ex, key, error);
    if (!d) {
      warn(error);
      if (c.denyOnError) {
        refuse(ex, 503, {}, "rate limit store unavailable");
        co_return;
      }
      co_await next_->handle(ex);
      co_return;
    }
    if (!d->allowed) {
      refuse(ex, 429, {}, "rate limit exceeded");
      int64_t retry = std::max<int64_t>(1, int64_t(std::ceil(d->retryMicros / 1e6)));
      ex.response.headers.add("Retry-After", ex.arena.copy(std::to_string(retry)));
      addHeaders(ex, *d);
      co_return;
    }
    co_await next_->handle(ex);
    addHeaders(ex, *d);
  }

 private:
  void addHeaders(Exchange& ex, const Decision& d) const {
    if (!c_->responseHeaders) return;
    auto& h = ex.response.headers;
    h.set("X-RateLimit-Limit", ex.arena.copy(std::to_string(c_->limit)));
    h.set("X-RateLimit-Remaining",
          ex.arena.copy(std::to_string(int64_t(std::max(0.0, std::floor(d.remaining))))));
    h.set("X-RateLimit-Reset",
          ex.arena.copy(std::to_string(int64_t(std::ceil(d.resetMicros / 1e6)))));
  }

  void warn(const std::string& error) const {
    if (!c_->outage.due()) return;  // an outage must not flood the log
    log::warn("distributedRateLimit: the store cannot be used",
              {{"middlewareName", c_->name},
               {"error", error},
               {"denyOnError", c_->denyOnError ? "true" : "false"}});
  }

  awaitable<std::optional<Decision>> decide(Exchange& ex, const std::string& key,
                                            std::string& error) const {
    const Compiled& c = *c_;
    WorkerRoute* route = &c.routes[ex.worker.index() % c.routes.size()];
    if (c.sentinel && (!route->client || route->generation != c.sentinel->generation())) {
      uint64_t generation = c.sentinel->generation();
      auto settings = co_await c.sentinel->master(ex.worker.index(), ex.worker.io(),
                                                  ex.worker.watchdog(), error);
      if (!settings) co_return std::nullopt;
      route = &c.routes[ex.worker.index() % c.routes.size()];
      route->endpoint = settings->endpoints.front();
      route->client = clients::redis::RedisClient::forWorker(ex.worker.index(), ex.worker.io(),
                                                             ex.worker.watchdog(), *settings);
      route->generation = std::max(generation, c.sentinel->generation());
    } else if (!route->client) {
      route->client = clients::redis::RedisClient::forWorker(ex.worker.index(), ex.worker.io(),
                                                             ex.worker.watchdog(), c.redis);
    }
    std::shared_ptr<clients::redis::RedisClient> client = route->client;
    // EVALSHA in RESP, most of it built once; the script is loaded when Redis does not know it.
    std::string request;
    request.reserve(c.requestHead.size() + key.size() + 16 + c.requestTail.size());
    request += c.requestHead;
    request += '$';
    request += std::to_string(key.size());
    request += "\r\n";
    request += key;
    request += "\r\n";
    request += c.requestTail;
    resp::Value reply;
    bool ok = co_await client->callPipelinedEncoded(std::move(request), reply, error);
    if (ok && reply.isError() && reply.text.starts_with("NOSCRIPT")) {
      std::vector<std::string> keys{key};
      std::vector<std::string> args = c.args;
      ok = co_await client->runScript(c.script, c.sha, std::move(keys), std::move(args), reply,
                                      error);
    }
    bool readOnly = ok && reply.isError() && reply.text.starts_with("READONLY");
    if (c.sentinel && (!ok || readOnly)) {
      // The master failed or was demoted: ask the sentinels again next time.
      WorkerRoute& r = c.routes[ex.worker.index() % c.routes.size()];
      c.sentinel->unusable(r.endpoint);
      r.client.reset();
    }
    if (!ok) co_return std::nullopt;
    if (reply.isError()) {
      error = "redis: " + reply.text;
      co_return std::nullopt;
    }
    if (reply.type != resp::Value::Type::Array || reply.items.size() != 4) {
      error = "unexpected reply from the rate limit script";
      co_return std::nullopt;
    }
    Decision d;
    d.allowed = reply.items[0].type == resp::Value::Type::Integer && reply.items[0].integer == 1;
    d.remaining = number(reply.items[1]);
    d.retryMicros = number(reply.items[2]);
    d.resetMicros = number(reply.items[3]);
    if (std::isnan(d.remaining) || std::isnan(d.retryMicros) || std::isnan(d.resetMicros)) {
      error = "unexpected numbers from the rate limit script";
      co_return std::nullopt;
    }
    co_return d;
  }

  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
};

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = exchange::decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& o = *decoded;
  auto c = std::make_shared<Compiled>();
  c->name = context.name();
  std::string error;
  auto extractor = limits::SourceExtractor::make(o.sourceCriterion,
                                                 limits::SourceExtractor::Fallback::PeerIp, error);
  if (!extractor) {
    context.error("distributedRateLimit: sourceCriterion: " + error);
    return nullptr;
  }
  c->extractor = std::move(*extractor);
  if (o.limit <= 0) {
    context.error("distributedRateLimit: limit must be positive (0 turns nothing on: remove the "
                  "middleware instead)");
    return nullptr;
  }
  if (o.period.value.count() <= 0) {
    context.error("distributedRateLimit: period must be positive");
    return nullptr;
  }
  if (o.algorithm != "tokenBucket" && o.algorithm != "slidingWindow") {
    context.error("distributedRateLimit: algorithm must be tokenBucket or slidingWindow, not \"" +
                  o.algorithm + "\"");
    return nullptr;
  }
  if (!o.store.redis || o.store.redis->endpoints.empty()) {
    context.error("distributedRateLimit: store.redis.endpoints is required");
    return nullptr;
  }
  const RedisStore& r = *o.store.redis;
  if (r.cluster && r.sentinel) {
    context.error("distributedRateLimit: store.redis: cluster and sentinel cannot both be set");
    return nullptr;
  }
  if (r.cluster && r.database != 0) {
    context.error("distributedRateLimit: store.redis.database must be 0 in cluster mode");
    return nullptr;
  }
  config::RedisOptions ro;
  ro.endpoints = r.endpoints;
  ro.username = r.username;
  ro.password = r.password;
  ro.db = r.database;
  ro.tls = r.tls;
  ro.readTimeout = r.timeout;
  ro.writeTimeout = r.timeout;
  ro.dialTimeout = r.timeout;
  auto settings = clients::redis::settingsFrom(ro, context.workers(), error);
  if (!settings) {
    context.error("distributedRateLimit: store.redis: " + error);
    return nullptr;
  }
  c->redis = *settings;
  if (r.sentinel) {
    if (r.sentinel->masterSet.empty()) {
      context.error("distributedRateLimit: store.redis.sentinel.masterSet is required");
      return nullptr;
    }
    clients::redis::RedisSettings sentinels = *settings;
    sentinels.username = r.sentinel->username;
    sentinels.password = r.sentinel->password;
    c->sentinel = std::make_shared<clients::redis::SentinelMaster>(
        std::move(sentinels), r.sentinel->masterSet, *settings);
  }
  c->routes.resize(std::max(1u, context.workers()));
  c->sliding = o.algorithm == "slidingWindow";
  c->limit = o.limit;
  double periodMicros = std::chrono::duration<double, std::micro>(o.period.value).count();
  int64_t ttlMillis = int64_t(std::ceil(periodMicros / 1000.0)) * 2 + 1000;
  if (c->sliding) {
    c->script = std::string(kSlidingWindow);
    c->args = {std::to_string(int64_t(periodMicros)), std::to_string(o.limit),
               std::to_string(ttlMillis)};
  } else {
    int64_t burst = std::max<int64_t>(1, o.burst);
    double rate = double(o.limit) / periodMicros;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", rate);
    // The bucket is forgotten once it would be full again (plus the period).
    double fill = double(burst) / rate / 1000.0;
    c->args = {buf, std::to_string(burst), std::to_string(int64_t(std::ceil(fill)) + ttlMillis)};
    c->script = std::string(kTokenBucket);
  }
  c->sha = clients::redis::scriptSha1(c->script);
  std::vector<std::string> head{"EVALSHA", c->sha, "1"};
  c->requestHead = clients::redis::resp::encodeCommand(head);
  // encodeCommand wrote "*3": the key and the arguments make it 4 + ARGV.
  c->requestHead.replace(0, c->requestHead.find("\r\n"), "*" + std::to_string(4 + c->args.size()));
  std::string tail = clients::redis::resp::encodeCommand(c->args);
  c->requestTail = tail.substr(tail.find("\r\n") + 2);  // without its own "*N"
  c->denyOnError = o.denyOnError;
  c->responseHeaders = o.responseHeaders;
  c->keyPrefix = o.store.keyPrefix.empty() ? "causeway:drl:" : o.store.keyPrefix;
  return exchange::factoryOf<DistributedRateLimit>(std::shared_ptr<const Compiled>(std::move(c)));
}

const exchange::MiddlewareRegistration registration("distributedRateLimit", create,
                                                    "DistributedRateLimit");

}  // namespace
}  // namespace causeway::gateway::api
