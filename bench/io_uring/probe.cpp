// io_uring probe (issue 20, item 4; docs/benchmarks.md, "io_uring"): the smallest HTTP/1.1
// keep-alive server, twice — once on epoll as causeway's I/O layer uses it (one recv per
// readiness, one send per response), once on io_uring as a proxy built for it would (one
// multishot receive per connection into a ring of provided buffers, sends queued and submitted
// together with the wait). It answers every request with the same 6-byte body and does nothing
// else, so the CPU it spends per request is what the kernel crossings cost, which is what
// io_uring could save causeway. Not a part of causeway; built with CAUSEWAY_IO_URING.
//
//   io_uring_probe epoll|uring PORT        serves on 127.0.0.1:PORT until SIGTERM
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::string_view kResponse = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Type: text/plain\r\n\r\nhello\n";
volatile std::sig_atomic_t stopping = 0;

int listenOn(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(uint16_t(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 1024) != 0) {
    std::perror("listen");
    std::exit(1);
  }
  return fd;
}

// Complete requests in `pending` (GETs without a body: each ends with an empty line); the
// rest stays for the next read.
size_t completeRequests(std::string& pending) {
  size_t count = 0, at = 0, end;
  while ((end = pending.find("\r\n\r\n", at)) != std::string::npos) {
    ++count;
    at = end + 4;
  }
  pending.erase(0, at);
  return count;
}

void respond(int fd, size_t requests) {
  std::string out;
  for (size_t i = 0; i < requests; ++i) out.append(kResponse);
  if (!out.empty()) ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
}

int runEpoll(int listener) {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  epoll_event event{EPOLLIN, {.fd = listener}};
  ::epoll_ctl(ep, EPOLL_CTL_ADD, listener, &event);
  std::vector<std::string> pending(65536);
  std::vector<epoll_event> ready(256);
  char buffer[16384];
  while (!stopping) {
    int n = ::epoll_wait(ep, ready.data(), int(ready.size()), 100);
    for (int i = 0; i < n; ++i) {
      int fd = ready[i].data.fd;
      if (fd == listener) {
        int client;
        while ((client = ::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          int one = 1;
          ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          epoll_event e{EPOLLIN, {.fd = client}};
          ::epoll_ctl(ep, EPOLL_CTL_ADD, client, &e);
        }
        continue;
      }
      ssize_t got = ::recv(fd, buffer, sizeof buffer, 0);
      if (got <= 0) {
        ::close(fd);  // also leaves the epoll set
        pending[size_t(fd)].clear();
        continue;
      }
      pending[size_t(fd)].append(buffer, size_t(got));
      respond(fd, completeRequests(pending[size_t(fd)]));
    }
  }
  return 0;
}

// io_uring: user data says what completed.
enum : uint64_t { kAccept = 1ull << 62, kReceive = 2ull << 62, kSend = 3ull << 62, kKindMask = 3ull << 62 };
constexpr unsigned kBuffers = 1024, kBufferSize = 4096, kGroup = 0;

int runUring(int listener) {
  io_uring ring;
  io_uring_params params{};
  params.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
  if (int rc = io_uring_queue_init_params(4096, &ring, &params); rc < 0) {
    std::fprintf(stderr, "io_uring_queue_init: %s\n", std::strerror(-rc));
    return 1;
  }
  // The ring of provided buffers that multishot receives fill.
  void* memory = nullptr;
  size_t ringBytes = kBuffers * sizeof(io_uring_buf);
  if (::posix_memalign(&memory, 4096, ringBytes) != 0) return 1;
  auto* buffers = static_cast<io_uring_buf_ring*>(memory);
  io_uring_buf_ring_init(buffers);
  io_uring_buf_reg registration{};
  registration.ring_addr = reinterpret_cast<uint64_t>(buffers);
  registration.ring_entries = kBuffers;
  registration.bgid = kGroup;
  if (int rc = io_uring_register_buf_ring(&ring, &registration, 0); rc < 0) {
    std::fprintf(stderr, "io_uring_register_buf_ring: %s\n", std::strerror(-rc));
    return 1;
  }
  std::vector<char> storage(size_t(kBuffers) * kBufferSize);
  int mask = io_uring_buf_ring_mask(kBuffers);
  for (unsigned i = 0; i < kBuffers; ++i)
    io_uring_buf_ring_add(buffers, storage.data() + size_t(i) * kBufferSize, kBufferSize, uint16_t(i), mask, int(i));
  io_uring_buf_ring_advance(buffers, int(kBuffers));

  auto sqe = [&] {
    io_uring_sqe* s = io_uring_get_sqe(&ring);
    if (!s) {
      io_uring_submit(&ring);
      s = io_uring_get_sqe(&ring);
    }
    return s;
  };
  auto armAccept = [&] {
    io_uring_sqe* s = sqe();
    io_uring_prep_multishot_accept(s, listener, nullptr, nullptr, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, kAccept);
  };
  auto armReceive = [&](int fd) {
    io_uring_sqe* s = sqe();
    io_uring_prep_recv_multishot(s, fd, nullptr, 0, 0);
    s->flags |= IOSQE_BUFFER_SELECT;
    s->buf_group = kGroup;
    io_uring_sqe_set_data64(s, kReceive | uint64_t(fd));
  };
  std::vector<std::string> pending(65536), outgoing(65536);
  armAccept();
  __kernel_timespec wait{0, 100'000'000};
  while (!stopping) {
    io_uring_cqe* cqe = nullptr;
    io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &wait, nullptr);
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&ring, head, cqe) {
      ++seen;
      uint64_t data = io_uring_cqe_get_data64(cqe);
      int fd = int(data & ~kKindMask);
      switch (data & kKindMask) {
      case kAccept:
        if (cqe->res >= 0) {
          int one = 1;
          ::setsockopt(cqe->res, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          armReceive(cqe->res);
        }
        if (!(cqe->flags & IORING_CQE_F_MORE)) armAccept();
        break;
      case kReceive: {
        if (cqe->res <= 0) {
          if (cqe->res == -ENOBUFS) {
            armReceive(fd);
          } else if (!(cqe->flags & IORING_CQE_F_MORE)) {
            ::close(fd);
            pending[size_t(fd)].clear();
          }
          break;
        }
        unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        pending[size_t(fd)].append(storage.data() + size_t(id) * kBufferSize, size_t(cqe->res));
        io_uring_buf_ring_add(buffers, storage.data() + size_t(id) * kBufferSize, kBufferSize, uint16_t(id), mask, 0);
        io_uring_buf_ring_advance(buffers, 1);
        if (!(cqe->flags & IORING_CQE_F_MORE)) armReceive(fd);
        size_t requests = completeRequests(pending[size_t(fd)]);
        std::string& out = outgoing[size_t(fd)];
        if (requests == 0 || !out.empty()) break;  // one send in flight per connection (wrk waits anyway)
        for (size_t i = 0; i < requests; ++i) out.append(kResponse);
        io_uring_sqe* s = sqe();
        io_uring_prep_send(s, fd, out.data(), out.size(), MSG_NOSIGNAL);
        io_uring_sqe_set_data64(s, kSend | uint64_t(fd));
        break;
      }
      case kSend:
        outgoing[size_t(fd)].clear();  // a short send on loopback does not happen at these sizes
        break;
      }
    }
    io_uring_cq_advance(&ring, seen);
  }
  io_uring_queue_exit(&ring);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: io_uring_probe epoll|uring PORT\n");
    return 2;
  }
  std::signal(SIGTERM, [](int) { stopping = 1; });
  std::signal(SIGINT, [](int) { stopping = 1; });
  int listener = listenOn(std::atoi(argv[2]));
  return std::string_view(argv[1]) == "uring" ? runUring(listener) : runEpoll(listener);
}
