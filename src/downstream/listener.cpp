#include "downstream/listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/log.h"
#include "downstream/connection.h"
#include "io/failures.h"
#include "io/tcp_connect.h"

namespace causeway::downstream {
namespace {


// A socket made from a descriptor that accept4() returned non-blocking, marked so for Asio
// (io/tcp_connect.h): no ioctl(FIONBIO) before its first operation. nginx accepts the same way.
class AcceptedSocket : public tcp::socket {
 public:
  AcceptedSocket(asio::io_context& io, const tcp::endpoint& peer, int fd, error_code& ec) : tcp::socket(io) {
    assign(peer.protocol(), fd, ec);
    if (!ec) io::markFreshNonBlocking(*this);
  }
};

// accept4(SOCK_NONBLOCK | SOCK_CLOEXEC) on the listener; EAGAIN when nobody waits.
int acceptNonBlocking(tcp::acceptor& acceptor, tcp::endpoint& peer, error_code& ec) {
  for (;;) {
    socklen_t length = socklen_t(peer.capacity());
    int fd = ::accept4(acceptor.native_handle(), peer.data(), &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      peer.resize(length);
      ec = {};
      return fd;
    }
    // A client that left before we took it, or the network errors accept(2) passes on for
    // one pending connection: the next one is taken at once (Asio's own accept did the same).
    switch (errno) {
    case EINTR: case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT: case EHOSTDOWN:
    case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
      continue;
    default:
      break;
    }
    ec = error_code(errno, asio::error::get_system_category());
    return -1;
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
    acceptor->non_blocking(true);  // acceptLoop's accept4 reports EAGAIN instead of blocking
    acceptors_.push_back(std::move(acceptor));
    entryPoints_.push_back(entryPoint);
    if (entryPoint->http3) {
      quic_.push_back(std::make_unique<QuicListener>(worker_, *entryPoint, workers_));
      quic_.back()->bind();
    }
  }
}

std::vector<QuicListener*> Listener::quicListeners() const {
  std::vector<QuicListener*> out;
  for (const auto& quic : quic_) out.push_back(quic.get());
  return out;
}

void Listener::start() {
  for (size_t i = 0; i < acceptors_.size(); ++i)
    asio::co_spawn(worker_.io(), acceptLoop(*acceptors_[i], *entryPoints_[i]),
                   [](std::exception_ptr e) { io::logFailure(e, "accept loop failed"); });
  for (auto& udp : udp_) udp->start();
  for (auto& quic : quic_) quic->start();
}

void Listener::close() {
  for (auto& udp : udp_) udp->close();
  for (auto& quic : quic_) quic->close();
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
  constexpr unsigned kAcceptBurst = 32;
  unsigned burst = 0;
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
    error_code ec;
    // A burst is taken in turns with the worker's other work (each connection runs inline up
    // to its first wait): a full backlog must not hold the connections already open.
    if (++burst == kAcceptBurst) {
      burst = 0;
      co_await asio::post(worker_.io(), asio::use_awaitable);
      if (!acceptor.is_open()) co_return;
    }
    int fd = acceptNonBlocking(acceptor, peer, ec);
    // Accept until EAGAIN, then wait: Asio's epoll registration is edge-triggered. Nothing is
    // lost between the EAGAIN and the wait, because this worker's one thread is the only one
    // that runs its reactor, and it does not until this coroutine suspends.
    if (fd < 0 && (ec == asio::error::would_block || ec == asio::error::try_again)) {
      burst = 0;
      auto [waitError] = co_await acceptor.async_wait(tcp::acceptor::wait_read, nothrow);
      if (waitError == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      continue;
    }
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
    AcceptedSocket socket(worker_.io(), peer, fd, ec);
    if (ec) {
      ::close(fd);
      continue;
    }
    asio::co_spawn(worker_.io(), serveConnection(worker_, entryPoint, std::move(socket), peer, localPort),
                   [](std::exception_ptr e) { io::logFailure(e, "connection failed"); });
  }
}

}  // namespace causeway::downstream
