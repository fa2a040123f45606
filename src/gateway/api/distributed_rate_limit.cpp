// distributedRateLimit: Traefik Hub's rate limit shared through Redis by every causeway
// instance that uses the same store and middleware name (docs/api-gateway.md,
// "distributedRateLimit"). Per source (sourceCriterion, as Traefik's rateLimit: the peer address
// by default, or an IP strategy, a request header, the host):
//  - tokenBucket (default): `limit` tokens per `period`, a bucket of `burst` tokens;
//  - slidingWindow (a causeway option): at most `limit` requests in any `period`, counted over
//    the current and the previous window, the previous weighted by how much of it the sliding
//    window still covers (two numbers per source, whatever the limit).
// With `quota` (a causeway option, the shape of Traefik Hub's API plans: `limit` requests in any
// `period` of up to 9,999 h, counted as a sliding window), a source must pass both the rate
// limit and the quota; a request either refuses costs neither.
// Each request costs one round trip (gateway/api/redis_limit.h): a Lua script that reads, decides
// and writes atomically, one hash per source, with Redis's own clock (TIME), so instances with
// different clocks agree.
// Over the limit or the quota: 429 with Retry-After. With `responseHeaders`: X-RateLimit-Limit,
// -Remaining and -Reset (seconds until the limit is whole again), and with a quota
// X-Quota-Limit, -Remaining and -Reset (seconds until the quota's current window ends), on
// every answer.
//
// When Redis cannot be reached or answers an error, `denyOnError` (true) refuses with 503;
// false lets the request through. Redis may be one server (`endpoints`), a Cluster (`cluster`;
// redirections are followed) or a Sentinel set (`sentinel.masterSet`: the sentinels at
// `endpoints` name the master, asked again after a failure or a READONLY answer).
#include <boost/json.hpp>
#include <cmath>

#include "clients/redis/redis_settings.h"
#include "config/duration.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/exchange.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "gateway/api/credentials.h"
#include "gateway/api/redis_limit.h"
#include "gateway/api/redis_store.h"
#include "limits/source_criterion.h"

namespace causeway::gateway::api {
namespace {

using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

struct Store {
  std::optional<RedisStoreOptions> redis;
  std::string keyPrefix;
  static void describe(auto& self, auto& v) {
    v("redis", self.redis);
    v("keyPrefix", self.keyPrefix);
  }
};

struct QuotaOptions {
  int64_t limit = 0;
  config::Duration period = std::chrono::hours(24 * 30);
  static void describe(auto& self, auto& v) {
    v("limit", self.limit);
    v("period", self.period);
  }
};

struct Options {
  int64_t limit = 0;
  config::Duration period = std::chrono::seconds(1);
  int64_t burst = 1;
  bool denyOnError = true;
  bool responseHeaders = false;
  std::string algorithm = "tokenBucket";
  std::optional<QuotaOptions> quota;
  std::optional<limits::SourceCriterionOptions> sourceCriterion;
  Store store;
  static void describe(auto& self, auto& v) {
    v("limit", self.limit);
    v("period", self.period);
    v("burst", self.burst);
    v("denyOnError", self.denyOnError);
    v("responseHeaders", self.responseHeaders);
    v("algorithm", self.algorithm);
    v("quota", self.quota);
    v("sourceCriterion", self.sourceCriterion);
    v("store", self.store);
  }
};

struct Compiled {
  std::string name;
  limits::SourceExtractor extractor;
  int64_t limit = 0;
  int64_t quotaLimit = 0;  // 0: no quota
  std::optional<RedisLimit> limiter;
  bool denyOnError = true;
  bool responseHeaders = false;
  std::string keyHead;  // store.keyPrefix + the middleware's name + ":", then the source
  ThrottledWarning outage;
};

class DistributedRateLimit final : public Handler {
 public:
  DistributedRateLimit(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext&)
      : c_(std::move(c)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    const Compiled& c = *c_;
    std::string key = c.keyHead + c.extractor.extract(ex);
    std::string error;
    std::optional<LimitDecision> d = co_await c.limiter->decide(ex.worker, key, error);
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
      refuse(ex, 429, {}, d->quotaRefused ? "quota exceeded" : "rate limit exceeded");
      ex.response.headers.add("Retry-After", ex.arena.copy(std::to_string(d->retryAfterSeconds())));
      addHeaders(ex, *d);
      co_return;
    }
    co_await next_->handle(ex);
    addHeaders(ex, *d);
  }

 private:
  void addHeaders(Exchange& ex, const LimitDecision& d) const {
    if (!c_->responseHeaders) return;
    auto& h = ex.response.headers;
    h.set("X-RateLimit-Limit", ex.arena.copy(std::to_string(c_->limit)));
    h.set("X-RateLimit-Remaining",
          ex.arena.copy(std::to_string(int64_t(std::max(0.0, std::floor(d.remaining))))));
    h.set("X-RateLimit-Reset",
          ex.arena.copy(std::to_string(int64_t(std::ceil(d.resetMicros / 1e6)))));
    if (c_->quotaLimit <= 0) return;
    h.set("X-Quota-Limit", ex.arena.copy(std::to_string(c_->quotaLimit)));
    h.set("X-Quota-Remaining",
          ex.arena.copy(std::to_string(int64_t(std::max(0.0, std::floor(d.quotaRemaining))))));
    h.set("X-Quota-Reset",
          ex.arena.copy(std::to_string(int64_t(std::ceil(d.quotaResetMicros / 1e6)))));
  }

  void warn(const std::string& error) const {
    if (!c_->outage.due()) return;  // an outage must not flood the log
    log::warn("distributedRateLimit: the store cannot be used",
              {{"middlewareName", c_->name},
               {"error", error},
               {"denyOnError", c_->denyOnError ? "true" : "false"}});
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
  if (!o.store.redis) {
    context.error("distributedRateLimit: store.redis.endpoints is required");
    return nullptr;
  }
  std::shared_ptr<RedisStore> store = RedisStore::make(*o.store.redis, context.workers(), error);
  if (!store) {
    context.error("distributedRateLimit: " + error);
    return nullptr;
  }
  c->limit = o.limit;
  LimitSpec spec;
  spec.rate = o.algorithm == "slidingWindow" ? LimitSpec::Rate::Window : LimitSpec::Rate::Bucket;
  spec.limit = o.limit;
  spec.period = o.period.value;
  spec.burst = o.burst;
  if (o.quota) {
    auto period = o.quota->period.value;
    if (o.quota->limit <= 0 || period < std::chrono::seconds(1) || period > std::chrono::hours(9999)) {
      context.error("distributedRateLimit: quota needs a positive limit and a period from 1s to "
                    "9999h");
      return nullptr;
    }
    spec.quotaLimit = c->quotaLimit = o.quota->limit;
    spec.quotaPeriod = period;
  }
  c->limiter.emplace(spec, std::move(store));
  c->denyOnError = o.denyOnError;
  c->responseHeaders = o.responseHeaders;
  c->keyHead = (o.store.keyPrefix.empty() ? "causeway:drl:" : o.store.keyPrefix) + c->name + ":";
  return exchange::factoryOf<DistributedRateLimit>(std::shared_ptr<const Compiled>(std::move(c)));
}

const exchange::MiddlewareRegistration registration("distributedRateLimit", create,
                                                    "DistributedRateLimit");

}  // namespace
}  // namespace causeway::gateway::api
