// Budgets of LLM tokens (or of cost) per source, for the AI gateway's token limits. Unlike a
// request rate limit, what a request costs is known only after its answer, so a budget is
// checked before the request (is anything left?) and debited after it (what the provider
// reported); a large answer can take a budget below zero, and the next requests wait until it
// has refilled.
//   Bucket  ai-rate-limit: a token bucket holding `limit`, refilled at limit/period
//   Window  ai-quota: a sliding window of length `period` (the current and the previous
//           fixed window, the previous weighted by how much of it still overlaps)
// Thread-safe: one budget is shared by every worker. Bounded: at most maxSources sources are
// kept; beyond that the ones that have recovered completely are forgotten first.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace causeway::limits {

class TokenBudget {
 public:
  enum class Kind { Bucket, Window };
  using Nanos = std::chrono::nanoseconds;

  TokenBudget(Kind kind, double limit, Nanos period, size_t maxSources = 100000);

  // The budget registered under `key` with this kind, limit and period, made when no holder is
  // left: handlers rebuilt by a reload keep counting in the budget of the handlers they replace
  // as long as its numbers do not change. Thread-safe.
  static std::shared_ptr<TokenBudget> shared(const std::string& key, Kind kind, double limit, Nanos period);
  // Now on the monotonic clock, in the nanoseconds check/take/debit expect.
  static int64_t nowNanos();

  struct Decision {
    bool allowed = true;
    Nanos retryAfter{0};  // when refused: until the budget allows `need` again
    double remaining = 0;
  };
  // Is there room for a request that will use at least `need` (0: anything left at all)?
  Decision check(const std::string& source, int64_t nowNanos, double need = 0);
  // Takes what a request used.
  void debit(const std::string& source, int64_t nowNanos, double used);
  // check() and, when allowed, debit() of `need` at once (no other thread in between): for
  // costs known before the request (API plans count requests).
  Decision take(const std::string& source, int64_t nowNanos, double need);
  // Gives back what take() took for a request that was refused after all.
  void refund(const std::string& source, int64_t nowNanos, double amount);

  double limit() const { return limit_; }

 private:
  struct State {
    double value = 0;       // Bucket: tokens left. Window: used in the current window.
    double previous = 0;    // Window: used in the previous window
    int64_t stamp = 0;      // Bucket: last refill. Window: start of the current window.
    bool fresh = true;
  };
  void advance(State& s, int64_t now) const;
  Decision decide(State& s, int64_t now, double need) const;
  double available(const State& s, int64_t now) const;
  void trim(int64_t now);

  Kind kind_;
  double limit_;
  int64_t period_;
  size_t maxSources_;
  std::mutex mutex_;
  std::unordered_map<std::string, State> sources_;
};

}  // namespace causeway::limits
