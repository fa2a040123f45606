// The semantic cache's store: answers kept with the embedding of what was asked, found again
// by the same words (exact tier: a hash of partition, model and text) or by meaning (the
// nearest embedding in the same partition and model within a cosine distance).
//
// In memory, per middleware, shared by every worker (a shared mutex: many lookups, few
// inserts). Bounded: at most maxEntries answers and maxBytes (answers, texts and vectors); the
// oldest go first, and an entry is dropped once its ttl has passed.
//
// Similarity search: the vectors of a scope sit in one matrix of slots (normalized once; a
// slot freed by an eviction is reused). A scope of fewer than kIndexFrom entries is scanned
// row by row (exact); a larger one also has an HNSW graph (hnswlib, inner product), built once
// when the scope reaches kIndexFrom and kept up to date by every insert and eviction, and
// searched instead (approximate: a very near neighbour is found with near certainty, which is
// what a cache hit needs). docs/benchmarks.md has the cost of both.
#pragma once

#include <chrono>
#include <cstdint>
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
  // A scope switches from scanning to its HNSW graph at this many entries.
  static constexpr size_t kIndexFrom = 2048;

  VectorStore(size_t maxEntries, size_t maxBytes, std::chrono::nanoseconds ttl);
  ~VectorStore();

  struct Hit {
    std::shared_ptr<const std::string> answer;
    double distance = 0;  // 0 for the exact tier
    bool exact = false;
  };
  // `scope`: partition and model; `text`: what was embedded.
  std::optional<Hit> exact(const std::string& scope, const std::string& text, Clock::time_point now) const;
  // `vector` normalized (normalize()); nothing for a vector with a non-finite component.
  std::optional<Hit> nearest(const std::string& scope, const std::vector<float>& vector, double maxDistance,
                             Clock::time_point now) const;
  // `expires`: when the entry goes (default: now + ttl; an entry another instance shared keeps
  // its own). A vector with a non-finite component, or of another length than the scope's
  // (another embedding model), is not kept.
  void insert(const std::string& scope, const std::string& text, std::vector<float> vector, std::string answer,
              Clock::time_point now, std::optional<Clock::time_point> expires = std::nullopt);
  size_t size() const;
  size_t bytes() const;
  // Whether `scope` is searched through its HNSW graph (tests, benchmarks).
  bool indexed(const std::string& scope) const;

  static void normalize(std::vector<float>& v);

 private:
  struct Entry {
    uint64_t id = 0;
    std::string scope;
    std::string key;  // scope + '\0' + text
    size_t slot = 0;  // in its scope's matrix
    size_t bytes = 0;
    std::shared_ptr<const std::string> answer;
    Clock::time_point expires;
  };
  struct Scope;
  void evictOne();
  const Entry* scanNearest(const Scope& s, const float* query, Clock::time_point now, float& similarity) const;
  const Entry* graphNearest(const Scope& s, const float* query, Clock::time_point now, float& similarity) const;

  size_t maxEntries_;
  size_t maxBytes_;
  std::chrono::nanoseconds ttl_;
  mutable std::shared_mutex mutex_;
  uint64_t nextId_ = 1;
  size_t bytes_ = 0;
  std::map<uint64_t, Entry> entries_;                 // by age (ids grow)
  std::unordered_map<std::string, uint64_t> byKey_;   // exact tier
  std::unordered_map<std::string, std::unique_ptr<Scope>> byScope_;  // similarity candidates
};

}  // namespace causeway::gateway::ai
