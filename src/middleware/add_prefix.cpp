// addPrefix: prepends a prefix to the request path.
#include "middleware/common.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::string prefix;

  static void describe(auto& self, auto& v) { v("prefix", self.prefix); }
  void check(MiddlewareBuildContext& context) const {
    if (prefix.empty()) context.error("addPrefix: prefix is required");
  }
};

class AddPrefix final : public Handler {
 public:
  AddPrefix(const Options& options, HandlerPtr next, const WrapContext&)
      : prefix_(options.prefix.starts_with('/') ? options.prefix : "/" + options.prefix),
        next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    auto& r = ex.request;
    r.path = ex.arena.concat({prefix_, r.path});
    r.rawPath = r.path;
    co_await next_->handle(ex);
  }

 private:
  std::string prefix_;
  HandlerPtr next_;
};

const server::MiddlewareRegistration registration("addPrefix", makeFactory<Options, AddPrefix>);

}  // namespace
}  // namespace causeway::middleware
