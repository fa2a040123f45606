// TCP ipAllowList (and its deprecated alias ipWhiteList): a connection whose client IP (the
// peer, or the PROXY protocol's source from a trusted peer) is outside sourceRange is closed
// before the service dials anything (Traefik pkg/middlewares/tcp/ipallowlist).
#include "core/log.h"
#include "exchange/tcp_handler.h"
#include "limits/source_criterion.h"

namespace causeway::middleware {
namespace {

class TcpIpAllowList final : public exchange::TcpHandler {
 public:
  TcpIpAllowList(std::shared_ptr<const std::vector<net::IpNetwork>> networks, exchange::TcpHandlerPtr next)
      : networks_(std::move(networks)), next_(std::move(next)) {}

  awaitable<void> serve(exchange::TcpSession& session) const override {
    for (const net::IpNetwork& network : *networks_)
      if (network.contains(session.clientIp)) co_return co_await next_->serve(session);
    session.error = "client IP " + session.clientIp.toString() + " is not in the ipAllowList";
    log::debug("TCP connection rejected by ipAllowList", {{"router", session.router}, {"client", session.clientIp.toString()}});
  }

 private:
  std::shared_ptr<const std::vector<net::IpNetwork>> networks_;
  exchange::TcpHandlerPtr next_;
};

class Factory final : public exchange::TcpMiddlewareFactory {
 public:
  explicit Factory(std::shared_ptr<const std::vector<net::IpNetwork>> networks) : networks_(std::move(networks)) {}
  exchange::TcpHandlerPtr wrap(exchange::TcpHandlerPtr next) const override {
    return std::make_shared<TcpIpAllowList>(networks_, std::move(next));
  }

 private:
  std::shared_ptr<const std::vector<net::IpNetwork>> networks_;
};

exchange::TcpMiddlewareFactoryPtr create(const config::TcpIpAllowList& options, std::string& error) {
  if (options.sourceRange.empty()) {
    error = "sourceRange is empty, IPAllowLister not created";
    return nullptr;
  }
  auto networks = std::make_shared<std::vector<net::IpNetwork>>();
  for (const std::string& entry : options.sourceRange) {
    auto network = net::IpNetwork::parse(entry);
    if (!network) {
      error = "parsing CIDR allowed IPs " + entry + ": invalid IP address or network";
      return nullptr;
    }
    networks->push_back(*network);
  }
  return std::make_shared<Factory>(std::move(networks));
}

const exchange::TcpMiddlewareRegistration kAllowList(
    "ipallowlist", [](const config::TcpMiddleware& m, std::string& error) { return create(*m.ipAllowList, error); });
const exchange::TcpMiddlewareRegistration kWhiteList(
    "ipwhitelist", [](const config::TcpMiddleware& m, std::string& error) { return create(*m.ipWhiteList, error); });

}  // namespace
}  // namespace causeway::middleware
