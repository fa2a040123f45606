// redirectScheme: redirects to the same URL with another scheme (and port), unless the
// request already uses it (TLS, or X-Forwarded-Proto from a trusted peer).
// Status: 302/307 (301/308 when permanent; the 30x7/30x8 forms for non-GET methods).
#include "middleware/common.h"
#include "server/local_reply.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::string scheme;
  std::string port;
  bool permanent = false;

  static void describe(auto& self, auto& v) {
    v("scheme", self.scheme);
    v("port", self.port);
    v("permanent", self.permanent);
  }
  void check(MiddlewareBuildContext& context) const {
    if (scheme.empty()) context.error("redirectScheme: scheme is required");
  }
};

std::string_view hostWithoutPort(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    size_t end = authority.find(']');
    return end == std::string_view::npos ? authority : authority.substr(0, end + 1);
  }
  size_t colon = authority.rfind(':');
  return colon == std::string_view::npos ? authority : authority.substr(0, colon);
}

class RedirectScheme final : public Handler {
 public:
  RedirectScheme(const Options& options, HandlerPtr next, const WrapContext&)
      : options_(options), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    const auto& r = ex.request;
    std::string_view current = ex.connection.tls ? "https" : "http";
    if (std::string_view proto = r.headers.get("X-Forwarded-Proto"); !proto.empty()) current = proto;
    if (iequals(current, options_.scheme)) {
      co_await next_->handle(ex);
      co_return;
    }
    std::string location = options_.scheme + "://" + std::string(hostWithoutPort(r.authority));
    bool defaultPort = options_.port.empty() || (options_.scheme == "https" && options_.port == "443") ||
                       (options_.scheme == "http" && options_.port == "80");
    if (!defaultPort) location += ":" + options_.port;
    location += r.rawPath.empty() ? std::string_view("/") : r.rawPath;
    if (r.hasQuery) {
      location += '?';
      location += r.query;
    }
    bool get = r.method == "GET" || r.method == "HEAD";
    int status = options_.permanent ? (get ? 301 : 308) : (get ? 302 : 307);
    server::localReply(ex, status, server::reasonPhrase(status));
    ex.response.headers.clear();
    ex.response.headers.add("Location", ex.arena.copy(location));
  }

 private:
  Options options_;
  HandlerPtr next_;
};

const server::MiddlewareRegistration registration("redirectScheme", makeFactory<Options, RedirectScheme>);

}  // namespace
}  // namespace causeway::middleware
