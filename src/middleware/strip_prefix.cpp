// stripPrefix: removes the first matching prefix from the path, records it in
// X-Forwarded-Prefix, and answers 400 when the stripped path would change under
// normalization (Traefik v3.7.3, CVE-2026-48020: no `..` smuggled past routing).
#include "http/uri.h"
#include "middleware/common.h"
#include "server/local_reply.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::vector<std::string> prefixes;
  bool forceSlash = true;  // deprecated in Traefik; accepted

  static void describe(auto& self, auto& v) {
    v("prefixes", self.prefixes);
    v("forceSlash", self.forceSlash);
  }
};

class StripPrefix final : public Handler {
 public:
  StripPrefix(const Options& options, HandlerPtr next, const WrapContext&)
      : options_(options), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    auto& r = ex.request;
    for (const auto& prefix : options_.prefixes) {
      if (!r.path.starts_with(prefix)) continue;
      std::string_view rest = r.path.substr(prefix.size());
      std::string_view stripped = rest.starts_with('/') ? rest : ex.arena.concat({"/", rest});
      std::string normalized;
      if (!http::normalizePath(stripped, true, normalized) || normalized != stripped) {
        server::errorReply(ex, 400, "Bad Request");
        co_return;
      }
      r.path = stripped;
      r.rawPath = stripped;
      r.headers.add("X-Forwarded-Prefix", ex.arena.copy(prefix));
      break;
    }
    co_await next_->handle(ex);
  }

 private:
  Options options_;
  HandlerPtr next_;
};

const server::MiddlewareRegistration registration("stripPrefix", makeFactory<Options, StripPrefix>);

}  // namespace
}  // namespace causeway::middleware
