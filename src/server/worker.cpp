#include "server/worker.h"

#include <pthread.h>

#include <ctime>

#include "core/log.h"
#include "server/entry_point.h"
#include "server/connection.h"
#include "server/server.h"

namespace causeway::server {

Worker::Worker(Server& server, unsigned index)
    : server_(server),
      index_(index),
      // Sockets never leave their worker, so the reactor needs no per-socket locking;
      // the scheduler keeps its lock for the few cross-thread posts (drain, stop).
      io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO),
      pool_(io_, watchdog_),
      openByEntryPoint_(new std::atomic<int64_t>[server.entryPoints().size() + 1]()) {}

Worker::~Worker() { stop(); }

const SnapshotPtr& Worker::snapshot() {
  const SnapshotHolder& holder = server_.snapshots();
  uint64_t generation = holder.generation();
  if (generation != snapshotGeneration_) {
    SnapshotPtr global = holder.load();
    // A per-worker control block: copies made by requests touch only this worker's
    // reference count, never a cache line shared with other workers.
    auto local = std::make_shared<SnapshotPtr>(global);
    snapshot_ = SnapshotPtr(local, global.get());
    snapshotGeneration_ = generation;
  }
  return snapshot_;
}

std::string_view Worker::httpDate() {
  std::time_t now = std::time(nullptr);
  if (now != dateSecond_) {
    dateSecond_ = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[40];
    size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    date_.assign(buf, n);
  }
  return date_;
}

void Worker::listen(const std::vector<const EntryPoint*>& entryPoints) {
  for (const EntryPoint* entryPoint : entryPoints) {
    auto acceptor = std::make_unique<tcp::acceptor>(io_);
    const tcp::endpoint& endpoint = entryPoint->endpoint;
    acceptor->open(endpoint.protocol());
    acceptor->set_option(asio::socket_base::reuse_address(true));
    int one = 1;
    if (::setsockopt(acceptor->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
      throw std::runtime_error("cannot set SO_REUSEPORT");
    if (endpoint.protocol() == tcp::v6())
      acceptor->set_option(asio::ip::v6_only(!entryPoint->dualStack));
    acceptor->bind(endpoint);
    acceptor->listen(asio::socket_base::max_listen_connections);
    acceptors_.push_back(std::move(acceptor));
    acceptorEntryPoints_.push_back(entryPoint);
  }
}

void Worker::start() {
  for (size_t i = 0; i < acceptors_.size(); ++i) {
    asio::co_spawn(io_, acceptLoop(*acceptors_[i], *acceptorEntryPoints_[i]), [](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("accept loop failed", {{"error", ex.what()}});
        }
      }
    });
  }
  asio::co_spawn(io_, tickLoop(), asio::detached);
  thread_ = std::thread([this] {
    std::string name = "worker-" + std::to_string(index_);
    pthread_setname_np(pthread_self(), name.c_str());
    while (true) {
      try {
        io_.run();
        break;
      } catch (const std::exception& e) {
        log::error("worker loop error", {{"worker", index_}, {"error", e.what()}});
      }
    }
  });
}

awaitable<void> Worker::acceptLoop(tcp::acceptor& acceptor, const EntryPoint& entryPoint) {
  // accept() reports the peer and the listener knows the local port: no getpeername or
  // getsockname per connection.
  error_code localError;
  uint16_t localPort = acceptor.local_endpoint(localError).port();
  tcp::endpoint peer;
  while (acceptor.is_open()) {
    auto [ec, socket] = co_await acceptor.async_accept(peer, nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      // EMFILE and friends: back off briefly instead of spinning.
      log::warn("accept failed", {{"entryPoint", entryPoint.name}, {"error", ec.message()}});
      asio::steady_timer timer(io_, std::chrono::milliseconds(50));
      co_await timer.async_wait(nothrow);
      continue;
    }
    asio::co_spawn(io_, serveConnection(*this, entryPoint, std::move(socket), peer, localPort), [](std::exception_ptr e) {
      if (e) {
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          log::error("connection failed", {{"error", ex.what()}});
        }
      }
    });
  }
}

awaitable<void> Worker::tickLoop() {
  asio::steady_timer timer(io_);
  int ticks = 0;
  while (true) {
    timer.expires_after(std::chrono::milliseconds(100));
    auto [ec] = co_await timer.async_wait(nothrow);
    if (ec) co_return;
    auto now = Clock::now();
    watchdog_.tick(now);
    if (++ticks % 10 == 0) pool_.sweep(now);
  }
}

void Worker::stopAccepting() {
  asio::post(io_, [this] {
    for (auto& acceptor : acceptors_) {
      error_code ignored;
      acceptor->close(ignored);
    }
  });
}

void Worker::drainConnections() {
  asio::post(io_, [this] {
    draining_ = true;
    for (auto& connection : connections_) connection.drain();
    pool_.clear();
    h2Sessions_.closeAll();
  });
}

void Worker::track(DownstreamConnection& connection) { connections_.push_back(connection); }

void Worker::observeRequest(Exchange& ex) {
  for (const auto& observer : server_.observers()) observer->onRequest(ex);
}

void Worker::observeComplete(const Exchange& ex) {
  for (const auto& observer : server_.observers()) observer->onComplete(ex);
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  io_.stop();
  thread_.join();
}

}  // namespace causeway::server
