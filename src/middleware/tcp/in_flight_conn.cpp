// TCP inFlightConn: at most `amount` simultaneous connections per client IP through the
// routers that use it; a connection beyond that is closed at once (Traefik
// pkg/middlewares/tcp/inflightconn). The count is shared by every worker and every router
// using the same middleware, as Traefik's is per middleware instance.
#include <mutex>
#include <unordered_map>

#include "core/log.h"
#include "exchange/tcp_handler.h"

namespace causeway::middleware {
namespace {

class Counter {
 public:
  explicit Counter(int64_t amount) : amount_(amount) {}
  bool acquire(const std::string& ip) {
    std::lock_guard lock(mutex_);
    int64_t& count = counts_[ip];
    if (count >= amount_) {
      if (count == 0) counts_.erase(ip);
      return false;
    }
    ++count;
    return true;
  }
  void release(const std::string& ip) {
    std::lock_guard lock(mutex_);
    auto it = counts_.find(ip);
    if (it != counts_.end() && --it->second <= 0) counts_.erase(it);
  }

 private:
  int64_t amount_;
  std::mutex mutex_;
  std::unordered_map<std::string, int64_t> counts_;
};

class TcpInFlightConn final : public exchange::TcpHandler {
 public:
  TcpInFlightConn(std::shared_ptr<Counter> counter, exchange::TcpHandlerPtr next)
      : counter_(std::move(counter)), next_(std::move(next)) {}

  awaitable<void> serve(exchange::TcpSession& session) const override {
    std::string ip = session.clientIp.toString();
    if (!counter_->acquire(ip)) {
      session.error = "too many connections from " + ip + " (inFlightConn)";
      log::debug("TCP connection rejected by inFlightConn", {{"router", session.router}, {"client", ip}});
      co_return;
    }
    struct Release {
      Counter& counter;
      const std::string& ip;
      ~Release() { counter.release(ip); }
    } release{*counter_, ip};
    co_await next_->serve(session);
  }

 private:
  std::shared_ptr<Counter> counter_;
  exchange::TcpHandlerPtr next_;
};

class Factory final : public exchange::TcpMiddlewareFactory {
 public:
  explicit Factory(int64_t amount) : counter_(std::make_shared<Counter>(amount)) {}
  exchange::TcpHandlerPtr wrap(exchange::TcpHandlerPtr next) const override {
    return std::make_shared<TcpInFlightConn>(counter_, std::move(next));
  }

 private:
  std::shared_ptr<Counter> counter_;
};

const exchange::TcpMiddlewareRegistration kRegistration(
    "inflightconn", [](const config::TcpMiddleware& m, std::string&) -> exchange::TcpMiddlewareFactoryPtr {
      return std::make_shared<Factory>(m.inFlightConn->amount);
    });

}  // namespace
}  // namespace causeway::middleware
