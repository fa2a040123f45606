// The health of one server of one loadBalancer service (Traefik's per-server status),
// shared by every worker that picks servers and by the checks that judge them.
//
// A server is UP when the active check (if any) last found it healthy and the passive check
// has not taken it out of rotation. Workers read the status through atomics; the active
// check writes it on the control thread; passive results are recorded by the worker that
// saw them (a spun flag guards the failure window, taken only after a failure or on the
// first success after one).
//
// Passive health (Traefik v3.6 passiveHealthCheck): a request fails when the upstream was
// never reached (dial error) or the answer is 5xx, including causeway's own 502/504. A
// success clears the failures. When maxFailedAttempts failures fall within failureWindow the
// server leaves rotation: for failureWindow when there is no active check, otherwise until
// the active check finds it healthy again.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "io/asio.h"
#include "io/watchdog.h"

namespace causeway::upstream {

struct PassiveHealthOptions {
  std::chrono::nanoseconds failureWindow{std::chrono::seconds(10)};
  int maxFailedAttempts = 1;
  bool activeCheck = false;  // the service also has an active health check
};

class ServerHealth : public std::enable_shared_from_this<ServerHealth> {
 public:
  ServerHealth(std::string service, std::string url)
      : service_(std::make_shared<const std::string>(std::move(service))), url_(std::move(url)) {}
  // The servers of one service share its name.
  ServerHealth(std::shared_ptr<const std::string> service, std::string url)
      : service_(std::move(service)), url_(std::move(url)) {}

  const std::string& service() const { return *service_; }
  const std::string& url() const { return url_; }

  // Any thread. Reads the clock only while a passive failure window is running.
  bool up() const {
    if (!activeUp_.load(std::memory_order_relaxed)) return false;
    int64_t until = passiveDownUntil_.load(std::memory_order_relaxed);
    return until == 0 || Clock::now().time_since_epoch().count() >= until;
  }
  bool upAt(Clock::time_point now) const {
    if (!activeUp_.load(std::memory_order_relaxed)) return false;
    int64_t until = passiveDownUntil_.load(std::memory_order_relaxed);
    return until == 0 || now.time_since_epoch().count() >= until;
  }

  bool activeUp() const { return activeUp_.load(std::memory_order_relaxed); }
  // Active check result (control thread). Returns true when the status changed.
  bool setActiveUp(bool up) { return activeUp_.exchange(up, std::memory_order_relaxed) != up; }

  // Passive results (any worker). recordFailure returns true when this failure took the
  // server out of rotation.
  bool recordFailure(Clock::time_point now, const PassiveHealthOptions& options);
  void recordSuccess() {
    if (failureCount_.load(std::memory_order_relaxed) == 0) return;
    Locked lock(busy_);
    failures_.clear();
    failureCount_.store(0, std::memory_order_relaxed);
  }
  // True while a passive failure window keeps the server out (no active check).
  bool passivelyDownAt(Clock::time_point now) const {
    int64_t until = passiveDownUntil_.load(std::memory_order_relaxed);
    return until != 0 && now.time_since_epoch().count() < until;
  }
  // Ends a passive window that is over (control thread, for the log); true if it was running.
  bool clearPassiveWindow(Clock::time_point now);

  // Where passive transitions are reported (the control thread's loop); null: not reported.
  void setControl(asio::io_context* control) { control_ = control; }

 private:
  void reportPassiveDown(std::chrono::nanoseconds window);

  const std::shared_ptr<const std::string> service_;
  const std::string url_;
  std::atomic<bool> activeUp_{true};
  std::atomic<int64_t> passiveDownUntil_{0};  // steady clock, ns; 0 = not passively down
  std::atomic<int> failureCount_{0};
  // Guards failures_. A flag spun on rather than a std::mutex (40 bytes, one per server of every
  // load balancer): it is taken only after a failure, or on the first success after one, and
  // held for a few instructions.
  std::atomic_flag busy_;
  struct Locked {
    explicit Locked(std::atomic_flag& flag) : flag_(flag) {
      while (flag_.test_and_set(std::memory_order_acquire)) std::this_thread::yield();
    }
    ~Locked() { flag_.clear(std::memory_order_release); }
    std::atomic_flag& flag_;
  };
  // At most maxFailedAttempts, oldest first. A vector: a deque allocates 576 bytes when made,
  // and there is one of these per server of every load balancer.
  std::vector<Clock::time_point> failures_;
  asio::io_context* control_ = nullptr;
};
using ServerHealthPtr = std::shared_ptr<ServerHealth>;

}  // namespace causeway::upstream
