// redirectScheme: redirects to the same URL with another scheme (and port) unless that
// changes nothing. As Traefik: the client URL is rebuilt from the Host field (port kept
// unless it is the default of the current scheme), the current scheme is https with TLS and
// X-Forwarded-Proto (http/ws, https/wss) overrides it; the new URL is that URL rewritten by
// `^(https?://)?(host)?(:port)?(rest)$` → `<scheme>://${2}<:port>${4}`, the port being
// omitted when it is the default of the target scheme. Same URL → pass through.
// Status: 302/307 (301/308 when permanent; the 30x7/30x8 forms for every method but GET).
#include "middleware/contract.h"
#include "middleware/redirect/redirect.h"
#include "router/go_regexp.h"

namespace causeway::middleware {
namespace {

constexpr std::string_view kUriPattern = R"(^(https?:\/\/)?(\[[\w:.]+\]|[\w\._-]+)?(:\d+)?(.*)$)";

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
    if (scheme.empty()) context.error("redirectScheme: you must provide a target scheme");
  }
};

// Go's net.SplitHostPort; false when it reports an error.
bool splitHostPort(std::string_view hostport, std::string_view& host, std::string_view& port) {
  size_t i = hostport.rfind(':');
  if (i == std::string_view::npos) return false;
  size_t j = 0, k = 0;
  if (!hostport.empty() && hostport[0] == '[') {
    size_t end = hostport.find(']');
    if (end == std::string_view::npos) return false;
    if (end + 1 == hostport.size() || end + 1 != i) return false;
    host = hostport.substr(1, end - 1);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.substr(0, i);
    if (host.find(':') != std::string_view::npos) return false;
  }
  if (hostport.substr(j).find('[') != std::string_view::npos) return false;
  if (hostport.substr(k).find(']') != std::string_view::npos) return false;
  port = hostport.substr(i + 1);
  return true;
}

class RedirectScheme final : public Handler {
 public:
  RedirectScheme(const Options& options, HandlerPtr next, const WrapContext&)
      : permanent_(options.permanent), next_(std::move(next)) {
    std::string port;
    if (!options.port.empty() && !((options.scheme == "http" && options.port == "80") ||
                                   (options.scheme == "https" && options.port == "443")))
      port = ":" + options.port;
    replacement_ = options.scheme + "://${2}" + port + "${4}";
    std::string error;
    regex_ = router::GoRegexp::compile(kUriPattern, error);
  }

  awaitable<void> handle(Exchange& ex) const override {
    const auto& r = ex.request;
    std::string_view scheme = ex.connection.tls ? "https" : "http";
    std::string_view host = r.authority, port;
    std::string portText;
    if (std::string_view h, p; splitHostPort(r.authority, h, p)) {
      host = h;
      portText = ":" + std::string(p);
    }
    if (std::string_view proto = r.headers.get("X-Forwarded-Proto"); !proto.empty()) {
      if (iequals(proto, "http") || iequals(proto, "ws"))
        scheme = "http";
      else if (iequals(proto, "https") || iequals(proto, "wss"))
        scheme = "https";
    }
    if ((scheme == "http" && portText == ":80") || (scheme == "https" && portText == ":443"))
      portText.clear();
    std::string oldUrl = std::string(scheme) + "://" + std::string(host) + portText;
    redirect::appendPathAndQuery(oldUrl, r);
    if (!redirect::redirectIfRewritten(ex, *regex_, replacement_, oldUrl, permanent_, {}))
      co_await next_->handle(ex);
  }

 private:
  bool permanent_;
  std::string replacement_;
  std::unique_ptr<router::GoRegexp> regex_;
  HandlerPtr next_;
};

const exchange::MiddlewareRegistration registration("redirectScheme",
                                                  makeFactory<Options, RedirectScheme>);

}  // namespace
}  // namespace causeway::middleware
