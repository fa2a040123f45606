// stripPrefix: removes the first configured prefix the (decoded) path starts with, adds it
// to X-Forwarded-Prefix, and answers 400 "Bad Request" when the stripped path would change
// under normalization (Traefik v3.7.3, CVE-2026-48020: no `..` smuggled past routing).
// Prefixes are compared with the decoded path (Go's URL.Path) and cut from the escaped path
// as many decoded bytes as the prefix holds, as Traefik does. `forceSlash` is deprecated
// and has no visible effect (an empty result is forwarded as "/").
#include "exchange/local_reply.h"
#include "http/go_url.h"
#include "http/uri.h"
#include "middleware/contract.h"
#include "middleware/path/path_rewrite.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::vector<std::string> prefixes;
  std::optional<bool> forceSlash;  // deprecated

  static void describe(auto& self, auto& v) {
    v("prefixes", self.prefixes);
    v("forceSlash", self.forceSlash);
  }
};

std::vector<std::string> trimmed(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& p : in)
    out.emplace_back(trim(p));
  return out;
}

class StripPrefix final : public Handler {
 public:
  StripPrefix(const Options& options, HandlerPtr next, const WrapContext&)
      : prefixes_(trimmed(options.prefixes)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    auto& r = ex.request;
    std::string decoded;
    if (!prefixes_.empty() && http::gourl::pathUnescape(r.path, decoded)) {
      for (const auto& prefix : prefixes_) {
        if (!std::string_view(decoded).starts_with(prefix)) continue;
        if (!path::stripDecodedPrefix(ex, prefix)) co_return;
        r.headers.add("X-Forwarded-Prefix", ex.arena.copy(prefix));
        break;
      }
    }
    co_await next_->handle(ex);
  }

 private:
  std::vector<std::string> prefixes_;
  HandlerPtr next_;
};

const exchange::MiddlewareRegistration registration("stripPrefix", makeFactory<Options, StripPrefix>);

}  // namespace
}  // namespace causeway::middleware
