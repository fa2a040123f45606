// TCP sockets set up with the fewest system calls, for the connections made per request (the
// accepted ones, and the upstream ones of the HTTP pools and the TCP routers). Asio 1.81 makes
// a socket non-blocking with ioctl(FIONBIO) before its first asynchronous operation, completes
// a connect with poll() and getsockopt(SO_ERROR), and removes an assigned descriptor from
// epoll (EPOLL_CTL_DEL) before closing it, in case it is a dup; nginx and HAProxy do none of it:
//  - a descriptor the kernel made non-blocking (accept4, or socket with SOCK_NONBLOCK) is
//    marked so in Asio's socket state (`internal_non_blocking`): no ioctl follows; and marked
//    as not a dup (`possible_dup` cleared): its close() alone takes it out of epoll;
//  - connect() is completed by a wait for writability and getsockopt(SO_ERROR) alone.
// Three system calls fewer per upstream connection, two per accepted one (docs/benchmarks.md).
#pragma once

#include "io/asio.h"

namespace causeway::io {

// Marks `socket` (just assigned a descriptor that the kernel made non-blocking, and that no
// other descriptor duplicates) so for Asio.
void markFreshNonBlocking(tcp::socket& socket);

// Connects `socket` to `peer`: opens it non-blocking (closing what it held), connects, and waits
// for the connection. The error of the connect, or of the wait (operation_aborted when the
// socket was closed meanwhile, e.g. by a dial deadline).
awaitable<error_code> connectTcp(tcp::socket& socket, const tcp::endpoint& peer);

}  // namespace causeway::io
