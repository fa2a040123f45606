// stripPrefixRegex: for the first regex whose first match on the decoded path is non-empty
// and starts the path, removes that prefix, adds it to X-Forwarded-Prefix, and answers 400
// "Bad Request" when the stripped path would change under normalization (Traefik v3.7.3).
#include "http/uri.h"
#include "middleware/common.h"
#include "middleware/go_regexp.h"
#include "middleware/go_url.h"
#include "server/local_reply.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::vector<std::string> regex;

  static void describe(auto& self, auto& v) { v("regex", self.regex); }
  void check(MiddlewareBuildContext& context) const {
    for (const auto& r : regex) {
      std::string error;
      if (!GoRegexp::compile(trim(r), error))
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
      expressions_.push_back(GoRegexp::compile(trim(r), error));
    }
  }

  awaitable<void> handle(Exchange& ex) const override {
    auto& r = ex.request;
    std::string decoded;
    if (!expressions_.empty() && gourl::pathUnescape(r.path, decoded)) {
      for (const auto& exp : expressions_) {
        auto match = exp->findString(decoded);
        if (!match || match->empty()) continue;
        std::string prefix(*match);
        if (!std::string_view(decoded).starts_with(prefix)) continue;
        r.headers.add("X-Forwarded-Prefix", ex.arena.copy(prefix));
        std::string_view rest = r.path.substr(gourl::encodedPrefixLen(r.path, prefix));
        std::string normalized = "/";
        if (!rest.empty()) {
          std::string stripped =
              rest.starts_with('/') ? std::string(rest) : "/" + std::string(rest);
          if (!gourl::renormalize(stripped, normalized)) {
            server::errorReply(ex, 400, "Bad Request");
            co_return;
          }
        }
        r.path = ex.arena.copy(normalized);
        r.rawPath = r.path;
        std::string routing;
        r.routingPath = http::routingPath(r.path, routing) ? ex.arena.copy(routing) : r.path;
        break;
      }
    }
    co_await next_->handle(ex);
  }

 private:
  std::vector<std::unique_ptr<GoRegexp>> expressions_;
  HandlerPtr next_;
};

const server::MiddlewareRegistration registration("stripPrefixRegex",
                                                  makeFactory<Options, StripPrefixRegex>);

}  // namespace
}  // namespace causeway::middleware
