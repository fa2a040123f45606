// Token limits of the AI gateway, over what the provider reports for each request
// (exchange/ai_record.h), per source (sourceCriterion, as Traefik's rateLimit; the client IP
// by default):
//   ai-rate-limit   a token bucket per limit: bursts allowed, refilled continuously
//   ai-quota        a sliding window per limit: a hard cap over any `period`
// Options: inputTokens, outputTokens, totalTokens (each a limit per period; 0 = none),
// costUsd with `prices` {model: {input, output}} in USD per million tokens (a "prefix*" key
// prices every model it prefixes), period (default 1m), estimate (refuse a request whose
// estimated input does not fit in what is left), sourceCriterion, and `redis` (Traefik's
// rateLimit block): the budgets then live in Redis, under
// "ai:<kind>:<middleware>:{<source>}:<dimension>", so that every causeway using that Redis
// enforces one budget. Redis's clock is used (TIME), so instances need not agree on theirs;
// when Redis cannot be reached the request is refused with 500, as Traefik's rateLimit does.
// Place it before the protocol middleware (chat-completion, messages-api) on the router. A
// request is let through while every budget has something left; its use is taken when its
// answer ends (a cut stream counts what went out). A refused request gets 429 with
// Retry-After in the client's format (Anthropic when the request carries anthropic-version
// or goes to …/messages, OpenAI otherwise) and never reaches the provider.
#include <array>
#include <charconv>
#include <cmath>
#include <map>
#include <sstream>

#include "clients/redis/redis_client.h"
#include "clients/redis/redis_settings.h"
#include "config/redis_options.h"
#include "core/log.h"
#include "exchange/ai_record.h"
#include "exchange/middleware_options.h"
#include "gateway/ai/client_reply.h"
#include "gateway/ai/wire.h"
#include "limits/source_criterion.h"
#include "limits/token_budget.h"

namespace causeway::gateway::ai {
namespace {

using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

struct Price {
  double input = 0;   // USD per million input tokens
  double output = 0;  // USD per million output tokens
  static void describe(auto& self, auto& v) {
    v("input", self.input);
    v("output", self.output);
  }
};

struct Options {
  int64_t inputTokens = 0;
  int64_t outputTokens = 0;
  int64_t totalTokens = 0;
  double costUsd = 0;
  std::map<std::string, Price> prices;
  config::Duration period = std::chrono::minutes(1);
  bool estimate = false;
  int64_t maxRequestBodySize = 1 << 20;
  std::optional<limits::SourceCriterionOptions> sourceCriterion;
  std::optional<config::RedisOptions> redis;

  static void describe(auto& self, auto& v) {
    v("inputTokens", self.inputTokens);
    v("outputTokens", self.outputTokens);
    v("totalTokens", self.totalTokens);
    v("costUsd", self.costUsd);
    v("prices", self.prices);
    v("period", self.period);
    v("estimate", self.estimate);
    v("maxRequestBodySize", self.maxRequestBodySize);
    v("sourceCriterion", self.sourceCriterion);
    v("redis", self.redis);
  }
};

enum Dimension { kInput, kOutput, kTotal, kCost, kDimensions };
constexpr std::string_view kDimensionNames[kDimensions] = {"input tokens", "output tokens", "total tokens",
                                                           "cost (USD)"};
constexpr std::string_view kDimensionKeys[kDimensions] = {"input", "output", "total", "cost"};

// The budgets in Redis, one hash per (dimension, source) with fields v (Bucket: left; Window:
// used in the current window), p (Window: used in the previous one) and t (Bucket: last refill;
// Window: start of the current window), in microseconds of Redis's clock — the arithmetic of
// limits::TokenBudget. ARGV: kind ("bucket"|"window"), period (µs), mode ("check"|"debit"),
// then for each key its limit and amount (check: what must fit; debit: what was used).
// Returns {index of the first refusing key (0: none), wait in µs}.
constexpr std::string_view kBudgetScript = R"lua(-- Kept two periods, plus the time a bucket in debt needs to climb back to zero.
local function ttl(kind, v, limit, period)
  local micros = 2 * period
  if kind == 'bucket' and v < 0 then micros = micros + (-v) * period / limit end
  return math.ceil(micros / 1000)
end
local kind = ARGV[1]
local period = tonumber(ARGV[2])
local mode = ARGV[3]
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[2 + 2 * i])
  local amount = tonumber(ARGV[3 + 2 * i])
  local s = redis.call('HMGET', key, 'v', 'p', 't')
  local v, p, t
  if s[1] and s[3] then
    v = tonumber(s[1]); p = tonumber(s[2] or '0'); t = tonumber(s[3])
  elseif kind == 'bucket' then
    v = limit; p = 0; t = now
  else
    v = 0; p = 0; t = now - now % period
  end
  if kind == 'bucket' then
    if now > t then v = math.min(limit, v + (now - t) * limit / period); t = now end
  else
    local start = now - now % period
    if start ~= t then
      if start - t == period then p = v else p = 0 end
      v = 0; t = start
    end
  end
  if mode == 'debit' then
    if kind == 'bucket' then v = v - amount else v = v + amount end
  else
    local available
    if kind == 'bucket' then available = v else available = limit - (v + p * (1 - (now - t) / period)) end
    local required = math.max(amount, 1e-9)
    if not (available >= required or (amount <= 0 and available > 0)) then
      local missing = required - available
      local wait
      if kind == 'bucket' then
        wait = math.ceil(missing * period / limit)
      else
        local perMicro = p / period
        local toEnd = t + period - now
        if perMicro > 0 then wait = math.ceil(missing / perMicro) else wait = toEnd end
        wait = math.max(1, math.min(wait, toEnd + period))
      end
      redis.call('HSET', key, 'v', tostring(v), 'p', tostring(p), 't', tostring(t))
      redis.call('PEXPIRE', key, ttl(kind, v, limit, period))
      return {i, tostring(wait)}
    end
  end
  redis.call('HSET', key, 'v', tostring(v), 'p', tostring(p), 't', tostring(t))
  redis.call('PEXPIRE', key, ttl(kind, v, limit, period))
end
return {0, '0'}
)lua";

struct Compiled {
  limits::TokenBudget::Kind kind;
  double limits[kDimensions] = {0, 0, 0, 0};
  std::map<std::string, Price> prices;
  std::chrono::nanoseconds period;
  bool estimate = false;
  int64_t maxRequestBodySize = 0;
  limits::SourceExtractor extractor;
  std::optional<clients::redis::RedisSettings> redis;
  std::string scriptSha;
  std::string keyPrefix;  // "ai:<kind>:<middleware>:"
};

// The in-memory budgets of a middleware, shared by every worker and by every router and
// entryPoint using it. They outlive a reload (limits::TokenBudget::shared, keyed by the
// middleware's name and dimension): a new configuration's handlers get the same budget for a
// dimension whose kind, limit and period did not change (an unrelated change must not refill a
// quota).
struct LocalBudgets {
  std::shared_ptr<limits::TokenBudget> budget[kDimensions];
};

std::shared_ptr<LocalBudgets> sharedLocalBudgets(const std::string& middleware, const Compiled& c) {
  auto made = std::make_shared<LocalBudgets>();
  for (int d = 0; d < kDimensions; ++d)
    if (c.limits[d] > 0)
      made->budget[d] = limits::TokenBudget::shared(middleware + "|" + std::string(kDimensionKeys[d]), c.kind,
                                                    c.limits[d], c.period);
  return made;
}

// A handler's options and its budgets, kept alive by the bodies still streaming when a reload
// replaces the handler.
struct Budgets {
  Budgets(const Compiled& compiled, const std::string& middleware)
      : c(compiled), local(sharedLocalBudgets(middleware, c)) {}
  const Compiled c;
  std::shared_ptr<LocalBudgets> local;
};

const Price* priceOf(const std::map<std::string, Price>& prices, std::string_view model) {
  if (auto it = prices.find(std::string(model)); it != prices.end()) return &it->second;
  const Price* best = nullptr;
  size_t bestLength = 0;
  for (const auto& [key, price] : prices) {
    if (key.empty() || key.back() != '*') continue;
    std::string_view prefix = std::string_view(key).substr(0, key.size() - 1);
    if (model.starts_with(prefix) && prefix.size() >= bestLength) {
      best = &price;
      bestLength = prefix.size();
    }
  }
  return best;
}

// What an exchange used in each dimension; prices it (AiRecord::costUsd) on the way.
std::array<double, kDimensions> usedBy(const Compiled& c, exchange::AiRecord& record) {
  const Price* price = priceOf(c.prices, record.requestModel);
  if (!price && !record.responseModel.empty()) price = priceOf(c.prices, record.responseModel);
  if (price) record.costUsd = (double(record.inputTokens) * price->input + double(record.outputTokens) * price->output) / 1e6;
  return {double(record.inputTokens), double(record.outputTokens), double(record.totalTokens()), record.costUsd};
}

// A configured limit as shown in a refusal: an integer when it is one ("1000"), else as is.
std::string formatLimit(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(int64_t(v));
  std::ostringstream out;
  out << v;
  return out.str();
}

std::string formatAmount(double v) {
  char buffer[40];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v, std::chars_format::fixed, 9);
  return std::string(buffer, ec == std::errc() ? end : buffer);
}

// One run of kBudgetScript over the configured dimensions: {refusing dimension or -1, wait},
// or nullopt when Redis could not be asked.
awaitable<std::optional<std::pair<int, std::chrono::nanoseconds>>> redisBudgets(
    std::shared_ptr<Budgets> budgets, std::string source, std::array<double, kDimensions> amounts, bool debit,
    unsigned workerIndex, asio::io_context& io, io::Watchdog& watchdog) {
  const Compiled& c = budgets->c;
  std::vector<std::string> keys;
  std::vector<int> dimensionOfKey;
  std::vector<std::string> args{c.kind == limits::TokenBudget::Kind::Bucket ? "bucket" : "window",
                                std::to_string(std::max<int64_t>(1, c.period.count() / 1000)),
                                debit ? "debit" : "check"};
  for (int d = 0; d < kDimensions; ++d) {
    if (c.limits[d] <= 0) continue;
    // One hash tag per source: its keys share a slot in a Redis Cluster.
    keys.push_back(c.keyPrefix + "{" + source + "}:" + std::string(kDimensionKeys[d]));
    dimensionOfKey.push_back(d);
    args.push_back(formatAmount(c.limits[d]));
    args.push_back(formatAmount(amounts[d]));
  }
  auto client = clients::redis::RedisClient::forWorker(workerIndex, io, watchdog, *c.redis);
  clients::redis::resp::Value reply;
  std::string error;
  bool ok = co_await client->runScript(std::string(kBudgetScript), c.scriptSha, std::move(keys), std::move(args),
                                       reply, error);
  if (ok && reply.isError()) {
    error = "redis: " + reply.text;
    ok = false;
  }
  if (ok && (reply.type != clients::redis::resp::Value::Type::Array || reply.items.size() < 2)) {
    error = "unexpected reply from the token budget script";
    ok = false;
  }
  if (!ok) {
    log::error("AI token budget: Redis could not be asked", {{"error", error}, {"key", c.keyPrefix}});
    co_return std::nullopt;
  }
  int64_t index = reply.items[0].integer;
  double waitMicros = 0;
  const std::string& text = reply.items[1].text;
  std::from_chars(text.data(), text.data() + text.size(), waitMicros);
  int dimension = index > 0 && size_t(index) <= dimensionOfKey.size() ? dimensionOfKey[size_t(index - 1)] : -1;
  // From Redis: a number of microseconds, clamped (and NaN refused) before the conversion.
  double waitNanos = std::clamp(waitMicros == waitMicros ? waitMicros * 1000 : 0.0, 0.0, 3.1e18);
  co_return std::make_pair(dimension, std::chrono::nanoseconds(int64_t(waitNanos)));
}

// Takes what an exchange used from the budgets: at once in memory, in the background in Redis.
void debit(const std::shared_ptr<Budgets>& budgets, const std::string& source, exchange::AiRecord& record,
           exchange::WorkerContext& worker) {
  // A call that failed before the provider reported anything (its error, a refused
  // translation) used nothing: only the estimate was recorded.
  if (!record.usageKnown && record.outputTokens == 0) return;
  std::array<double, kDimensions> used = usedBy(budgets->c, record);
  if (budgets->c.redis) {
    asio::co_spawn(worker.io(),
                   [](std::shared_ptr<Budgets> b, std::string s, std::array<double, kDimensions> u, unsigned index,
                      asio::io_context& io, io::Watchdog& watchdog) -> awaitable<void> {
                     co_await redisBudgets(std::move(b), std::move(s), u, true, index, io, watchdog);
                   }(budgets, source, used, worker.index(), worker.io(), worker.watchdog()),
                   asio::detached);
    return;
  }
  int64_t now = limits::TokenBudget::nowNanos();
  for (int d = 0; d < kDimensions; ++d)
    if (budgets->local->budget[d]) budgets->local->budget[d]->debit(source, now, used[d]);
}

// The response body, passed on as it is; when it ends (or the client leaves), the tokens the
// exchange used are taken from the budgets.
class DebitAtEnd final : public exchange::BodySource {
 public:
  DebitAtEnd(exchange::BodySource* inner, std::shared_ptr<Budgets> budgets, std::string source,
             exchange::AiRecord& record, exchange::WorkerContext& worker)
      : inner_(inner), budgets_(std::move(budgets)), source_(std::move(source)), record_(record), worker_(worker) {}
  ~DebitAtEnd() override { settle(); }
  awaitable<exchange::BodyChunk> read() override {
    exchange::BodyChunk chunk = co_await inner_->read();
    if (chunk.last || chunk.error) settle();
    co_return chunk;
  }
  std::optional<uint64_t> length() const override { return inner_->length(); }
  const http::Headers* trailers() const override { return inner_->trailers(); }
  bool finished() const override { return inner_->finished(); }

 private:
  void settle() {
    if (settled_) return;
    settled_ = true;
    debit(budgets_, source_, record_, worker_);
  }
  exchange::BodySource* inner_;
  std::shared_ptr<Budgets> budgets_;
  std::string source_;
  exchange::AiRecord& record_;
  exchange::WorkerContext& worker_;
  bool settled_ = false;
};

class TokenLimit final : public Handler {
 public:
  TokenLimit(const Compiled& c, HandlerPtr next, const WrapContext& context)
      : budgets_(std::make_shared<Budgets>(c, std::string(context.middlewareName))), c_(budgets_->c),
        next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    std::string source = c_.extractor.extract(ex);
    double need = 0;
    if (c_.estimate && ex.request.body) {
      // The prompt is read here (bounded) to estimate it, then replayed to the next handler.
      auto* body = ex.arena.make<std::string>();
      exchange::ReadResult read = co_await exchange::readBody(*ex.request.body, *body, c_.maxRequestBodySize);
      ex.request.body = ex.arena.make<exchange::PrefixedBody>(*body, exchange::restOf(ex.arena, read, ex.request.body),
                                                              ex.request.body->length());
      need = double((body->size() + 3) / 4);
    }
    std::array<double, kDimensions> required = {need, 0, need, 0};
    if (c_.redis) {
      auto verdict = co_await redisBudgets(budgets_, source, required, false, ex.worker.index(), ex.worker.io(),
                                           ex.worker.watchdog());
      if (!verdict) co_return unavailable(ex);
      if (verdict->first >= 0)
        co_return refuse(ex, verdict->first, verdict->second, required[verdict->first] > c_.limits[verdict->first]);
    } else {
      int64_t now = limits::TokenBudget::nowNanos();
      for (int d = 0; d < kDimensions; ++d) {
        if (!budgets_->local->budget[d]) continue;
        limits::TokenBudget::Decision decision = budgets_->local->budget[d]->check(source, now, required[d]);
        if (!decision.allowed) co_return refuse(ex, d, decision.retryAfter, required[d] > c_.limits[d]);
      }
    }
    co_await next_->handle(ex);
    exchange::AiRecord* record = ex.record.ai;
    if (!record) co_return;  // not an LLM call (no protocol middleware after this one)
    if (ex.response.body && !record->finished) {
      ex.response.body = ex.arena.make<DebitAtEnd>(ex.response.body, budgets_, std::move(source), *record, ex.worker);
    } else {
      debit(budgets_, source, *record, ex.worker);
    }
  }

 private:
  std::string_view refuser() const {
    return c_.kind == limits::TokenBudget::Kind::Bucket ? "ai-rate-limit" : "ai-quota";
  }

  void unavailable(Exchange& ex) const {
    ex.record.errorDetail = "token budget store unavailable";
    jsonReply(ex, 500, errorBody(clientWireOf(ex), 500, "the token budget could not be checked"));
  }

  void refuse(Exchange& ex, int dimension, std::chrono::nanoseconds retryAfter, bool neverFits) const {
    if (neverFits) {
      // Waiting would not help: the estimated prompt alone is over the limit.
      std::string message = "the request's estimated " + std::string(kDimensionNames[dimension]) +
                            " are over the limit of " + formatLimit(c_.limits[dimension]);
      ex.record.errorDetail = ex.arena.copy(message);
      noteRefusal(ex, refuser());
      jsonReply(ex, 413, errorBody(clientWireOf(ex), 413, message));
      return;
    }
    std::string message = "token limit reached: " + std::string(kDimensionNames[dimension]) +
                          " budget exhausted; retry later";
    ex.record.errorDetail = ex.arena.copy(message);
    noteRefusal(ex, refuser());
    jsonReply(ex, 429, errorBody(clientWireOf(ex), 429, message));
    int64_t seconds = std::max<int64_t>(1, int64_t(std::ceil(double(retryAfter.count()) / 1e9)));
    ex.response.headers.add("Retry-After", ex.arena.copy(std::to_string(seconds)));
  }

  std::shared_ptr<Budgets> budgets_;
  const Compiled& c_;  // budgets_->c
  HandlerPtr next_;
};

template <limits::TokenBudget::Kind kind>
MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> o = exchange::decodeOptions<Options>(node, context);
  if (!o) return nullptr;
  if (o->inputTokens < 0 || o->outputTokens < 0 || o->totalTokens < 0 || o->costUsd < 0) {
    context.error("limits must be >= 0");
    return nullptr;
  }
  if (o->inputTokens == 0 && o->outputTokens == 0 && o->totalTokens == 0 && o->costUsd == 0) {
    context.error("expected at least one limit: inputTokens, outputTokens, totalTokens or costUsd");
    return nullptr;
  }
  if (o->costUsd > 0 && o->prices.empty()) {
    context.error("costUsd: needs prices ({model: {input, output}} in USD per million tokens)");
    return nullptr;
  }
  if (o->maxRequestBodySize <= 0) {
    context.error("maxRequestBodySize: must be > 0");
    return nullptr;
  }
  if (o->period.value.count() <= 0) {
    context.error("period: must be > 0");
    return nullptr;
  }
  std::string error;
  auto extractor = limits::SourceExtractor::make(o->sourceCriterion, limits::SourceExtractor::Fallback::PeerIp, error);
  if (!extractor) {
    context.error("sourceCriterion: " + error);
    return nullptr;
  }
  Compiled c{kind, {double(o->inputTokens), double(o->outputTokens), double(o->totalTokens), o->costUsd},
             o->prices, o->period.value, o->estimate, o->maxRequestBodySize, std::move(*extractor), std::nullopt, {}, {}};
  if (o->redis) {
    c.redis = clients::redis::settingsFrom(*o->redis, context.workers(), error);
    if (!c.redis) {
      context.error(error);
      return nullptr;
    }
    c.scriptSha = clients::redis::scriptSha1(kBudgetScript);
    c.keyPrefix = std::string("ai:") + (kind == limits::TokenBudget::Kind::Bucket ? "bucket:" : "window:") +
                  context.name() + ":";
  }
  return exchange::factoryOf<TokenLimit>(std::move(c));
}

const exchange::MiddlewareRegistration kRateLimit("ai-rate-limit", create<limits::TokenBudget::Kind::Bucket>,
                                                  "AIRateLimit");
const exchange::MiddlewareRegistration kQuota("ai-quota", create<limits::TokenBudget::Kind::Window>, "AIQuota");

}  // namespace
}  // namespace causeway::gateway::ai
