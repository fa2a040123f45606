// ipAllowList (and its deprecated alias ipWhiteList): only requests whose client IP, as the
// ipStrategy picks it (the peer address by default), is in sourceRange reach the next
// handler; the others get rejectStatusCode (403) with the status text as body.
#include "core/log.h"
#include "exchange/local_reply.h"
#include "http/go_text.h"
#include "limits/source_criterion.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

struct AllowListOptions {
  std::vector<std::string> sourceRange;
  std::optional<limits::IpStrategyOptions> ipStrategy;
  int64_t rejectStatusCode = 0;

  static void describe(auto& self, auto& v) {
    v("sourceRange", self.sourceRange);
    v("ipStrategy", self.ipStrategy);
    v("rejectStatusCode", self.rejectStatusCode);
  }
};

struct WhiteListOptions {
  std::vector<std::string> sourceRange;
  std::optional<limits::IpStrategyOptions> ipStrategy;

  static void describe(auto& self, auto& v) {
    v("sourceRange", self.sourceRange);
    v("ipStrategy", self.ipStrategy);
  }
};

std::string concat(std::string_view a, std::string_view b, std::string_view c = {},
                   std::string_view d = {}) {
  std::string out;
  out.reserve(a.size() + b.size() + c.size() + d.size());
  out.append(a).append(b).append(c).append(d);
  return out;
}

struct Compiled {
  limits::IpChecker checker;
  limits::IpStrategy strategy;
  int status = 403;
};

std::optional<Compiled> compile(std::string_view type, const std::vector<std::string>& sourceRange,
                                const std::optional<limits::IpStrategyOptions>& ipStrategy,
                                int64_t rejectStatus, MiddlewareBuildContext& context) {
  if (sourceRange.empty()) {
    context.error(concat(type, ": sourceRange is empty, IPAllowLister not created"));
    return std::nullopt;
  }
  Compiled c;
  if (rejectStatus != 0) {
    if (rejectStatus < 100 || rejectStatus > 999 || http::goStatusText(int(rejectStatus)).empty()) {
      context.error(concat(type, ": invalid HTTP status code ", std::to_string(rejectStatus)));
      return std::nullopt;
    }
    c.status = int(rejectStatus);
  }
  for (const auto& entry : sourceRange) {
    std::string error;
    if (!c.checker.add(entry, error)) {
      context.error(concat(type, ": cannot parse CIDRs: ", error));
      return std::nullopt;
    }
  }
  std::string error;
  auto strategy = limits::IpStrategy::make(ipStrategy ? &*ipStrategy : nullptr, error);
  if (!strategy) {
    context.error(concat(type, ": ", error));
    return std::nullopt;
  }
  c.strategy = std::move(*strategy);
  return c;
}

class IpAllowList final : public Handler {
 public:
  IpAllowList(Compiled compiled, HandlerPtr next, const WrapContext& context)
      : c_(std::move(compiled)), next_(std::move(next)), name_(context.middlewareName) {}

  awaitable<void> handle(Exchange& ex) const override {
    std::string ip =
        c_.strategy.clientIp(ex.request.headers.get("X-Forwarded-For"), ex.connection.peerIpText);
    if (!c_.checker.authorizes(ip)) {
      log::debug("rejecting IP", {{"middlewareName", name_}, {"ip", ip}});
      ex.record.errorDetail = "client IP not allowed";
      // Traefik writes the status text with no Content-Type: Go sniffs text/plain.
      exchange::localReply(ex, c_.status, http::goStatusText(c_.status));
      ex.response.headers.remove("X-Content-Type-Options");
      co_return;
    }
    co_await next_->handle(ex);
  }

 private:
  Compiled c_;
  HandlerPtr next_;
  std::string name_;
};

template <class Options>
MiddlewareFactoryPtr create(std::string_view type, const config::Node& node,
                            MiddlewareBuildContext& context) {
  std::optional<Options> decoded = decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& options = *decoded;
  int64_t reject = 0;
  if constexpr (requires { options.rejectStatusCode; }) reject = options.rejectStatusCode;
  auto compiled = compile(type, options.sourceRange, options.ipStrategy, reject, context);
  if (!compiled) return nullptr;
  return factoryOf<IpAllowList>(std::move(*compiled));
}

const exchange::MiddlewareRegistration allowList("ipAllowList", [](const config::Node& node,
                                                                 MiddlewareBuildContext& c) {
  return create<AllowListOptions>("ipAllowList", node, c);
}, "IPAllowLister");
const exchange::MiddlewareRegistration whiteList("ipWhiteList", [](const config::Node& node,
                                                                 MiddlewareBuildContext& c) {
  return create<WhiteListOptions>("ipWhiteList", node, c);
}, "IPWhiteLister");

}  // namespace
}  // namespace causeway::middleware
