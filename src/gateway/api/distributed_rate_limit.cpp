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
// Each request costs one round trip: a Lua script that reads, decides and writes atomically,
// one hash per source, with Redis's own clock (TIME), so instances with different clocks agree.
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
namespace resp = clients::redis::resp;

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

// KEYS[1]: the source's hash (fields r1..r3 for the rate limit, q1..q3 for the quota).
// ARGV: the rate limit ("bucket" with tokens per µs and burst, or "window" with period in µs and
// limit), ttl (ms), then the quota's period (µs; 0: none) and limit.
// Returns integers (no text to format or parse): {1 allowed, 0 refused by the rate limit, -1
// refused by the quota alone; then for the rate limit and the quota: left (floored), µs until
// one more is allowed (0 when allowed), µs until whole again (bucket) or until the window ends}.
constexpr std::string_view kScript = R"lua(local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local s = redis.call('HMGET', KEYS[1], 'r1', 'r2', 'r3', 'q1', 'q2', 'q3')

-- At most `limit` in any `period`: the current and the previous fixed window, the previous
-- weighted by how much of it the sliding window still covers.
local function slide(period, limit, w, cur, prev)
  local window = math.floor(now / period)
  w = tonumber(w) or window
  cur = tonumber(cur) or 0
  prev = tonumber(prev) or 0
  if w < window then
    if w == window - 1 then prev = cur else prev = 0 end
    cur = 0
    w = window
  end
  local offset = now - window * period
  local used = prev * (1 - offset / period) + cur
  if used + 1 <= limit then
    return true, {w, cur + 1, prev}, limit - used - 1, 0, period - offset
  end
  local retry = period - offset
  if cur + 1 <= limit and prev > 0 then
    retry = ((1 - (limit - 1 - cur) / prev) - offset / period) * period
  elseif cur > 0 and cur + 1 > limit then
    retry = retry + (1 - (limit - 1) / cur) * period
  end
  return false, nil, limit - used, math.max(retry, 0), period - offset
end

-- `burst` tokens, refilled at `rate` per µs.
local function bucket(rate, burst, last, tokens)
  last = tonumber(last)
  tokens = tonumber(tokens)
  if not last or not tokens then
    last = now
    tokens = burst
  end
  local at = math.max(now, last)
  tokens = math.min(tokens + (at - last) * rate, burst)
  if tokens >= 1 then
    return true, {at, tokens - 1, 0}, tokens - 1, 0, (burst - tokens + 1) / rate
  end
  return false, nil, tokens, (1 - tokens) / rate, (burst - tokens) / rate
end

local rok, rs, rleft, rretry, rreset
if ARGV[1] == 'bucket' then
  rok, rs, rleft, rretry, rreset = bucket(tonumber(ARGV[2]), tonumber(ARGV[3]), s[1], s[2])
else
  rok, rs, rleft, rretry, rreset = slide(tonumber(ARGV[2]), tonumber(ARGV[3]), s[1], s[2], s[3])
end
local qok, qs, qleft, qretry, qreset = true, nil, 0, 0, 0
local qperiod = tonumber(ARGV[5])
if qperiod > 0 then
  qok, qs, qleft, qretry, qreset = slide(qperiod, tonumber(ARGV[6]), s[4], s[5], s[6])
end
local function f(x) return string.format('%.17g', x) end
-- What is left counts this request only when it was let in.
if rok and not qok then rleft = rleft + 1 end
if qok and qperiod > 0 and not rok then qleft = qleft + 1 end
local allowed = 0
if rok and not qok then allowed = -1 end
if rok and qok then
  allowed = 1
  redis.call('HSET', KEYS[1], 'r1', f(rs[1]), 'r2', f(rs[2]), 'r3', f(rs[3]))
  if qs then redis.call('HSET', KEYS[1], 'q1', f(qs[1]), 'q2', f(qs[2]), 'q3', f(qs[3])) end
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
local c = math.ceil
return {allowed, math.floor(rleft), c(rretry), c(rreset), math.floor(qleft), c(qretry), c(qreset)}
)lua";

struct Decision {
  bool allowed = true;
  bool quotaRefused = false;  // refused by the quota, not the rate limit
  double remaining = 0;
  double retryMicros = 0;
  double resetMicros = 0;
  double quotaRemaining = 0;
  double quotaRetryMicros = 0;
  double quotaResetMicros = 0;
};

struct Compiled {
  std::string name;
  limits::SourceExtractor extractor;
  int64_t limit = 0;
  int64_t quotaLimit = 0;  // 0: no quota
  std::string script{kScript};
  std::string sha;
  std::vector<std::string> args;  // the script's ARGV
  std::string requestHead;        // EVALSHA <sha> 1, in RESP: the key and requestTail follow
  std::string requestTail;        // the ARGV, in RESP
  bool denyOnError = true;
  bool responseHeaders = false;
  std::string keyHead;  // store.keyPrefix + the middleware's name + ":", then the source
  std::shared_ptr<const RedisStore> store;
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
      refuse(ex, 429, {}, d->quotaRefused ? "quota exceeded" : "rate limit exceeded");
      double wait = std::max(d->retryMicros, d->quotaRetryMicros);
      int64_t retry = std::max<int64_t>(1, int64_t(std::ceil(wait / 1e6)));
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

  awaitable<std::optional<Decision>> decide(Exchange& ex, const std::string& key,
                                            std::string& error) const {
    const Compiled& c = *c_;
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
    std::span<const std::string> keys(&key, 1);
    std::span<const std::string> args(c.args);
    bool ok = co_await c.store->evalsha(ex.worker, std::move(request), c.script, c.sha, keys, args,
                                        reply, error);
    if (!ok) co_return std::nullopt;
    if (reply.isError()) {
      error = "redis: " + reply.text;
      co_return std::nullopt;
    }
    if (reply.type != resp::Value::Type::Array || reply.items.size() != 7) {
      error = "unexpected reply from the rate limit script";
      co_return std::nullopt;
    }
    Decision d;
    double* fields[] = {&d.remaining,      &d.retryMicros,      &d.resetMicros,
                        &d.quotaRemaining, &d.quotaRetryMicros, &d.quotaResetMicros};
    for (const resp::Value& item : reply.items)
      if (item.type != resp::Value::Type::Integer) {
        error = "unexpected values from the rate limit script";
        co_return std::nullopt;
      }
    d.allowed = reply.items[0].integer == 1;
    d.quotaRefused = reply.items[0].integer == -1;
    for (size_t i = 0; i < 6; ++i)
      *fields[i] = double(reply.items[i + 1].integer);
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
  if (!o.store.redis) {
    context.error("distributedRateLimit: store.redis.endpoints is required");
    return nullptr;
  }
  c->store = RedisStore::make(*o.store.redis, context.workers(), error);
  if (!c->store) {
    context.error("distributedRateLimit: " + error);
    return nullptr;
  }
  c->limit = o.limit;
  double periodMicros = std::chrono::duration<double, std::micro>(o.period.value).count();
  int64_t ttlMillis = int64_t(std::ceil(periodMicros / 1000.0)) * 2 + 1000;
  auto exact = [](double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    return std::string(buf);
  };
  if (o.algorithm == "slidingWindow") {
    c->args = {"window", std::to_string(int64_t(periodMicros)), std::to_string(o.limit)};
  } else {
    int64_t burst = std::max<int64_t>(1, o.burst);
    double rate = double(o.limit) / periodMicros;
    c->args = {"bucket", exact(rate), std::to_string(burst)};
    // The bucket is forgotten once it would be full again (plus the period).
    ttlMillis += int64_t(std::ceil(double(burst) / rate / 1000.0));
  }
  std::string quotaPeriod = "0", quotaLimit = "0";
  if (o.quota) {
    auto period = o.quota->period.value;
    if (o.quota->limit <= 0 || period < std::chrono::seconds(1) || period > std::chrono::hours(9999)) {
      context.error("distributedRateLimit: quota needs a positive limit and a period from 1s to "
                    "9999h");
      return nullptr;
    }
    int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(period).count();
    quotaPeriod = std::to_string(micros);
    quotaLimit = std::to_string(o.quota->limit);
    c->quotaLimit = o.quota->limit;
    ttlMillis = std::max(ttlMillis, micros / 1000 * 2 + 1000);
  }
  c->args.push_back(std::to_string(ttlMillis));
  c->args.push_back(quotaPeriod);
  c->args.push_back(quotaLimit);
  c->sha = clients::redis::scriptSha1(c->script);
  std::vector<std::string> head{"EVALSHA", c->sha, "1"};
  c->requestHead = clients::redis::resp::encodeCommand(head);
  // encodeCommand wrote "*3": the key and the arguments make it 4 + ARGV.
  c->requestHead.replace(0, c->requestHead.find("\r\n"), "*" + std::to_string(4 + c->args.size()));
  std::string tail = clients::redis::resp::encodeCommand(c->args);
  c->requestTail = tail.substr(tail.find("\r\n") + 2);  // without its own "*N"
  c->denyOnError = o.denyOnError;
  c->responseHeaders = o.responseHeaders;
  c->keyHead = (o.store.keyPrefix.empty() ? "causeway:drl:" : o.store.keyPrefix) + c->name + ":";
  return exchange::factoryOf<DistributedRateLimit>(std::shared_ptr<const Compiled>(std::move(c)));
}

const exchange::MiddlewareRegistration registration("distributedRateLimit", create,
                                                    "DistributedRateLimit");

}  // namespace
}  // namespace causeway::gateway::api
