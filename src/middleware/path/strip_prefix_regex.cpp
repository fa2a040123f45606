// stripPrefixRegex: for the first regex whose first match on the decoded path is non-empty
// and starts the path, removes that prefix, adds it to X-Forwarded-Prefix, and answers 400
// "Bad Request" when the stripped path would change under normalization (Traefik v3.7.3).
#include "exchange/local_reply.h"
#include "http/go_url.h"
#include "http/uri.h"
#include "middleware/contract.h"
#include "middleware/path/path_rewrite.h"
#include "router/go_regexp.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::vector<std::string> regex;

  static void describe(auto& self, auto& v) { v("regex", self.regex); }
  void check(MiddlewareBuildContext& context) const {
    for (const auto& r : regex) {
      std::string error;
      if (!router::GoRegexp::compile(trim(r), error))
        context.error("stripPrefixRegex: error parsing regexp " + r + ": " + error);
    }
  }
};

class StripPrefixRegex final : public Handler {
 public:
  StripPrefixRegex(const Options& options, HandlerPtr next, const WrapContext&)
      : next_(std::move(next)) {
    for (const auto& r : options.regex) {
      std::string error;
      expressions_.push_back(router::GoRegexp::compile(trim(r), error));
    }
  }

  awaitable<void> handle(Exchange& ex) const override {
    auto& r = ex.request;
    std::string decoded;
    if (!expressions_.empty() && http::gourl::pathUnescape(r.path, decoded)) {
      for (const auto& exp : expressions_) {
        auto match = exp->findString(decoded);
        if (!match || match->empty()) continue;
        std::string prefix(*match);
        if (!std::string_view(decoded).starts_with(prefix)) continue;
        r.headers.add("X-Forwarded-Prefix", ex.arena.copy(prefix));
        if (!path::stripDecodedPrefix(ex, prefix)) co_return;
        break;
      }
    }
    co_await next_->handle(ex);
  }

 private:
  std::vector<std::unique_ptr<router::GoRegexp>> expressions_;
  HandlerPtr next_;
};

const exchange::MiddlewareRegistration registration("stripPrefixRegex",
                                                  makeFactory<Options, StripPrefixRegex>);

}  // namespace
}  // namespace causeway::middleware
