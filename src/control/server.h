// The data plane as a whole: the entryPoints resolved from the static configuration, the
// workers that serve them, and the holder through which the control thread publishes
// snapshots. Graceful shutdown follows Traefik's lifeCycle: keep accepting for
// requestAcceptGraceTimeout (ping answers terminatingStatusCode meanwhile), then stop
// accepting and let in-flight requests finish within graceTimeOut.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "config/config_error.h"
#include "config/static_config.h"
#include "downstream/listener.h"
#include "runtime/entry_point.h"
#include "runtime/snapshot.h"
#include "runtime/worker.h"

namespace causeway::control {

// Turns the static entryPoints into data-plane EntryPoints (addresses resolved, networks
// parsed). UDP entryPoints are reported as not supported yet and skipped.
std::vector<runtime::EntryPoint> resolveEntryPoints(const config::StaticConfig& config,
                                           std::vector<config::ConfigError>& errors);

class Server {
 public:
  Server(const config::StaticConfig& config, std::vector<runtime::EntryPoint> entryPoints);
  ~Server();

  const std::vector<runtime::EntryPoint>& entryPoints() const { return entryPoints_; }
  runtime::SnapshotHolder& snapshots() { return snapshots_; }
  const std::atomic<bool>& terminating() const { return terminating_; }
  unsigned workerCount() const { return unsigned(workers_.size()); }

  // Binds every listener on every worker. Returns false with `error` when a port is taken.
  bool bind(std::string& error);
  void start();
  // Marks the server as terminating (ping answers terminatingStatusCode).
  void beginTermination() { terminating_.store(true); }
  void stopAccepting();
  void drain();
  size_t activeConnections() const;
  // Open downstream connections of one entryPoint, over every worker (any thread).
  int64_t openConnections(size_t entryPointIndex, bool quic = false) const;
  void stop();

  // Observers see every exchange (metrics, access log, tracing). Add them before start().
  void addObserver(std::shared_ptr<exchange::ExchangeObserver> observer) { observers_.push_back(std::move(observer)); }
  const std::vector<std::shared_ptr<exchange::ExchangeObserver>>& observers() const { return observers_; }

 private:
  const config::StaticConfig& config_;
  std::vector<runtime::EntryPoint> entryPoints_;
  runtime::SnapshotHolder snapshots_;
  runtime::Observers observers_;
  std::atomic<bool> terminating_{false};
  std::vector<std::unique_ptr<runtime::Worker>> workers_;      // each uses snapshots_ and observers_
  std::vector<std::unique_ptr<downstream::Listener>> listeners_;  // one per worker
  std::vector<int> portLocks_;  // abstract Unix sockets held while we own the ports
};

}  // namespace causeway::control
