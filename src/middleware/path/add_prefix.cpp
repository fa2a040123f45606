// addPrefix: prepends `prefix` to the path (a leading '/' is added when the prefix has
// none). As in Traefik the prefix is taken as decoded text (Go's URL.Path), so characters
// that cannot stay raw in a path (and '%') are percent-encoded. The request path was
// normalized before routing and the prefix is configuration, so nothing is re-checked.
#include "http/go_url.h"
#include "http/uri.h"
#include "middleware/contract.h"
#include "middleware/path/path_rewrite.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::string prefix;

  static void describe(auto& self, auto& v) { v("prefix", self.prefix); }
  void check(MiddlewareBuildContext& context) const {
    if (prefix.empty()) context.error("addPrefix: prefix cannot be empty");
  }
};

class AddPrefix final : public Handler {
 public:
  AddPrefix(const Options& options, HandlerPtr next, const WrapContext&)
      : prefix_(http::gourl::escapedPath(options.prefix, options.prefix)), next_(std::move(next)) {
    if (!prefix_.starts_with('/')) prefix_.insert(0, "/");
  }

  awaitable<void> handle(Exchange& ex) const override {
    auto& r = ex.request;
    path::setPath(ex, ex.arena.concat({prefix_, r.path.empty() ? std::string_view("/") : r.path}));
    co_await next_->handle(ex);
  }

 private:
  std::string prefix_;
  HandlerPtr next_;
};

const exchange::MiddlewareRegistration registration("addPrefix", makeFactory<Options, AddPrefix>);

}  // namespace
}  // namespace causeway::middleware
