// retry: sends the request again, up to `attempts` times in all, when
//  - the proxy reached a server but could not write the request to it (dial failure:
//    ex.record.networkError, set by the load balancer), unless disableRetryOnNetworkError;
//    any method; the body must still be untouched (it is, when the dial failed);
//  - or the status is in `status` (v3.7), for idempotent methods (POST, PATCH and LOCK only
//    with retryNonIdempotentMethod) whose body fits in maxRequestBodyBytes (2 MiB; -1 =
//    unlimited): that body is kept in memory and replayed.
// The last attempt's answer, an answer after `timeout`, and answers produced before the
// proxy (no networkError) go to the client. Waits follow backoff.h. Every retry goes to the
// next server the load balancer picks. ex.record.retryAttempts counts the retries.
#include <chrono>
#include <random>

#include "core/log.h"
#include "exchange/local_reply.h"
#include "exchange/middleware_span.h"
#include "exchange/replies.h"
#include "http/go_text.h"
#include "http/status_ranges.h"
#include "middleware/contract.h"
#include "middleware/retry/backoff.h"

namespace causeway::middleware {
namespace {

constexpr int64_t kDefaultMaxRequestBodyBytes = 2 * 1024 * 1024;
constexpr size_t kDrainLimit = 256 * 1024;

struct Options {
  int attempts = 0;
  config::Duration timeout;
  config::Duration initialInterval;
  int64_t maxRequestBodyBytes = kDefaultMaxRequestBodyBytes;
  std::vector<std::string> status;
  bool disableRetryOnNetworkError = false;
  bool retryNonIdempotentMethod = false;

  static void describe(auto& self, auto& v) {
    v("attempts", self.attempts);
    v("timeout", self.timeout);
    v("initialInterval", self.initialInterval);
    v("maxRequestBodyBytes", self.maxRequestBodyBytes);
    v("status", self.status);
    v("disableRetryOnNetworkError", self.disableRetryOnNetworkError);
    v("retryNonIdempotentMethod", self.retryNonIdempotentMethod);
  }
  void check(MiddlewareBuildContext& context) const {
    if (status.empty() && disableRetryOnNetworkError)
      context.error("retry: retry middleware requires at least HTTP status codes or retry on TCP");
    if (attempts <= 0)
      context.error("retry: incorrect (or empty) value for attempt (" + std::to_string(attempts) +
                    ")");
    std::string error;
    if (!http::parseStatusRanges(status, error))
      context.error("retry: creating HTTP code ranges: " + error);
  }
};

// The client's body, read at most once; remembers whether anything asked for it, so a
// network-error retry never resends a body that was partly consumed.
class OnceBody final : public exchange::BodySource {
 public:
  explicit OnceBody(exchange::BodySource* inner) : inner_(inner) {}
  awaitable<exchange::BodyChunk> read() override {
    touched_ = true;
    co_return co_await inner_->read();
  }
  std::optional<uint64_t> length() const override { return inner_->length(); }
  const http::Headers* trailers() const override { return inner_->trailers(); }
  bool finished() const override { return inner_->finished(); }
  bool touched() const { return touched_; }

 private:
  exchange::BodySource* inner_;
  bool touched_ = false;
};

double randomUnit() {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(engine);
}

class Retry final : public Handler {
 public:
  Retry(const Options& options, HandlerPtr next, const WrapContext& context)
      : o_(options), next_(std::move(next)), name_(context.middlewareName) {
    std::string error;
    ranges_ = *http::parseStatusRanges(options.status, error);
  }

  awaitable<void> handle(Exchange& ex) const override {
    if (o_.attempts == 1) {
      const int span = exchange::openMiddlewareSpan(ex, name_, "Retry");
      co_await next_->handle(ex);
      exchange::closeMiddlewareSpan(ex, span);
      co_return;
    }
    std::string_view method = ex.request.method;
    bool idempotent = method != "POST" && method != "PATCH" && method != "LOCK";
    const http::StatusRanges* statusCodes =
        (o_.retryNonIdempotentMethod || idempotent) && !ranges_.empty() ? &ranges_ : nullptr;

    // The body: kept in memory for status retries when it fits, else read once.
    std::string_view replay;
    bool replayable = ex.request.body == nullptr;
    OnceBody* once = nullptr;
    if (ex.request.body && statusCodes) {
      auto* kept = ex.arena.make<std::string>();
      bool tooLarge = false;
      exchange::BodySource* body = ex.request.body;
      while (!body->finished()) {
        exchange::BodyChunk chunk = co_await body->read();
        if (chunk.error) {
          log::debug("retry: error while reading the request body", {{"middleware", name_}});
          exchange::errorReply(ex, 500, http::goStatusText(500));
          ex.response.closeConnection = true;
          co_return;
        }
        kept->append(chunk.data);
        if (o_.maxRequestBodyBytes >= 0 && int64_t(kept->size()) > o_.maxRequestBodyBytes) {
          // Too large to replay: no status retry; the body goes on as peeked + rest.
          tooLarge = true;
          statusCodes = nullptr;
          once = ex.arena.make<OnceBody>(
              ex.arena.make<exchange::PrefixedBody>(*kept, body, body->length()));
          break;
        }
        if (chunk.last) break;
      }
      if (!tooLarge) {
        replay = *kept;
        replayable = true;
      }
    } else if (ex.request.body) {
      once = ex.arena.make<OnceBody>(ex.request.body);
    }
    bool hadBody = ex.request.body != nullptr;

    auto start = std::chrono::steady_clock::now();
    ExponentialBackoff backoff(o_.initialInterval.value, o_.attempts, randomUnit);
    for (int attempt = 1;; ++attempt) {
      if (hadBody) {
        if (replayable)
          ex.request.body = ex.arena.make<exchange::MemoryBody>(replay);
        else if (ex.limits.bodyPrefetched)  // read whole before the first attempt's upstream
          ex.request.body = ex.arena.make<exchange::MemoryBody>(ex.limits.prefetchedBody);
        else
          ex.request.body = once;
      }
      ex.record.networkError = false;
      // Detailed traces: a Retry span per attempt, as in Traefik.
      const int span = exchange::openMiddlewareSpan(ex, name_, "Retry", uint16_t(attempt - 1));
      co_await next_->handle(ex);
      exchange::closeMiddlewareSpan(ex, span);
      if (attempt >= o_.attempts) co_return;
      exchange::Response& r = ex.response;
      if (r.tunnel) co_return;
      bool timedOut = o_.timeout.value.count() > 0 &&
                      std::chrono::steady_clock::now() - start >= o_.timeout.value;
      if (timedOut) co_return;
      bool again = false;
      if (!o_.disableRetryOnNetworkError && ex.record.networkError &&
          (replayable || !once || !once->touched() ||
           // read whole before the upstream, and the upstream got none of it (a dial failure)
           (ex.limits.bodyPrefetched && ex.request.body && !ex.request.body->finished()))) {
        again = true;
      } else if (statusCodes && statusCodes->contains(r.status)) {
        again = true;
      }
      if (!again) co_return;

      co_await exchange::drainBody(r.body, kDrainLimit);
      ex.response = exchange::Response{};
      ex.record.retryAttempts = attempt;
      log::debug("retry: new attempt", {{"middleware", name_}, {"attempt", attempt + 1}});
      auto wait = backoff.next();
      if (wait.count() > 0) {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_after(wait);
        co_await timer.async_wait(nothrow);
      }
    }
  }

 private:
  Options o_;
  HandlerPtr next_;
  std::string name_;
  http::StatusRanges ranges_;
};

const exchange::MiddlewareRegistration registration("retry", makeFactory<Options, Retry>, "Retry", /*ownSpans=*/true);

}  // namespace
}  // namespace causeway::middleware
