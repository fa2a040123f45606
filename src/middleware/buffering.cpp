// buffering (Traefik's oxy buffer): reads the whole request before calling the next
// handler and the whole response before answering, each in memory up to mem*BodyBytes and
// in an anonymous temporary file beyond (spill_buffer.h), so memory stays bounded.
//  - request over maxRequestBodyBytes (Content-Length, or counted while reading) → 413
//    "Request Entity Too Large"; the buffered request is forwarded with Content-Length.
//  - response over maxResponseBodyBytes → 500 "Internal Server Error".
//  - retryExpression (Attempts(), ResponseCode(), IsNetworkError() (502 or 504),
//    RequestMethod()): while it holds after an attempt (at most 10 evaluations), the
//    buffered request is sent again and that attempt's response discarded.
//  - disableRequestBuffer / disableResponseBuffer skip one side (both: pass through).
#include <array>

#include "exchange/replies.h"
#include "exchange/spill_buffer.h"
#include "expr/predicate.h"
#include "http/go_text.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

constexpr int64_t kDefaultMemBytes = 1048576;
constexpr int kMaxRetryAttempts = 10;

enum RetryFn { kRequestMethod, kIsNetworkError, kAttempts, kResponseCode };

const std::array<expr::predicate::Function, 4>& retryFunctions() {
  using expr::predicate::Type;
  static const std::array<expr::predicate::Function, 4> fns = {{
      {"RequestMethod", {}, Type::String},
      {"IsNetworkError", {}, Type::Predicate},
      {"Attempts", {}, Type::Int},
      {"ResponseCode", {}, Type::Int},
  }};
  return fns;
}

struct Options {
  int64_t maxRequestBodyBytes = 0;
  int64_t memRequestBodyBytes = kDefaultMemBytes;
  int64_t maxResponseBodyBytes = 0;
  int64_t memResponseBodyBytes = kDefaultMemBytes;
  std::string retryExpression;
  bool disableRequestBuffer = false;
  bool disableResponseBuffer = false;

  static void describe(auto& self, auto& v) {
    v("maxRequestBodyBytes", self.maxRequestBodyBytes);
    v("memRequestBodyBytes", self.memRequestBodyBytes);
    v("maxResponseBodyBytes", self.maxResponseBodyBytes);
    v("memResponseBodyBytes", self.memResponseBodyBytes);
    v("retryExpression", self.retryExpression);
    v("disableRequestBuffer", self.disableRequestBuffer);
    v("disableResponseBuffer", self.disableResponseBuffer);
  }
  void check(MiddlewareBuildContext& context) const {
    if (maxRequestBodyBytes < 0)
      context.error("buffering: max bytes should be >= 0 got " +
                    std::to_string(maxRequestBodyBytes));
    if (memRequestBodyBytes < 0)
      context.error("buffering: mem bytes should be >= 0 got " +
                    std::to_string(memRequestBodyBytes));
    if (maxResponseBodyBytes < 0)
      context.error("buffering: max bytes should be >= 0 got " +
                    std::to_string(maxResponseBodyBytes));
    if (memResponseBodyBytes < 0)
      context.error("buffering: mem bytes should be >= 0 got " +
                    std::to_string(memResponseBodyBytes));
    std::string error;
    if (!retryExpression.empty() && !expr::predicate::parse(retryExpression, retryFunctions(), error))
      context.error("buffering: invalid retryExpression \"" + retryExpression + "\": " + error);
  }
};

// oxy's bufferWriter.expectBody.
bool expectBody(std::string_view method, const exchange::Response& r) {
  if (method == "HEAD") return false;
  if ((r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304) return false;
  if (r.headers.get("Content-Length") == "0") return false;
  if (std::string_view grpc = r.headers.get("Grpc-Status"); !grpc.empty() && grpc != "0")
    return false;
  return true;
}

class Buffering final : public Handler {
 public:
  Buffering(const Options& options, HandlerPtr next, const WrapContext&)
      : o_(options), next_(std::move(next)) {
    std::string error;
    if (!o_.retryExpression.empty())
      retry_ = expr::predicate::parse(o_.retryExpression, retryFunctions(), error);
  }

  awaitable<void> handle(Exchange& ex) const override {
    if (o_.disableRequestBuffer && o_.disableResponseBuffer) {
      co_await next_->handle(ex);
      co_return;
    }
    const exchange::SpillBuffer* request = nullptr;
    bool replayable = true;
    if (!o_.disableRequestBuffer) {
      int status = co_await bufferRequest(ex, request);
      if (status != 0) {
        if (status == 413) ex.record.errorDetail = "request body over limit";
        exchange::bareReply(ex, status, http::goStatusText(status));
        if (status == 500) ex.response.closeConnection = true;
        co_return;
      }
    } else {
      replayable = ex.request.body == nullptr;
    }
    if (o_.disableResponseBuffer) {
      co_await next_->handle(ex);
      co_return;
    }
    int64_t memLimit = o_.memResponseBodyBytes == 0 ? kDefaultMemBytes : o_.memResponseBodyBytes;
    for (int attempt = 1;; ++attempt) {
      co_await next_->handle(ex);
      exchange::Response& r = ex.response;
      if (r.tunnel) co_return;
      exchange::SpillBuffer* response = nullptr;
      bool expect = expectBody(ex.request.method, r);
      if (expect && r.body) {
        response = ex.arena.make<exchange::SpillBuffer>(size_t(memLimit));
        bool tooLarge = false;
        bool broken = false;
        while (!r.body->finished()) {
          exchange::BodyChunk chunk = co_await r.body->read();
          if (chunk.error) {
            broken = true;
            break;
          }
          if (o_.maxResponseBodyBytes > 0 &&
              int64_t(response->size() + chunk.data.size()) > o_.maxResponseBodyBytes) {
            tooLarge = true;
            break;
          }
          if (!response->append(chunk.data)) {
            broken = true;
            break;
          }
          if (chunk.last) break;
        }
        if (tooLarge) {
          ex.record.errorDetail = "response body over limit";
          exchange::bareReply(ex, 500, http::goStatusText(500));
          co_return;
        }
        if (broken) {
          // The upstream body broke after its head: cut the client connection, as Go does.
          r.body = ex.arena.make<exchange::BrokenBody>();
          co_return;
        }
      }
      if (retry_ && attempt <= kMaxRetryAttempts && replayable && shouldRetry(ex, attempt)) {
        ex.response = exchange::Response{};
        ex.record.networkError = false;
        ex.request.body =
            request && request->size() > 0 ? ex.arena.make<exchange::SpillBody>(*request) : nullptr;
        continue;
      }
      if (!expect) {
        r.body = nullptr;
      } else {
        r.body = response ? ex.arena.make<exchange::SpillBody>(*response) : nullptr;
        if (!response) r.headers.set("Content-Length", "0");
      }
      co_return;
    }
  }

 private:
  // Reads the request body into a SpillBuffer. Returns 0, or the status to answer with.
  awaitable<int> bufferRequest(Exchange& ex, const exchange::SpillBuffer*& out) const {
    exchange::BodySource* body = ex.request.body;
    if (!body) co_return 0;
    int64_t max = o_.maxRequestBodyBytes;
    if (max > 0) {
      if (auto length = body->length(); length && int64_t(*length) > max) co_return 413;
    }
    int64_t mem = o_.memRequestBodyBytes == 0 ? kDefaultMemBytes : o_.memRequestBodyBytes;
    if (max > 0 && max < mem) mem = max;
    auto* buffer = ex.arena.make<exchange::SpillBuffer>(size_t(mem));
    while (!body->finished()) {
      exchange::BodyChunk chunk = co_await body->read();
      if (chunk.error) co_return 500;
      if (max > 0 && int64_t(buffer->size() + chunk.data.size()) > max) co_return 413;
      if (!buffer->append(chunk.data)) co_return 500;
      if (chunk.last) break;
    }
    out = buffer;
    ex.request.body = buffer->size() > 0 ? ex.arena.make<exchange::SpillBody>(*buffer) : nullptr;
    // The request now goes upstream with Content-Length.
    ex.request.headers.remove("Transfer-Encoding");
    co_return 0;
  }

  bool shouldRetry(const Exchange& ex, int attempt) const {
    int code = ex.response.status;
    std::string_view method = ex.request.method;
    return retry_->evaluate([&](int function, const std::vector<expr::predicate::Value>&) {
      expr::predicate::Value v;
      switch (function) {
      case kRequestMethod:
        v.type = expr::predicate::Type::String;
        v.s = std::string(method);
        break;
      case kIsNetworkError:
        v.type = expr::predicate::Type::Predicate;
        v.i = code == 502 || code == 504;
        break;
      case kAttempts:
        v.i = attempt;
        break;
      case kResponseCode:
        v.i = code;
        break;
      }
      return v;
    });
  }

  Options o_;
  HandlerPtr next_;
  std::optional<expr::predicate::Expression> retry_;
};

const exchange::MiddlewareRegistration registration("buffering", makeFactory<Options, Buffering>, "Buffer");

}  // namespace
}  // namespace causeway::middleware
