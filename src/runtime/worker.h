// A worker: one thread, one event loop, its own upstream connection pools and its view of
// the published snapshot. A connection lives and dies on the worker that accepted it
// (downstream/listener.h binds one listening socket per entryPoint and worker with
// SO_REUSEPORT), and nothing a worker touches on the request path is locked.
//
// Handlers see a worker only as its exchange::WorkerContext (index, event loop, watchdog,
// pools); the codecs in downstream/ use the rest (snapshot, Date, draining, observers).
#pragma once

#include <atomic>
#include <boost/intrusive/list.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "exchange/exchange.h"
#include "exchange/worker_context.h"
#include "io/asio.h"
#include "runtime/snapshot.h"
#include "upstream/connection_pool.h"
#include "upstream/h2_client.h"

namespace causeway::runtime {

// A downstream connection as the worker sees it, for graceful draining.
class DownstreamConnection
    : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  virtual ~DownstreamConnection() = default;
  // Stop reusing the connection: close it now if idle, otherwise after the response
  // in flight (HTTP/1 adds `Connection: close`).
  virtual void drain() = 0;
};

using Observers = std::vector<std::shared_ptr<exchange::ExchangeObserver>>;

class Worker final : public exchange::WorkerContext {
 public:
  // `snapshots` and `observers` belong to the caller and outlive the worker; observers are
  // complete before start(). `entryPointCount` sizes the per-entryPoint connection counts.
  Worker(unsigned index, const SnapshotHolder& snapshots, const Observers& observers, size_t entryPointCount);
  ~Worker();

  // The current snapshot, refreshed when the control thread published a new one. Copies
  // of the returned pointer share a per-worker reference count (no cross-core traffic).
  const SnapshotPtr& snapshot();

  // "Mon, 02 Jan 2006 15:04:05 GMT" for the Date field, recomputed once a second.
  std::string_view httpDate();

  void start();                 // starts the thread (listeners spawn their loops before)
  void drainConnections();      // asks every connection to finish (on the worker thread)
  void stop();                  // stops the loop and joins the thread
  size_t activeConnections() const { return activeConnections_.load(std::memory_order_relaxed); }

  void track(DownstreamConnection& connection);
  // Exchange observers (metrics, access log, tracing): the codecs call these.
  void observeRequest(exchange::Exchange& ex) {
    for (const auto& observer : observers_) observer->onRequest(ex);
  }
  void observeComplete(const exchange::Exchange& ex) {
    for (const auto& observer : observers_) observer->onComplete(ex);
  }
  void observeLayer4(const exchange::Layer4Record& record) {
    for (const auto& observer : observers_) observer->onLayer4(record);
  }
  bool observed() const { return !observers_.empty(); }
  bool draining() const { return draining_; }
  // An idle connection gave its buffers back (h1_connection.h, kIdleRelease): enough of them
  // and the freed memory goes back to the system at the next check.
  void releasedIdleMemory() { ++idleReleases_; }
  // Counted per entryPoint too (traefik_open_connections), QUIC connections (HTTP/3) apart
  // from TCP ones; the worker thread writes, any thread may read.
  void connectionOpened(size_t entryPoint, bool quic = false) {
    activeConnections_.fetch_add(1, std::memory_order_relaxed);
    (quic ? quicByEntryPoint_ : openByEntryPoint_)[entryPoint].fetch_add(1, std::memory_order_relaxed);
  }
  void connectionClosed(size_t entryPoint, bool quic = false) {
    activeConnections_.fetch_sub(1, std::memory_order_relaxed);
    (quic ? quicByEntryPoint_ : openByEntryPoint_)[entryPoint].fetch_sub(1, std::memory_order_relaxed);
  }
  int64_t openConnections(size_t entryPoint, bool quic = false) const {
    return (quic ? quicByEntryPoint_ : openByEntryPoint_)[entryPoint].load(std::memory_order_relaxed);
  }

 private:
  awaitable<void> tickLoop();

  const SnapshotHolder& snapshots_;
  const Observers& observers_;
  std::thread thread_;
  upstream::UpstreamPool pool_;
  upstream::H2SessionPool h2Sessions_;
  SnapshotPtr snapshot_;
  uint64_t snapshotGeneration_ = ~uint64_t(0);
  std::string date_;
  int64_t dateSecond_ = -1;
  bool draining_ = false;
  std::atomic<size_t> activeConnections_{0};
  std::unique_ptr<std::atomic<int64_t>[]> openByEntryPoint_;  // by EntryPoint::index
  std::unique_ptr<std::atomic<int64_t>[]> quicByEntryPoint_;  // by EntryPoint::index
  int64_t connectionPeak_ = 0;  // most open connections seen since the last trim check
  int64_t idleReleases_ = 0;    // idle connections that freed their buffers since the last check
  int lastIdleTrim_ = -1000;    // the tick of the last trim they caused (at most one per 30 s)
  boost::intrusive::list<DownstreamConnection, boost::intrusive::constant_time_size<false>> connections_;
};

}  // namespace causeway::runtime
