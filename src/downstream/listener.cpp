#include "downstream/listener.h"

#include <sys/socket.h>

#include "core/log.h"
#include "downstream/connection.h"

namespace causeway::downstream {
namespace {

void logFailure(std::exception_ptr e, const char* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error(what, {{"error", ex.what()}});
  }
}

}  // namespace

void Listener::bind(const std::vector<const runtime::EntryPoint*>& entryPoints) {
  for (const runtime::EntryPoint* entryPoint : entryPoints) {
    if (entryPoint->udp) {
      udp_.push_back(std::make_unique<UdpListener>(worker_, *entryPoint));
      udp_.back()->bind();
      continue;
    }
    auto acceptor = std::make_unique<tcp::acceptor>(worker_.io());
    const tcp::endpoint& endpoint = entryPoint->endpoint;
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    int one = 1;
    if (::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      throw std::runtime_error("cannot set SO_REUSEPORT");
    if (endpoint.protocol() == tcp::v6()) acceptor->set_option(asio::ip::v6_only(!entryPoint->dualStack));
    acceptor->bind(endpoint);
    acceptor->listen(asio::socket_base::max_listen_connections);
    acceptors_.push_back(std::move(acceptor));
    entryPoints_.push_back(entryPoint);
  }
}

void Listener::start() {
  for (size_t i = 0; i < acceptors_.size(); ++i)
    asio::co_spawn(worker_.io(), acceptLoop(*acceptors_[i], *entryPoints_[i]),
                   [](std::exception_ptr e) { logFailure(e, "accept loop failed"); });
  for (auto& udp : udp_) udp->start();
}

void Listener::close() {
  for (auto& udp : udp_) udp->close();
  asio::post(worker_.io(), [this] {
    for (auto& acceptor : acceptors_) {
      error_code ignored;
      acceptor->close(ignored);
    }
  });
}

awaitable<void> Listener::acceptLoop(tcp::acceptor& acceptor, const runtime::EntryPoint& entryPoint) {
  // accept() reports the peer and the listener knows the local port: no getpeername or
  // getsockname per connection.
  error_code localError;
  uint16_t localPort = acceptor.local_endpoint(localError).port();
  tcp::endpoint peer;
  // The entryPoint's connection cap, shared evenly: the kernel spreads new connections over
  // the workers' SO_REUSEPORT sockets.
  const uint64_t cap = entryPoint.maxConnections == 0 ? 0 : (entryPoint.maxConnections + workers_ - 1) / workers_;
  static log::Throttle acceptFailures(std::chrono::seconds(10));
  static log::Throttle atCap(std::chrono::seconds(60));
  while (acceptor.is_open()) {
    if (cap && uint64_t(worker_.openConnections(entryPoint.index)) >= cap) {
      // At the cap: leave new clients in the backlog until a connection closes (docs/security.md, H10).
      if (uint64_t dropped = 0; atCap.allow(dropped))
        log::warn("entryPoint at maxConnections; new connections wait", {{"entryPoint", entryPoint.name},
                                                                           {"maxConnections", entryPoint.maxConnections}});
      asio::steady_timer timer(worker_.io(), std::chrono::milliseconds(10));
      co_await timer.async_wait(nothrow);
      continue;
    }
    auto [ec, socket] = co_await acceptor.async_accept(peer, nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning, and say so once in a while.
      if (uint64_t dropped = 0; acceptFailures.allow(dropped))
        log::warn("accept failed", {{"entryPoint", entryPoint.name}, {"error", ec.message()},
                                    {"repeated", dropped}});
      asio::steady_timer timer(worker_.io(), std::chrono::milliseconds(50));
      co_await timer.async_wait(nothrow);
      continue;
    }
    asio::co_spawn(worker_.io(), serveConnection(worker_, entryPoint, std::move(socket), peer, localPort),
                   [](std::exception_ptr e) { logFailure(e, "connection failed"); });
  }
}

}  // namespace causeway::downstream
