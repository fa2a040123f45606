// contentType: when the response has no Content-Type, sets one by sniffing the body's first
// bytes as Go's server does (http.DetectContentType), which Traefik v3 only does behind this
// middleware. Like Go: not for 1xx/204/304, not when Content-Encoding is set, not for an
// empty body. The deprecated `autoDetect: false` turns the middleware into a no-op.
#include "core/log.h"
#include "http/sniff.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::optional<bool> autoDetect;
  static void describe(auto& self, auto& v) { v("autoDetect", self.autoDetect); }
};

// Replays the piece read for sniffing, then reads on from the original body.
class ReplayFirstPiece final : public exchange::BodySource {
 public:
  ReplayFirstPiece(exchange::BodySource& inner, exchange::BodyChunk first)
      : inner_(inner), first_(first) {}
  awaitable<exchange::BodyChunk> read() override {
    if (pending_) {
      pending_ = false;
      co_return first_;
    }
    co_return co_await inner_.read();
  }
  std::optional<uint64_t> length() const override { return inner_.length(); }
  const http::Headers* trailers() const override { return inner_.trailers(); }
  bool finished() const override { return !pending_ && inner_.finished(); }

 private:
  exchange::BodySource& inner_;
  exchange::BodyChunk first_;
  bool pending_ = true;
};

class ContentType final : public Handler {
 public:
  ContentType(const Options&, HandlerPtr next, const WrapContext&) : next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    co_await next_->handle(ex);
    auto& r = ex.response;
    if (r.status < 200 || r.status == 204 || r.status == 304 || !r.body || r.tunnel) co_return;
    if (r.headers.has("Content-Type") || !r.headers.get("Content-Encoding").empty()) co_return;
    exchange::BodyChunk first;
    do {
      first = co_await r.body->read();
    } while (first.data.empty() && !first.last && !first.error);
    if (!first.error && !first.data.empty())
      r.headers.add("Content-Type", http::detectContentType(first.data));
    r.body = ex.arena.make<ReplayFirstPiece>(*r.body, first);
  }

 private:
  HandlerPtr next_;
};

class Factory final : public exchange::MiddlewareFactory {
 public:
  explicit Factory(bool enabled) : enabled_(enabled) {}
  HandlerPtr wrap(HandlerPtr next, const WrapContext& context) const override {
    if (!enabled_) return next;  // autoDetect: false keeps Traefik's default (no sniffing)
    return std::make_shared<ContentType>(Options{}, std::move(next), context);
  }

 private:
  bool enabled_;
};

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& options = *decoded;
  if (options.autoDetect)
    log::warn("AutoDetect option is deprecated, Content-Type middleware is only meant to be used "
              "to enable the "
              "content-type detection, please remove any usage of this option.",
              {{"middlewareName", context.name()}});
  return std::make_shared<Factory>(options.autoDetect.value_or(true));
}

const exchange::MiddlewareRegistration registration("contentType", create);

}  // namespace
}  // namespace causeway::middleware
