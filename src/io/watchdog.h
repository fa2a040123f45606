// Coarse timeouts without a timer per operation: a connection writes its current
// deadline into its Watched entry (one clock read, no system call) and a per-worker tick
// expires overdue entries. Expiry calls onDeadline(), which typically cancels the socket
// so the pending operation completes with an error the coroutine then handles.
// Single-threaded: a Watchdog and its entries belong to one worker.
#pragma once

#include <boost/intrusive/list.hpp>
#include <chrono>

#include "core/clock.h"

namespace causeway::io {

class Watched : public boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>> {
 public:
  virtual ~Watched() = default;
  // Sets the deadline `timeout` from now; zero or negative means no deadline.
  void armIn(Clock::duration timeout) {
    deadline_ = timeout.count() > 0 ? Clock::now() + timeout : Clock::time_point::max();
  }
  void armAt(Clock::time_point at) { deadline_ = at; }
  void disarm() { deadline_ = Clock::time_point::max(); }
  Clock::time_point deadline() const { return deadline_; }
  // Called once when the deadline passes; the entry is disarmed first. Must not destroy
  // any Watched entry synchronously (cancel the socket; Asio posts the completion).
  virtual void onDeadline() = 0;

 private:
  Clock::time_point deadline_ = Clock::time_point::max();
};

class Watchdog {
 public:
  void watch(Watched& entry) { entries_.push_back(entry); }
  // Expires every overdue entry. Entries may unlink themselves from onDeadline().
  void tick(Clock::time_point now);
  size_t size() const { return entries_.size(); }

 private:
  boost::intrusive::list<Watched, boost::intrusive::constant_time_size<false>> entries_;
};

}  // namespace causeway::io
