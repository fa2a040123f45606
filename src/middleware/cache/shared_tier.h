// The httpCache middleware's shared second tier (store.redis, docs/cache.md): every response the
// memory store keeps is also written to Redis, and a memory miss looks there before it goes to
// the service, so that several causeway instances fill one another's stores.
//
// Layout: one Redis hash per key, "<prefix><key>", whose fields are the variants (their Vary
// values, variantName) and whose values are the encoded responses (encodeStored). The hash
// expires when its newest variant can no longer be used (freshness, the stale windows, and
// maxTtl more for a response that can be revalidated).
//
// Failures: a Redis error or timeout is logged (debug) and the request goes on as a miss; after
// one, the tier is skipped for kPause so that a Redis outage does not add its timeout to every
// miss. Writes and deletions run in the background: no client waits for them.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "clients/redis/redis_client.h"
#include "exchange/worker_context.h"
#include "middleware/cache/cache_store.h"

namespace causeway::middleware::cache {

class SharedTier {
 public:
  static constexpr std::chrono::seconds kPause{5};

  SharedTier(clients::redis::RedisSettings redis, std::string prefix, bool keyHost, bool keyQuery, int64_t maxTtl)
      : redis_(std::move(redis)), prefix_(std::move(prefix)), keyHost_(keyHost), keyQuery_(keyQuery), maxTtl_(maxTtl) {}

  // The variants stored in Redis under `key` (empty when none, or on failure).
  awaitable<std::vector<std::shared_ptr<Stored>>> fetch(exchange::WorkerContext& worker, std::string_view key) const;
  // Writes `stored` under `key`, in the background.
  void put(exchange::WorkerContext& worker, std::string_view key, StoredPtr stored) const;
  // Removes `key`, in the background.
  void remove(exchange::WorkerContext& worker, std::string_view key) const;
  // Removes what purge(url) removes from a memory store (every variant of the URL, a prefix
  // with '*', or everything for ""); the number of keys removed.
  awaitable<size_t> purge(exchange::WorkerContext& worker, std::string_view url) const;

 private:
  bool paused() const;
  void fail(std::string_view what, std::string_view error) const;
  std::shared_ptr<clients::redis::RedisClient> client(exchange::WorkerContext& worker) const;

  clients::redis::RedisSettings redis_;
  std::string prefix_;  // "httpcache:<middleware>:"
  bool keyHost_, keyQuery_;
  int64_t maxTtl_;
  mutable std::atomic<int64_t> pausedUntil_{0};  // steady clock, nanoseconds
};

}  // namespace causeway::middleware::cache
