// redirectRegex: matches `regex` against the request URL scheme://host[:port]/path?query
// (scheme from the connection: https with TLS; host as the client sent it; the normalized
// path) and, when the replacement (Go's ${1} expansion) gives a different URL, redirects to
// it: 302/307, or 301/308 when `permanent` (the 30x7/30x8 forms for every method but GET).
// A replacement that is not a valid URL → 500; an unchanged URL passes through.
#include "middleware/contract.h"
#include "middleware/redirect/redirect.h"
#include "router/go_regexp.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::string regex;
  std::string replacement;
  bool permanent = false;

  static void describe(auto& self, auto& v) {
    v("regex", self.regex);
    v("replacement", self.replacement);
    v("permanent", self.permanent);
  }
  void check(MiddlewareBuildContext& context) const {
    std::string error;
    if (!router::GoRegexp::compile(regex, error))
      context.error("redirectRegex: error parsing regexp: " + error);
  }
};

class RedirectRegex final : public Handler {
 public:
  RedirectRegex(const Options& options, HandlerPtr next, const WrapContext&)
      : replacement_(options.replacement), permanent_(options.permanent), next_(std::move(next)) {
    std::string error;
    regex_ = router::GoRegexp::compile(options.regex, error);
  }

  awaitable<void> handle(Exchange& ex) const override {
    const auto& r = ex.request;
    std::string oldUrl = ex.connection.tls ? "https://" : "http://";
    oldUrl += r.authority;
    redirect::appendPathAndQuery(oldUrl, r);
    if (!redirect::redirectIfRewritten(ex, *regex_, replacement_, oldUrl, permanent_, "redirectRegex: invalid replacement URL"))
      co_await next_->handle(ex);
  }

 private:
  std::string replacement_;
  bool permanent_;
  std::unique_ptr<router::GoRegexp> regex_;
  HandlerPtr next_;
};

const exchange::MiddlewareRegistration registration("redirectRegex",
                                                  makeFactory<Options, RedirectRegex>);

}  // namespace
}  // namespace causeway::middleware
