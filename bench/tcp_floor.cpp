// The floor of a TCP proxy's cost per short connection (issue 19; docs/benchmarks.md, "The
// floor of a short connection"): the least work a user-space proxy can do to forward one
// connection, to set beside HAProxy and causeway in bench/tcp_proxy's `tcp-short` case.
//
//   tcp_floor LISTEN_PORT UPSTREAM_PORT      (both on 127.0.0.1)
//
// One thread, one edge-triggered epoll set, no options set on any socket, no timers, no
// logging, no routing: accept, connect, copy each side's bytes to the other, pass each EOF on
// with shutdown(SHUT_WR), close both when both sides have ended. The system calls per
// connection are those no proxy can avoid (accept4, socket, connect, two epoll_ctl, a recv and
// a send each way, the EOF reads, a shutdown, two closes) plus the epoll_wait calls shared by
// the connections of one wake-up. It is a measuring instrument, not a proxy: it has no limits,
// no timeouts and no error reporting; it serves only the benchmark's own loopback traffic.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Pair;

// One side of a forwarded connection; the epoll data points at it.
struct Side {
  int fd = -1;
  Pair* pair = nullptr;
  Side* peer = nullptr;
  std::string pending;  // bytes read from the peer that this side could not take yet
  bool readEnded = false;  // this side sent its EOF (passed on to the peer)
};

struct Pair {
  Side client, upstream;
  int ended = 0;
  bool closed = false;
};

// Pairs closed during one wake-up, freed after it (later events of the wake-up may name them).
std::vector<Pair*> closedPairs;

sockaddr_in loopback(int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void closePair(Pair* p) {
  ::close(p->client.fd);  // closing removes the descriptors from the epoll set
  ::close(p->upstream.fd);
  p->closed = true;
  closedPairs.push_back(p);
}

// Sends what `to` holds; false when the connection failed.
bool flush(Side& to) {
  if (to.pending.empty()) return true;
  while (!to.pending.empty()) {
    ssize_t n = ::send(to.fd, to.pending.data(), to.pending.size(), MSG_NOSIGNAL);
    if (n > 0) {
      to.pending.erase(0, size_t(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    return n < 0 && errno == EAGAIN;  // EAGAIN: the next EPOLLOUT edge sends the rest
  }
  if (to.peer->readEnded) ::shutdown(to.fd, SHUT_WR);  // the EOF that waited for these bytes
  return true;
}

// Reads what `from` has and sends it to its peer; false when the pair was closed.
bool forward(Side& from) {
  char buffer[16384];
  Side& to = *from.peer;
  while (!from.readEnded) {
    ssize_t n = ::recv(from.fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return true;
    if (n < 0) {
      closePair(from.pair);
      return false;
    }
    if (n == 0) {
      from.readEnded = true;
      if (++from.pair->ended == 2) {
        closePair(from.pair);
        return false;
      }
      if (to.pending.empty()) ::shutdown(to.fd, SHUT_WR);  // else flush() passes the EOF on
      return true;
    }
    to.pending.append(buffer, size_t(n));
    if (!flush(to)) {
      closePair(from.pair);
      return false;
    }
    // Edge-triggered: a short read took everything there was; the next bytes bring a new edge.
    if (size_t(n) < sizeof buffer) return true;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: tcp_floor LISTEN_PORT UPSTREAM_PORT\n");
    return 2;
  }
  const sockaddr_in listenAddress = loopback(std::atoi(argv[1]));
  const sockaddr_in upstreamAddress = loopback(std::atoi(argv[2]));
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(listener, reinterpret_cast<const sockaddr*>(&listenAddress), sizeof listenAddress) != 0 ||
      ::listen(listener, 4096) != 0) {
    std::perror("tcp_floor: listen");
    return 1;
  }
  int epoll = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event listen{};
  listen.events = EPOLLIN;
  listen.data.ptr = nullptr;  // the listener
  ::epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &listen);
  epoll_event events[256];
  while (true) {
    int ready = ::epoll_wait(epoll, events, 256, -1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return 1;
    for (int i = 0; i < ready; ++i) {
      if (!events[i].data.ptr) {
        while (true) {
          int client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (client < 0) break;  // EAGAIN: all taken
          int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
          if (upstream < 0 ||
              (::connect(upstream, reinterpret_cast<const sockaddr*>(&upstreamAddress), sizeof upstreamAddress) != 0 &&
               errno != EINPROGRESS)) {
            ::close(client);
            if (upstream >= 0) ::close(upstream);
            continue;
          }
          auto* p = new Pair;
          p->client = {client, p, &p->upstream, {}, false};
          p->upstream = {upstream, p, &p->client, {}, false};
          epoll_event e{};
          e.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
          e.data.ptr = &p->client;
          ::epoll_ctl(epoll, EPOLL_CTL_ADD, client, &e);
          e.data.ptr = &p->upstream;
          ::epoll_ctl(epoll, EPOLL_CTL_ADD, upstream, &e);
        }
        continue;
      }
      Side& side = *static_cast<Side*>(events[i].data.ptr);
      if (side.pair->closed) continue;
      if (events[i].events & EPOLLOUT) {
        if (!flush(side)) {
          closePair(side.pair);
          continue;
        }
      }
      if (events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) forward(side);
    }
    for (Pair* p : closedPairs) delete p;
    closedPairs.clear();
  }
}
