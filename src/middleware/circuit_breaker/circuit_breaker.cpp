// circuitBreaker: stops calling the next handler while an expression over recent
// statistics holds (see cb_state.h for the states), answering with `responseCode` and its
// status text as body (Traefik's fallback: no Content-Type).
//
// A request's latency is measured until its response body has been sent (Go's ServeHTTP
// returns when the body is copied), so the statistics are recorded when the body ends.
#include <chrono>

#include "core/log.h"
#include "exchange/replies.h"
#include "http/go_text.h"
#include "middleware/circuit_breaker/state.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::string expression;
  config::Duration checkPeriod = std::chrono::milliseconds(100);
  config::Duration fallbackDuration = std::chrono::seconds(10);
  config::Duration recoveryDuration = std::chrono::seconds(10);
  int responseCode = 503;

  static void describe(auto& self, auto& v) {
    v("expression", self.expression);
    v("checkPeriod", self.checkPeriod);
    v("fallbackDuration", self.fallbackDuration);
    v("recoveryDuration", self.recoveryDuration);
    v("responseCode", self.responseCode);
  }
  void check(MiddlewareBuildContext& context) const {
    std::string error;
    if (!cb::compileExpression(expression, error))
      context.error("circuitBreaker: invalid expression \"" + expression + "\": " + error);
    if (responseCode < 100 || responseCode > 999)
      context.error("circuitBreaker: invalid responseCode " + std::to_string(responseCode));
  }
};

cb::Nanos steadyNow() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Records the exchange in the breaker once the response body has ended (or was dropped).
class RecordingBody final : public exchange::BodySource {
 public:
  RecordingBody(std::shared_ptr<cb::Breaker> breaker, exchange::BodySource* inner, int status,
                cb::Nanos start)
      : breaker_(std::move(breaker)), inner_(inner), status_(status), start_(start) {}
  ~RecordingBody() override { finish(); }

  awaitable<exchange::BodyChunk> read() override {
    exchange::BodyChunk chunk = co_await inner_->read();
    if (chunk.last || chunk.error) finish();
    co_return chunk;
  }
  std::optional<uint64_t> length() const override { return inner_->length(); }
  const http::Headers* trailers() const override { return inner_->trailers(); }
  bool finished() const override { return inner_->finished(); }

 private:
  void finish() {
    if (done_) return;
    done_ = true;
    breaker_->record(status_, steadyNow() - start_);
  }

  std::shared_ptr<cb::Breaker> breaker_;
  exchange::BodySource* inner_;
  int status_;
  cb::Nanos start_;
  bool done_ = false;
};

cb::Nanos nanos(const config::Duration& d, cb::Nanos fallback) {
  return d.value.count() > 0 ? cb::Nanos(d.value.count()) : fallback;
}

class CircuitBreaker final : public Handler {
 public:
  CircuitBreaker(const Options& options, HandlerPtr next, const WrapContext& context)
      : next_(std::move(next)), responseCode_(options.responseCode),
        expression_(options.expression) {
    std::string error;
    auto condition = cb::compileExpression(options.expression, error);
    cb::Settings settings;
    settings.checkPeriod = nanos(options.checkPeriod, settings.checkPeriod);
    settings.fallbackDuration = nanos(options.fallbackDuration, settings.fallbackDuration);
    settings.recoveryDuration = nanos(options.recoveryDuration, settings.recoveryDuration);
    breaker_ = std::make_shared<cb::Breaker>(std::move(*condition), settings, steadyNow);
    router_ = std::string(context.routerName);
  }

  awaitable<void> handle(Exchange& ex) const override {
    if (!breaker_->allowRequest()) {
      log::debug("blocked by circuit-breaker", {{"router", router_}, {"expression", expression_}});
      ex.record.errorDetail = "blocked by circuit-breaker";
      exchange::bareReply(ex, responseCode_, http::goStatusText(responseCode_));
      co_return;
    }
    cb::Nanos start = steadyNow();
    co_await next_->handle(ex);
    int status = ex.response.status == 0 ? 200 : ex.response.status;
    if (ex.response.body && !ex.response.tunnel) {
      ex.response.body = ex.arena.make<RecordingBody>(breaker_, ex.response.body, status, start);
    } else {
      breaker_->record(status, steadyNow() - start);
    }
  }

 private:
  HandlerPtr next_;
  int responseCode_;
  std::string expression_;
  std::string router_;
  std::shared_ptr<cb::Breaker> breaker_;
};

const exchange::MiddlewareRegistration registration("circuitBreaker",
                                                  makeFactory<Options, CircuitBreaker>);

}  // namespace
}  // namespace causeway::middleware
