// The semantic cache's store: answers kept with the embedding of what was asked, found again
// by the same words (exact tier: a hash of partition, model and text) or by meaning (the
// nearest embedding in the same partition and model within a cosine distance).
//
// In memory, per middleware, shared by every worker (a shared mutex: many lookups, few
// inserts). Bounded: at most maxEntries answers; the oldest go first, and an entry is dropped
// once its ttl has passed. The similarity search is exact: the vectors of a scope sit in one
// contiguous matrix (normalized once), scanned row by row; docs/benchmarks.md has its cost.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace causeway::gateway::ai {

class VectorStore {
 public:
  using Clock = std::chrono::steady_clock;
  VectorStore(size_t maxEntries, std::chrono::nanoseconds ttl) : maxEntries_(maxEntries), ttl_(ttl) {}

  struct Hit {
    std::shared_ptr<const std::string> answer;
    double distance = 0;  // 0 for the exact tier
    bool exact = false;
  };
  // `scope`: partition and model; `text`: what was embedded.
  std::optional<Hit> exact(const std::string& scope, const std::string& text, Clock::time_point now) const;
  std::optional<Hit> nearest(const std::string& scope, const std::vector<float>& vector, double maxDistance,
                             Clock::time_point now) const;
  // `expires`: when the entry goes (default: now + ttl; an entry another instance shared keeps
  // its own).
  void insert(const std::string& scope, const std::string& text, std::vector<float> vector, std::string answer,
              Clock::time_point now, std::optional<Clock::time_point> expires = std::nullopt);
  size_t size() const;

  static void normalize(std::vector<float>& v);

 private:
  struct Entry {
    uint64_t id = 0;
    std::string scope;
    std::string key;  // scope + '\0' + text
    size_t row = 0;   // in its scope's matrix
    std::shared_ptr<const std::string> answer;
    Clock::time_point expires;
  };
  struct Scope {
    size_t dims = 0;
    std::vector<float> matrix;   // one row of `dims` floats per entry
    std::vector<uint64_t> ids;   // the entry of each row
  };
  void evictOne();

  size_t maxEntries_;
  std::chrono::nanoseconds ttl_;
  mutable std::shared_mutex mutex_;
  uint64_t nextId_ = 1;
  std::map<uint64_t, Entry> entries_;                          // by age (ids grow)
  std::unordered_map<std::string, uint64_t> byKey_;            // exact tier
  std::unordered_map<std::string, Scope> byScope_;   // similarity candidates
};

}  // namespace causeway::gateway::ai
