// What a handler may use of the worker that runs it: the worker's index (for per-worker
// state), its event loop and watchdog (owned here), and its upstream connection pools. Handlers never
// see the worker itself (runtime/worker.h), so the layers above the contract do not depend
// on listeners, snapshots or codecs.
//
// The pools are named here and defined in upstream/, the layer that uses them; no other
// layer dereferences them. A WorkerContext belongs to one worker thread.
#pragma once

#include "io/asio.h"
#include "io/watchdog.h"

namespace causeway::upstream {
class UpstreamPool;
class H2SessionPool;
}  // namespace causeway::upstream

namespace causeway::exchange {

class WorkerContext {
 public:
  WorkerContext(const WorkerContext&) = delete;
  WorkerContext& operator=(const WorkerContext&) = delete;

  unsigned index() const { return index_; }
  asio::io_context& io() { return io_; }
  io::Watchdog& watchdog() { return watchdog_; }
  upstream::UpstreamPool& pool() { return *pool_; }
  upstream::H2SessionPool& h2Sessions() { return *h2Sessions_; }

 protected:
  // Sockets never leave their worker, so the reactor needs no per-socket locking; the
  // scheduler keeps its lock for the few cross-thread posts (drain, stop).
  explicit WorkerContext(unsigned index) : index_(index), io_(BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO) {}
  // The owner (runtime::Worker) sets the pools once they exist.
  ~WorkerContext() = default;
  void setPools(upstream::UpstreamPool& pool, upstream::H2SessionPool& h2Sessions) {
    pool_ = &pool;
    h2Sessions_ = &h2Sessions;
  }

 private:
  unsigned index_;
  asio::io_context io_;
  io::Watchdog watchdog_;
  upstream::UpstreamPool* pool_ = nullptr;
  upstream::H2SessionPool* h2Sessions_ = nullptr;
};

}  // namespace causeway::exchange
