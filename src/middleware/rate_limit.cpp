// rateLimit: a token bucket per source (sourceCriterion; the peer address by default) at
// average/period tokens per second holding `burst` tokens. A request that would wait up to
// maxDelay (half a token's interval, 500 ms below 1 req/s) is delayed; a longer wait is a
// 429 with Retry-After (whole seconds, rounded up) and X-Retry-In (Go duration) as Traefik.
//
// In memory the buckets are per router and shared by every worker, so the figure holds for
// the process. With `redis` the bucket lives in Redis under "rate:<middleware>:<source>"
// (shared by every router and every proxy using it), updated by Traefik's Lua script; when
// Redis cannot be reached the request is refused with 500 "Could not insert/update bucket",
// as Traefik does. redis.tls (ca, cert/key, insecureSkipVerify) puts TLS on every connection.
#include <charconv>
#include <cmath>

#include "clients/redis/redis_client.h"
#include "clients/redis/redis_settings.h"
#include "config/redis_options.h"
#include "core/log.h"
#include "exchange/local_reply.h"
#include "http/go_text.h"
#include "limits/source_criterion.h"
#include "limits/token_bucket.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

struct Options {
  int64_t average = 0;
  config::Duration period = std::chrono::seconds(1);
  int64_t burst = 1;
  std::optional<limits::SourceCriterionOptions> sourceCriterion;
  std::optional<config::RedisOptions> redis;

  static void describe(auto& self, auto& v) {
    v("average", self.average);
    v("period", self.period);
    v("burst", self.burst);
    v("sourceCriterion", self.sourceCriterion);
    v("redis", self.redis);
  }
};

// The bucket update, atomic in Redis. Same storage as Traefik's script (a hash with fields
// "last" (µs) and "tokens", expiring after ttl seconds) and the same arithmetic as the
// in-memory bucket, so a bucket can be shared with Traefik instances.
// ARGV: rate (tokens per µs), burst, ttl (s), now (µs), max delay (µs).
// Returns {"true", wait (µs), tokens left}.
constexpr std::string_view kScript = R"lua(local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local max_delay = tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'last', 'tokens')
local last, tokens = 0, 0
if state[1] and state[2] then
  last = tonumber(state[1])
  tokens = tonumber(state[2])
end
-- Calls from several workers or proxies can arrive out of order: an older "now" adds
-- nothing and never moves "last" back (which would refill the same interval twice).
if last > now then now = last end
tokens = math.min(tokens + (now - last) * rate, burst) - 1
local wait = 0
if tokens < 0 then
  wait = -tokens / rate
  if wait > max_delay then
    tokens = math.min(tokens + 1, burst)
  end
end
redis.call('HSET', KEYS[1], 'last', now, 'tokens', tokens)
redis.call('EXPIRE', KEYS[1], ttl)
return {'true', tostring(wait), tostring(tokens)}
)lua";

// strconv.FormatFloat(f, 'f', -1, 64): the shortest decimal that reads back as f.
std::string goFloat(double f) {
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f, std::chars_format::fixed);
  return std::string(buf, end);
}

// strconv.ParseBool.
std::optional<bool> goParseBool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "TRUE" || s == "true" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "FALSE" || s == "false" || s == "False")
    return false;
  return std::nullopt;
}

struct Compiled {
  limits::RateParameters params;
  limits::SourceExtractor extractor;
  std::optional<clients::redis::RedisSettings> redis;
  std::string scriptSha;
};

int64_t steadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class RateLimit final : public Handler {
 public:
  RateLimit(const Compiled& c, HandlerPtr next, const WrapContext& context)
      : c_(c), next_(std::move(next)), name_(context.middlewareName), buckets_(c.params) {}

  awaitable<void> handle(Exchange& ex) const override {
    std::string source = name_ + ":" + c_.extractor.extract(ex);
    limits::Nanos delay{0};
    if (c_.redis) {
      auto result = co_await redisAllow(ex, source);
      if (!result) {
        ex.record.errorDetail = "rate limit bucket unavailable";
        exchange::errorReply(ex, 500, "Could not insert/update bucket");
        co_return;
      }
      delay = *result;
    } else {
      int64_t now = steadyNanos();
      delay = buckets_.allow(source, now, now / 1000000000);
    }
    if (delay > c_.params.maxDelay) {
      reject(ex, delay);
      co_return;
    }
    if (delay.count() > 0) {
      asio::steady_timer timer(ex.worker.io(), delay);
      co_await timer.async_wait(nothrow);
    }
    co_await next_->handle(ex);
  }

 private:
  void reject(Exchange& ex, limits::Nanos delay) const {
    ex.record.errorDetail = "rate limit exceeded";
    exchange::localReply(ex, 429, http::goStatusText(429));
    ex.response.headers.remove("X-Content-Type-Options");
    double seconds = std::ceil(double(delay.count()) / 1e9);
    ex.response.headers.set("Retry-After", ex.arena.copy(std::to_string(int64_t(seconds))));
    ex.response.headers.set("X-Retry-In", ex.arena.copy(limits::goDurationString(delay)));
  }

  // The delay Redis grants, or nullopt when the bucket could not be read or updated.
  awaitable<std::optional<limits::Nanos>> redisAllow(Exchange& ex, const std::string& source) const {
    if (c_.params.unlimited()) co_return limits::Nanos(0);
    auto client = clients::redis::RedisClient::forWorker(ex.worker.index(), ex.worker.io(), ex.worker.watchdog(), *c_.redis);
    int64_t nowMicros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::vector<std::string> args = scriptArguments(nowMicros);
    clients::redis::resp::Value reply;
    std::string error;
    std::vector<std::string> keys(1, "rate:" + source);
    bool ok = co_await client->runScript(std::string(kScript), c_.scriptSha, std::move(keys),
                                         std::move(args), reply, error);
    if (ok && reply.isError()) {
      error = "redis: " + reply.text;
      ok = false;
    }
    std::optional<bool> allowed;
    double micros = 0;
    if (ok) {
      if (reply.type != clients::redis::resp::Value::Type::Array || reply.items.size() < 2) {
        error = "unexpected reply from the rate limit script";
        ok = false;
      } else {
        allowed = goParseBool(reply.items[0].text);
        const std::string& text = reply.items[1].text;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), micros);
        if (!allowed || ec != std::errc() || end != text.data() + text.size()) {
          error = "parsing the rate limit script's reply";
          ok = false;
        }
      }
    }
    if (!ok) {
      logBucketError(error);
      co_return std::nullopt;
    }
    if (!*allowed) co_return limits::Nanos::max();
    co_return limits::Nanos(int64_t(micros * 1000.0));
  }

  std::vector<std::string> scriptArguments(int64_t nowMicros) const {
    return {goFloat(c_.params.rate / 1000000.0), std::to_string(c_.params.burst),
            std::to_string(c_.params.ttlSeconds), std::to_string(nowMicros),
            std::to_string(c_.params.maxDelay.count() / 1000)};
  }

  void logBucketError(const std::string& error) const {
    log::error("Could not insert/update bucket", {{"middlewareName", name_}, {"error", error}});
  }

  Compiled c_;
  HandlerPtr next_;
  std::string name_;
  mutable limits::BucketTable buckets_;  // per router, shared by every worker (locked inside)
};

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& options = *decoded;
  std::string error;
  auto extractor =
      limits::SourceExtractor::make(options.sourceCriterion, limits::SourceExtractor::Fallback::PeerIp, error);
  if (!extractor) {
    context.error("rateLimit: getting source extractor: " + error);
    return nullptr;
  }
  if (options.period.value.count() < 0) {
    context.error("rateLimit: negative value not valid for period: " + options.period.toString());
    return nullptr;
  }
  Compiled c{limits::rateParameters(options.average, options.period.value, options.burst),
             std::move(*extractor),
             {},
             {}};
  if (options.redis) {
    std::optional<clients::redis::RedisSettings> settings =
        clients::redis::settingsFrom(*options.redis, context.workers(), error);
    if (!settings) {
      context.error("rateLimit: " + error);
      return nullptr;
    }
    c.redis = std::move(*settings);
    c.scriptSha = clients::redis::scriptSha1(kScript);
  }
  return factoryOf<RateLimit>(std::move(c));
}

const exchange::MiddlewareRegistration registration("rateLimit", create, "RateLimiter");

}  // namespace
}  // namespace causeway::middleware
