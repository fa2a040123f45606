// replacePathRegex: when `regex` matches the escaped path, replaces every match with
// `replacement` (Go's ReplaceAllString: $1, ${1}, ${name}), keeps the previous path in
// X-Replaced-Path, decodes the result as Go's URL.RawPath (500 with Go's error if it does not
// decode) and answers 400 when it would change under normalization (Traefik v3.7.3).
#include "exchange/local_reply.h"
#include "http/go_url.h"
#include "http/uri.h"
#include "middleware/contract.h"
#include "middleware/path/path_rewrite.h"
#include "router/go_regexp.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::string regex;
  std::string replacement;

  static void describe(auto& self, auto& v) {
    v("regex", self.regex);
    v("replacement", self.replacement);
  }
  void check(MiddlewareBuildContext& context) const {
    std::string error;
    if (!router::GoRegexp::compile(trim(regex), error))
      context.error("replacePathRegex: error compiling regular expression " + regex + ": " + error);
  }
};

class ReplacePathRegex final : public Handler {
 public:
  ReplacePathRegex(const Options& options, HandlerPtr next, const WrapContext&)
      : replacement_(trim(options.replacement)), next_(std::move(next)) {
    std::string error;
    regex_ = router::GoRegexp::compile(trim(options.regex), error);
  }

  awaitable<void> handle(Exchange& ex) const override {
    auto& r = ex.request;
    if (regex_->matchString(r.path)) {
      r.headers.add("X-Replaced-Path", r.path);
      std::string raw = regex_->replaceAllString(r.path, replacement_);
      std::string decoded, error;
      if (!http::gourl::pathUnescape(raw, decoded, &error)) {
        exchange::errorReply(ex, 500, error);
        co_return;
      }
      std::string escaped = http::gourl::escapedPath(raw, decoded);
      std::string normalized = "/";
      if (!decoded.empty() && !http::gourl::renormalize(escaped, normalized)) {
        exchange::errorReply(ex, 400, "Bad Request");
        co_return;
      }
      path::setPath(ex, ex.arena.copy(normalized));
    }
    co_await next_->handle(ex);
  }

 private:
  std::string replacement_;
  std::unique_ptr<router::GoRegexp> regex_;
  HandlerPtr next_;
};

const exchange::MiddlewareRegistration registration("replacePathRegex",
                                                  makeFactory<Options, ReplacePathRegex>);

}  // namespace
}  // namespace causeway::middleware
