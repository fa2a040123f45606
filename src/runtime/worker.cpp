#include "runtime/worker.h"

#include <pthread.h>

#include <ctime>

#include "core/log.h"
#include "core/memory_budget.h"

namespace causeway::runtime {

Worker::Worker(unsigned index, const SnapshotHolder& snapshots, const Observers& observers, size_t entryPointCount)
    : WorkerContext(index),
      snapshots_(snapshots),
      observers_(observers),
      pool_(io(), watchdog()),
      openByEntryPoint_(new std::atomic<int64_t>[entryPointCount + 1]()),
      quicByEntryPoint_(new std::atomic<int64_t>[entryPointCount + 1]()) {
  setPools(pool_, h2Sessions_);
}

Worker::~Worker() { stop(); }

const SnapshotPtr& Worker::snapshot() {
  uint64_t generation = snapshots_.generation();
  if (generation != snapshotGeneration_) {
    SnapshotPtr global = snapshots_.load();
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

void Worker::start() {
  asio::co_spawn(io(), tickLoop(), asio::detached);
  thread_ = std::thread([this] {
    std::string name = "worker-" + std::to_string(index());
    pthread_setname_np(pthread_self(), name.c_str());
    while (true) {
      try {
        io().run();
        break;
      } catch (const std::exception& e) {
        log::error("worker loop error", {{"worker", index()}, {"error", e.what()}});
      }
    }
  });
}

awaitable<void> Worker::tickLoop() {
  asio::steady_timer timer(io());
  int ticks = 0;
  while (true) {
    timer.expires_after(std::chrono::milliseconds(100));
    auto [ec] = co_await timer.async_wait(nothrow);
    if (ec) co_return;
    auto now = Clock::now();
    watchdog().tick(now);
    // A worker that served a request keeps that request's snapshot until its next one; an idle
    // worker would keep a replaced configuration (all its routers and services) for good. It
    // takes the current one within a tick, so that the previous generation is freed
    // (control/config_pipeline.cpp frees it on the control thread and gives its memory back).
    if (snapshot_ && snapshots_.generation() != snapshotGeneration_) snapshot();
    if (++ticks % 10 == 0) pool_.sweep(now);
    if (ticks % 20 == 0) {
      // After a spike (connections fell to less than half the peak since the last check),
      // freed memory goes back to the system (docs/security.md, R10); steady load never trims.
      // Also after many idle connections freed their buffers (8 KiB each and more); at most
      // every 30 s, so that clients pausing between requests do not make steady load trim.
      int64_t open = int64_t(activeConnections());
      bool idleTrim = idleReleases_ >= 256 && ticks - lastIdleTrim_ >= 300;
      if (idleTrim) lastIdleTrim_ = ticks;
      if (open * 2 < connectionPeak_ || idleTrim) trimFreeMemory();
      connectionPeak_ = open;
      idleReleases_ = 0;
    }
    connectionPeak_ = std::max(connectionPeak_, int64_t(activeConnections()));
  }
}

void Worker::drainConnections() {
  asio::post(io(), [this] {
    draining_ = true;
    for (auto& connection : connections_) connection.drain();
    pool_.clear();
    h2Sessions_.closeAll();
  });
}

void Worker::track(DownstreamConnection& connection) { connections_.push_back(connection); }

void Worker::stop() {
  if (!thread_.joinable()) return;
  io().stop();
  thread_.join();
}

}  // namespace causeway::runtime
