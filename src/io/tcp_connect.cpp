#include "io/tcp_connect.h"

#include <boost/asio/version.hpp>

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

// The state flags below are Asio 1.26's (Boost 1.81, Debian 12), the same on its epoll reactor
// and on its io_uring backend (CAUSEWAY_IO_URING); another version must be checked before this
// file is built against it.
static_assert(BOOST_ASIO_VERSION == 102600, "io/tcp_connect.cpp relies on Asio 1.26's socket state flags");

namespace causeway::io {
namespace {

// The socket's implementation (a protected member of Asio's basic_socket), reached through a
// pointer to member formed in a derived class.
struct SocketAccess : tcp::socket {
  static auto& implementation(tcp::socket& socket) {
    return (socket.*(&SocketAccess::impl_)).get_implementation();
  }
};

}  // namespace

void markFreshNonBlocking(tcp::socket& socket) {
  auto& state = SocketAccess::implementation(socket).state_;
#if !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
  state |= asio::detail::socket_ops::internal_non_blocking;
#endif
  // On io_uring the flag would make Asio poll and then call recv/send itself; left unset, a
  // read or write is one io_uring operation (on the descriptor, which stays O_NONBLOCK: the
  // measured runs on kernel 6.18 had no errors; docs/benchmarks.md, "io_uring").
  state &= ~asio::detail::socket_ops::possible_dup;
}

awaitable<error_code> connectTcp(tcp::socket& socket, const tcp::endpoint& peer) {
  error_code ec;
  if (socket.is_open()) socket.close(ec);
  int fd = ::socket(peer.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
  if (fd < 0) co_return error_code(errno, boost::system::system_category());
  socket.assign(peer.protocol(), fd, ec);
  if (ec) {
    ::close(fd);
    co_return ec;
  }
  markFreshNonBlocking(socket);
  if (::connect(fd, peer.data(), peer.size()) == 0) co_return error_code();
  // EINTR and EALREADY: the connection goes on in the background, as with EINPROGRESS.
  if (errno != EINPROGRESS && errno != EINTR && errno != EALREADY)
    co_return error_code(errno, boost::system::system_category());
  auto [waitError] = co_await socket.async_wait(tcp::socket::wait_write, nothrow);
  if (waitError) co_return waitError;
  // A deadline may have closed the socket while the completion was queued: the descriptor
  // number may be someone else's by now.
  if (!socket.is_open()) co_return asio::error::operation_aborted;
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  co_return error ? error_code(error, boost::system::system_category()) : error_code();
}

}  // namespace causeway::io
