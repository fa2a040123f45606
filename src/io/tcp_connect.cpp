#include "io/tcp_connect.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

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
  state |= asio::detail::socket_ops::internal_non_blocking;
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
  int result;
  do {
    result = ::connect(fd, peer.data(), peer.size());
  } while (result != 0 && errno == EINTR);
  if (result == 0) co_return error_code();
  if (errno != EINPROGRESS) co_return error_code(errno, boost::system::system_category());
  auto [waitError] = co_await socket.async_wait(tcp::socket::wait_write, nothrow);
  if (waitError) co_return waitError;
  int error = 0;
  socklen_t length = sizeof error;
  if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
  co_return error ? error_code(error, boost::system::system_category()) : error_code();
}

}  // namespace causeway::io
