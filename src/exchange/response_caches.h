// The response caches of the httpCache middleware (src/middleware/cache), by middleware
// name, for the layers above the middlewares that read or purge them: the REST API (list,
// purge) and the metrics. A cache registers itself when it is made and is gone from the
// list once the last configuration that used it is.
//
// Threads: any. The directory holds weak references under one mutex; a cache's own methods
// are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/asio.h"

namespace causeway::exchange {

class WorkerContext;

class ResponseCache {
 public:
  struct Stats {
    uint64_t entries = 0, bytes = 0, limit = 0;
    // Requests by outcome (the Cache-Status of docs/cache.md).
    uint64_t hits = 0;         // served from the store, fresh
    uint64_t stale = 0;        // served from the store, stale (stale-while-revalidate, stale-if-error)
    uint64_t revalidated = 0;  // the origin answered 304 to a conditional request
    uint64_t misses = 0;       // forwarded, nothing usable was stored
    uint64_t collapsed = 0;    // waited for another request's answer to the same URL
    uint64_t bypass = 0;       // not for the cache: a method other than GET and HEAD, or an upgrade
    uint64_t stored = 0, evicted = 0;
    uint64_t servedBytes = 0;  // body bytes served from the store
  };
  virtual ~ResponseCache() = default;
  virtual Stats stats() const = 0;
  // Removes the stored responses for `url` (every variant), or all of them when `url` is
  // empty; a `url` ending in '*' removes every URL that starts with the rest. URLs are written
  // "host/path?query" (docs/cache.md, Purging). Returns how many responses were removed.
  virtual size_t purge(std::string_view url) = 0;
  // The same in the cache's shared tier, when it has one (store.redis), from `worker`; how
  // many keys were removed there.
  virtual awaitable<size_t> purgeShared(WorkerContext& worker, std::string_view url) { co_return 0; }
  virtual bool shared() const { return false; }
};

class ResponseCaches {
 public:
  static ResponseCaches& instance();

  // The newest live cache registered under `name` when it has the same `shape` (what its keys
  // depend on), else null; a middleware rebuilt by a reload keeps its stored responses this way.
  std::shared_ptr<ResponseCache> find(std::string_view name, std::string_view shape) const;
  void add(std::string name, std::string shape, const std::shared_ptr<ResponseCache>& cache);
  // The live caches, sorted by name.
  std::vector<std::pair<std::string, std::shared_ptr<ResponseCache>>> all() const;

 private:
  struct Entry {
    std::string name, shape;
    std::weak_ptr<ResponseCache> cache;
  };
  mutable std::mutex mutex_;
  mutable std::vector<Entry> entries_;
};

}  // namespace causeway::exchange
