// Token limits of the AI gateway, over what the provider reports for each request
// (exchange/ai_record.h), per source (sourceCriterion, as Traefik's rateLimit; the client IP
// by default):
//   ai-rate-limit   a token bucket per limit: bursts allowed, refilled continuously
//   ai-quota        a sliding window per limit: a hard cap over any `period`
// Options: inputTokens, outputTokens, totalTokens (each a limit per period; 0 = none),
// costUsd with `prices` {model: {input, output}} in USD per million tokens (a "prefix*" key
// prices every model it prefixes), period (default 1m), estimate (refuse a request whose
// estimated input does not fit in what is left), sourceCriterion.
// Place it before the protocol middleware (chat-completion, messages-api) on the router. A
// request is let through while every budget has something left; its use is taken when its
// answer ends (a cut stream counts what went out). A refused request gets 429 with
// Retry-After in the client's format (Anthropic when the request carries anthropic-version
// or goes to …/messages, OpenAI otherwise) and never reaches the provider.
#include <cmath>

#include "exchange/ai_record.h"
#include "exchange/middleware_options.h"
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
  }
};

enum Dimension { kInput, kOutput, kTotal, kCost, kDimensions };
constexpr std::string_view kDimensionNames[kDimensions] = {"input tokens", "output tokens", "total tokens",
                                                           "cost (USD)"};

struct Compiled {
  limits::TokenBudget::Kind kind;
  double limits[kDimensions] = {0, 0, 0, 0};
  std::map<std::string, Price> prices;
  std::chrono::nanoseconds period;
  bool estimate = false;
  int64_t maxRequestBodySize = 0;
  limits::SourceExtractor extractor;
};

// The budgets of one router's middleware, shared by every worker, kept alive by the bodies
// still streaming when a reload replaces the handler.
struct Budgets {
  explicit Budgets(const Compiled& compiled) : c(compiled) {
    for (int d = 0; d < kDimensions; ++d)
      if (c.limits[d] > 0) budget[d] = std::make_unique<limits::TokenBudget>(c.kind, c.limits[d], c.period);
  }
  const Compiled c;
  std::unique_ptr<limits::TokenBudget> budget[kDimensions];
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

int64_t steadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void debit(Budgets& budgets, const std::string& source, exchange::AiRecord& record) {
  const Compiled& c = budgets.c;
  const Price* price = priceOf(c.prices, record.requestModel);
  if (!price && !record.responseModel.empty()) price = priceOf(c.prices, record.responseModel);
  if (price) record.costUsd = (double(record.inputTokens) * price->input + double(record.outputTokens) * price->output) / 1e6;
  double used[kDimensions] = {double(record.inputTokens), double(record.outputTokens), double(record.totalTokens()),
                              record.costUsd};
  int64_t now = steadyNanos();
  for (int d = 0; d < kDimensions; ++d)
    if (budgets.budget[d]) budgets.budget[d]->debit(source, now, used[d]);
}

// The response body, passed on as it is; when it ends (or the client leaves), the tokens the
// exchange used are taken from the budgets.
class DebitAtEnd final : public exchange::BodySource {
 public:
  DebitAtEnd(exchange::BodySource* inner, std::shared_ptr<Budgets> budgets, std::string source,
             exchange::AiRecord& record)
      : inner_(inner), budgets_(std::move(budgets)), source_(std::move(source)), record_(record) {}
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
    debit(*budgets_, source_, record_);
  }
  exchange::BodySource* inner_;
  std::shared_ptr<Budgets> budgets_;
  std::string source_;
  exchange::AiRecord& record_;
  bool settled_ = false;
};

class TokenLimit final : public Handler {
 public:
  TokenLimit(const Compiled& c, HandlerPtr next, const WrapContext&)
      : budgets_(std::make_shared<Budgets>(c)), c_(budgets_->c), next_(std::move(next)) {}

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
    int64_t now = steadyNanos();
    for (int d = 0; d < kDimensions; ++d) {
      if (!budgets_->budget[d]) continue;
      double required = d == kInput || d == kTotal ? need : 0;
      limits::TokenBudget::Decision decision = budgets_->budget[d]->check(source, now, required);
      if (!decision.allowed) co_return refuse(ex, d, decision.retryAfter, required > 0 && required > c_.limits[d]);
    }
    co_await next_->handle(ex);
    exchange::AiRecord* record = ex.record.ai;
    if (!record) co_return;  // not an LLM call (no protocol middleware after this one)
    if (ex.response.body && !record->finished) {
      ex.response.body = ex.arena.make<DebitAtEnd>(ex.response.body, budgets_, std::move(source), *record);
    } else {
      debit(*budgets_, source, *record);
    }
  }

 private:
  void refuse(Exchange& ex, int dimension, std::chrono::nanoseconds retryAfter, bool neverFits) const {
    Wire wire = ex.request.headers.has("anthropic-version") || ex.request.path.ends_with("/messages")
                    ? Wire::AnthropicMessages
                    : Wire::OpenAIChat;
    std::string message = neverFits ? "the request is larger than the " + std::string(kDimensionNames[dimension]) +
                                          " limit of " + std::to_string(int64_t(c_.limits[dimension]))
                                    : "token limit reached: " + std::string(kDimensionNames[dimension]) +
                                          " budget exhausted; retry later";
    ex.record.errorDetail = ex.arena.copy(message);
    exchange::Response& r = ex.response;
    r.status = 429;
    r.reason = {};
    r.headers.clear();
    r.headers.add("Content-Type", kJsonType);
    int64_t seconds = std::max<int64_t>(1, int64_t(std::ceil(double(retryAfter.count()) / 1e9)));
    r.headers.add("Retry-After", ex.arena.copy(std::to_string(seconds)));
    r.body = ex.arena.make<exchange::OwnedBody>(errorBody(wire, 429, message));
    r.tunnel = nullptr;
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
             o->prices, o->period.value, o->estimate, o->maxRequestBodySize, std::move(*extractor)};
  return exchange::factoryOf<TokenLimit>(std::move(c));
}

const exchange::MiddlewareRegistration kRateLimit("ai-rate-limit", create<limits::TokenBudget::Kind::Bucket>,
                                                  "AIRateLimit");
const exchange::MiddlewareRegistration kQuota("ai-quota", create<limits::TokenBudget::Kind::Window>, "AIQuota");

}  // namespace
}  // namespace causeway::gateway::ai
