// A worker: one thread, one event loop, its own listeners (SO_REUSEPORT), its own
// upstream connection pools. A connection lives and dies on the worker that accepted it,
// and nothing a worker touches on the request path is locked.
#pragma once

#include <boost/intrusive/list.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/asio.h"
#include "server/h2_client.h"
#include "server/snapshot.h"
#include "server/upstream_pool.h"
#include "server/watchdog.h"

namespace causeway::server {

class Server;
struct EntryPoint;

// A downstream connection as the worker sees it, for graceful draining.
class DownstreamConnection
    : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  virtual ~DownstreamConnection() = default;
  // Stop reusing the connection: close it now if idle, otherwise after the response
  // in flight (HTTP/1 adds `Connection: close`).
  virtual void drain() = 0;
};

class Worker {
 public:
  Worker(Server& server, unsigned index);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  unsigned index() const { return index_; }
  asio::io_context& io() { return io_; }
  Server& server() { return server_; }
  UpstreamPool& pool() { return pool_; }
  H2SessionPool& h2Sessions() { return h2Sessions_; }
  Watchdog& watchdog() { return watchdog_; }

  // The current snapshot, refreshed when the control thread published a new one. Copies
  // of the returned pointer share a per-worker reference count (no cross-core traffic).
  const SnapshotPtr& snapshot();

  // "Mon, 02 Jan 2006 15:04:05 GMT" for the Date field, recomputed once a second.
  std::string_view httpDate();

  // Binds this worker's listening sockets (one per TCP entryPoint). Throws on failure
  // (at start-up only).
  void listen(const std::vector<const EntryPoint*>& entryPoints);
  void start();                 // starts the thread
  void stopAccepting();         // closes listeners (on the worker thread)
  void drainConnections();      // asks every connection to finish (on the worker thread)
  void stop();                  // stops the loop and joins the thread
  size_t activeConnections() const { return activeConnections_.load(std::memory_order_relaxed); }

  void track(DownstreamConnection& connection);
  // Exchange observers (metrics, access log, tracing): the codecs call these.
  void observeRequest(Exchange& ex);
  void observeComplete(const Exchange& ex);
  bool draining() const { return draining_; }
  // Counted per entryPoint too (traefik_open_connections); the worker thread writes, any
  // thread may read.
  void connectionOpened(size_t entryPoint) {
    activeConnections_.fetch_add(1, std::memory_order_relaxed);
    openByEntryPoint_[entryPoint].fetch_add(1, std::memory_order_relaxed);
  }
  void connectionClosed(size_t entryPoint) {
    activeConnections_.fetch_sub(1, std::memory_order_relaxed);
    openByEntryPoint_[entryPoint].fetch_sub(1, std::memory_order_relaxed);
  }
  int64_t openConnections(size_t entryPoint) const {
    return openByEntryPoint_[entryPoint].load(std::memory_order_relaxed);
  }

 private:
  awaitable<void> acceptLoop(tcp::acceptor& acceptor, const EntryPoint& entryPoint);
  awaitable<void> tickLoop();

  Server& server_;
  unsigned index_;
  asio::io_context io_;
  std::thread thread_;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors_;
  std::vector<const EntryPoint*> acceptorEntryPoints_;
  Watchdog watchdog_;
  UpstreamPool pool_;
  H2SessionPool h2Sessions_;
  SnapshotPtr snapshot_;
  uint64_t snapshotGeneration_ = ~uint64_t(0);
  std::string date_;
  int64_t dateSecond_ = -1;
  bool draining_ = false;
  std::atomic<size_t> activeConnections_{0};
  std::unique_ptr<std::atomic<int64_t>[]> openByEntryPoint_;  // by EntryPoint::index
  boost::intrusive::list<DownstreamConnection, boost::intrusive::constant_time_size<false>> connections_;
};

}  // namespace causeway::server
