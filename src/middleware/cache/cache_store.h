// The httpCache middleware's memory store: stored responses by key (with their Vary
// variants), least recently used evicted first once the byte limit is reached, and the
// request coalescing that lets one miss go upstream while later requests for the same key
// wait for its answer (docs/cache.md).
//
// Threads: every worker of every router that uses the middleware shares one store; one mutex
// guards the map, the LRU list and the waiting requests (held for a lookup, an insert or a
// wake-up, never across I/O). Stored responses are immutable and shared (shared_ptr), so a
// response being sent stays valid when it is evicted or replaced.
#pragma once

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "exchange/response_caches.h"
#include "http/headers.h"
#include "io/asio.h"

namespace causeway::middleware::cache {

// One stored response.
struct Stored {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as sent, without Age and framing
  std::shared_ptr<const std::string> body;                   // shared by refreshed copies
  // The request fields the response varies on (lower-case name) and their values then.
  std::vector<std::pair<std::string, std::string>> vary;
  std::string etag, lastModified;
  std::string url;             // "host/path?query", for purging
  int64_t responseTime = 0;    // epoch seconds when it arrived (or was revalidated)
  int64_t initialAge = 0;      // its age then (RFC 9111 §4.2.3)
  int64_t lifetime = 0;        // freshness lifetime, capped by maxTtl
  int64_t staleWhileRevalidate = -1;  // seconds past the lifetime it may still be served (-1: none)
  int64_t staleIfError = -1;
  bool noCache = false;         // validated with the origin before every use
  bool mustRevalidate = false;  // never served stale
  size_t bytes = 0;             // what it counts against the limit

  int64_t age(int64_t now) const { return initialAge + (now > responseTime ? now - responseTime : 0); }
  bool hasValidator() const { return !etag.empty() || !lastModified.empty(); }
  // What it counts against the store's limit: its bytes and a share for the bookkeeping.
  size_t footprint() const;
};
using StoredPtr = std::shared_ptr<const Stored>;

// A stored response as bytes for the shared tier (Redis), and back. decodeStored returns null
// for bytes it did not write (another version, truncated, or not a response at all).
std::string encodeStored(const Stored& stored);
std::shared_ptr<Stored> decodeStored(std::string_view bytes);
// The variant's name in its key's hash: its Vary values, NUL-separated.
std::string variantName(const Stored& stored);

// The request field values a Vary name selects: every line of it joined with ", ".
std::string varyValue(const http::Headers& request, std::string_view name);
// The newest stored variant whose Vary values match `request`, or null.
StoredPtr pickVariant(const std::vector<StoredPtr>& variants, const http::Headers& request);

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>()(s); }
};

class SharedTier;

class Store final : public exchange::ResponseCache, public std::enable_shared_from_this<Store> {
 public:
  static constexpr size_t kMaxVariants = 32;  // per key; the oldest goes first

  // `tier`: the shared second tier (null: this instance only).
  Store(uint64_t limit, std::shared_ptr<const SharedTier> tier);
  ~Store() override;
  const SharedTier* tier() const { return tier_.get(); }

  // The variant stored under `key` that matches `request`'s Vary values, or null; `keyFound`
  // tells a key without a matching variant from no key. The key becomes the most recently used.
  StoredPtr lookup(std::string_view key, const http::Headers& request, bool& keyFound);
  // Stores `response` under `key`, in place of a variant with the same Vary values, and evicts
  // the least recently used keys until the store fits its limit again.
  void insert(std::string_view key, StoredPtr response);
  void erase(std::string_view key);

  // A request waiting for another one's answer. Its timer runs on its own worker; the store
  // cancels it (through the timer's executor) when the answer is in.
  struct Waiter {
    explicit Waiter(asio::any_io_executor executor) : timer(std::move(executor)) {}
    asio::steady_timer timer;
  };
  // Whether the caller fetches `key` itself: true makes it the one request in flight for that
  // key until its Fill ends (then the waiters wake); false queued `waiter` behind it. A null
  // `waiter` only asks (nothing is queued).
  class Fill;
  std::unique_ptr<Fill> lead(std::string_view key, const std::shared_ptr<Waiter>& waiter);

  Stats stats() const override;
  size_t purge(std::string_view url) override;
  awaitable<size_t> purgeShared(exchange::WorkerContext& worker, std::string_view url) override;
  bool shared() const override { return tier_ != nullptr; }

  // Counters by outcome (docs/cache.md, Cache-Status).
  std::atomic<uint64_t> hits{0}, stale{0}, revalidated{0}, misses{0}, collapsed{0}, bypass{0}, servedBytes{0};

 private:
  struct Node {
    std::string key;
    std::vector<StoredPtr> variants;
    size_t bytes = 0;
  };
  void fillDone(const std::string& key);
  void removeLocked(std::list<Node>::iterator node);
  // Takes one variant out of `node` (its bytes and count with it); the next variant.
  std::vector<StoredPtr>::iterator removeVariantLocked(Node& node, std::vector<StoredPtr>::iterator variant);

  const uint64_t limit_;
  const std::shared_ptr<const SharedTier> tier_;
  mutable std::mutex mutex_;
  std::list<Node> lru_;  // front: most recently used
  std::unordered_map<std::string_view, std::list<Node>::iterator> index_;  // views into Node::key
  // Waiters are held weakly: one whose request is gone (its worker shutting down) is skipped.
  std::unordered_map<std::string, std::vector<std::weak_ptr<Waiter>>, StringHash, std::equal_to<>> filling_;
  uint64_t bytes_ = 0, entries_ = 0, stored_ = 0, evicted_ = 0;
};

// The request in flight for a key; ending it (destruction) wakes the requests that wait.
class Store::Fill {
 public:
  Fill(std::shared_ptr<Store> store, std::string key) : store_(std::move(store)), key_(std::move(key)) {}
  ~Fill() { store_->fillDone(key_); }
  Fill(const Fill&) = delete;
  Fill& operator=(const Fill&) = delete;

 private:
  std::shared_ptr<Store> store_;
  std::string key_;
};

}  // namespace causeway::middleware::cache
