// replacePath: replaces the path with `path` and keeps the previous (escaped) path in
// X-Replaced-Path. `path` is taken as Go's URL.RawPath: it must decode (else 500 with Go's
// error, as Traefik); like every rewrite, a result that would change under normalization
// (dot or empty segments) is refused with 400 (docs/security.md, T04).
#include "exchange/local_reply.h"
#include "http/go_url.h"
#include "http/uri.h"
#include "middleware/contract.h"
#include "middleware/path/path_rewrite.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::string path;
  static void describe(auto& self, auto& v) { v("path", self.path); }
};

class ReplacePath final : public Handler {
 public:
  ReplacePath(const Options& options, HandlerPtr next, const WrapContext&)
      : path_(options.path), next_(std::move(next)) {
    decodable_ = http::gourl::pathUnescape(path_, decoded_, &error_);
    if (decodable_) {
      escaped_ = http::gourl::escapedPath(path_, decoded_);
      normal_ = escaped_.empty() || http::gourl::renormalize(escaped_, normalized_);
      if (escaped_.empty()) normalized_ = "/";
    }
  }

  awaitable<void> handle(Exchange& ex) const override {
    auto& r = ex.request;
    r.headers.add("X-Replaced-Path", r.path);
    if (!decodable_) {
      exchange::errorReply(ex, 500, error_);
      co_return;
    }
    if (!normal_) {
      exchange::errorReply(ex, 400, "Bad Request");
      co_return;
    }
    path::setPath(ex, normalized_);
    co_await next_->handle(ex);
  }

 private:
  std::string path_;
  std::string decoded_;
  std::string error_;
  std::string escaped_;
  std::string normalized_;
  bool decodable_ = false;
  bool normal_ = false;
  HandlerPtr next_;
};

const exchange::MiddlewareRegistration registration("replacePath", makeFactory<Options, ReplacePath>);

}  // namespace
}  // namespace causeway::middleware
