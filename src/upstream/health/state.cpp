#include "upstream/health/state.h"

#include <algorithm>

#include "core/log.h"

namespace causeway::upstream {

bool ServerHealth::recordFailure(Clock::time_point now, const PassiveHealthOptions& options) {
  {
    Locked lock(busy_);
    failures_.push_back(now);
    size_t keep = size_t(std::max(options.maxFailedAttempts, 1));
    size_t drop = failures_.size() > keep ? failures_.size() - keep : 0;
    // Only failures inside the sliding window count.
    while (drop < failures_.size() && failures_[drop] <= now - options.failureWindow) ++drop;
    failures_.erase(failures_.begin(), failures_.begin() + ptrdiff_t(drop));
    failureCount_.store(int(failures_.size()), std::memory_order_relaxed);
    if (int(failures_.size()) < options.maxFailedAttempts) return false;
  }
  if (options.activeCheck) {
    // The active check brings it back when it finds the server healthy.
    return activeUp_.exchange(false, std::memory_order_relaxed);
  }
  int64_t until = (now + options.failureWindow).time_since_epoch().count();
  int64_t current = passiveDownUntil_.load(std::memory_order_relaxed);
  // A window already running is not extended (Traefik keeps its first timer).
  while (current == 0 || now.time_since_epoch().count() >= current) {
    if (passiveDownUntil_.compare_exchange_weak(current, until, std::memory_order_relaxed)) {
      reportPassiveDown(options.failureWindow);
      return true;
    }
  }
  return false;
}

bool ServerHealth::clearPassiveWindow(Clock::time_point now) {
  int64_t current = passiveDownUntil_.load(std::memory_order_relaxed);
  if (current == 0 || now.time_since_epoch().count() < current) return false;
  return passiveDownUntil_.compare_exchange_strong(current, 0, std::memory_order_relaxed);
}

void ServerHealth::reportPassiveDown(std::chrono::nanoseconds window) {
  if (!control_) return;
  // The end of the window is logged on the control thread; the status itself needs no
  // timer (up() compares the deadline with the clock).
  asio::post(*control_, [self = shared_from_this(), window, control = control_] {
    auto timer = std::make_shared<asio::steady_timer>(*control, window);
    timer->async_wait([self, timer](error_code ec) {
      if (ec) return;
      if (self->clearPassiveWindow(Clock::now()) && self->activeUp())
        log::info("server is UP again: passive health check window over",
                  {{"serviceName", self->service()}, {"targetURL", self->url()}});
    });
  });
}

}  // namespace causeway::upstream
