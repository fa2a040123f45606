// httpCache: a shared HTTP cache (RFC 9111) in front of the router's service. Traefik's
// open-source edition has none (traefik/traefik #878); the option names follow Traefik Hub's
// httpCache (maxTtl, disableCacheStatusHeader, store.memory.limit), the rest is causeway's.
// docs/cache.md is the user's view; in short:
//  - GET responses are stored when RFC 9111 §3 allows a shared cache to (explicit freshness,
//    no no-store/private, the Authorization rule, no Set-Cookie, Vary not *), up to
//    maxEntrySize each and store.memory.limit in all, least recently used evicted first.
//    Freshness: s-maxage, max-age or Expires, capped at maxTtl; no heuristic freshness.
//  - GET and HEAD are answered from a fresh stored response (Age, and 304 for a matching
//    If-None-Match / If-Modified-Since); a stale one with a validator is revalidated with a
//    conditional request, and a 304 refreshes it. stale-while-revalidate answers at once and
//    revalidates in the background; stale-if-error answers when the origin fails (5xx).
//    Request directives no-cache, max-age, min-fresh, max-stale and only-if-cached apply.
//  - Coalescing: while one miss for a key is in flight, later GETs for it wait (lockTimeout)
//    and take its answer when it was stored, or go upstream themselves when it was not.
//  - Unsafe methods that succeed invalidate the stored responses of their URL (§4.4).
//  - Every answer carries Cache-Status (RFC 9211, cache name "causeway") and X-Cache-Status
//    (HIT, MISS, EXPIRED, STALE, REVALIDATED, BYPASS), unless disableCacheStatusHeader.
#include <algorithm>
#include <charconv>
#include <chrono>

#include "core/clock.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/local_reply.h"
#include "exchange/response_caches.h"
#include "http/cache_control.h"
#include "http/hop_by_hop.h"
#include "io/failures.h"
#include "clients/redis/redis_settings.h"
#include "config/redis_options.h"
#include "middleware/cache/cache_store.h"
#include "middleware/cache/shared_tier.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

using cache::Store;
using cache::Stored;
using cache::StoredPtr;
using http::CacheDirectives;

// "128Mi", "3Gi", "512K", "1000000": bytes (Kubernetes quantity suffixes, as Traefik Hub).
std::optional<uint64_t> parseSize(std::string_view text) {
  text = trim(text);
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  auto number = parseDecimal(text.substr(0, digits));
  if (!number) return std::nullopt;
  std::string_view unit = text.substr(digits);
  static const std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1}, {"K", 1000}, {"M", 1000'000}, {"G", 1000'000'000}, {"Ki", 1024}, {"Mi", 1 << 20}, {"Gi", 1 << 30}};
  for (const auto& [name, factor] : kUnits)
    if (unit == name) {
      if (*number > UINT64_MAX / factor) return std::nullopt;
      return *number * factor;
    }
  return std::nullopt;
}

struct Options {
  int64_t maxTtl = 300;  // seconds; no response stays fresh longer
  bool disableCacheStatusHeader = false;
  std::string maxEntrySize = "8Mi";
  // How long a request waits for another one's answer to the same URL before going upstream.
  config::Duration lockTimeout = std::chrono::seconds(5);
  // Used when a response names no stale-while-revalidate / stale-if-error of its own.
  config::Duration staleWhileRevalidate;
  config::Duration staleIfError;
  struct Memory {
    std::string limit = "128Mi";
    static void describe(auto& self, auto& v) { v("limit", self.limit); }
  };
  struct StoreOptions {
    Memory memory;
    std::optional<config::RedisOptions> redis;  // the shared second tier
    static void describe(auto& self, auto& v) {
      v("memory", self.memory);
      v("redis", self.redis);
    }
  } store;
  struct Key {
    bool disableHost = false;
    bool disableQuery = false;
    std::vector<std::string> headers;  // request fields that are part of the key
    static void describe(auto& self, auto& v) {
      v("disableHost", self.disableHost);
      v("disableQuery", self.disableQuery);
      v("headers", self.headers);
    }
  } key;

  static void describe(auto& self, auto& v) {
    v("maxTtl", self.maxTtl);
    v("disableCacheStatusHeader", self.disableCacheStatusHeader);
    v("maxEntrySize", self.maxEntrySize);
    v("lockTimeout", self.lockTimeout);
    v("staleWhileRevalidate", self.staleWhileRevalidate);
    v("staleIfError", self.staleIfError);
    v("store", self.store);
    v("key", self.key);
  }
  void check(MiddlewareBuildContext& context) const {
    if (maxTtl <= 0) context.error("httpCache: maxTtl must be a positive number of seconds");
    if (!parseSize(maxEntrySize))
      context.error("httpCache: maxEntrySize: expected a size such as 8Mi or 1000000, got \"" + maxEntrySize + "\"");
    auto limit = parseSize(store.memory.limit);
    if (!limit || *limit == 0)
      context.error("httpCache: store.memory.limit: expected a size such as 128Mi or 3Gi, got \"" +
                    store.memory.limit + "\"");
    if (lockTimeout.value.count() < 0 || staleWhileRevalidate.value.count() < 0 || staleIfError.value.count() < 0)
      context.error("httpCache: lockTimeout, staleWhileRevalidate and staleIfError must not be negative");
  }
};

// What the handlers of every router share: the decoded options and the store.
struct Settings {
  int64_t maxTtl = 300;
  bool statusHeader = true;
  uint64_t maxEntrySize = 0;
  std::chrono::nanoseconds lockTimeout{0};
  int64_t staleWhileRevalidate = -1, staleIfError = -1;  // defaults, seconds (-1: none)
  bool keyHost = true, keyQuery = true;
  std::vector<std::string> keyHeaders;
  std::shared_ptr<Store> store;
};

// Stores `stored` in memory and, with store.redis, in the shared tier.
void keep(const Settings& s, exchange::WorkerContext& worker, std::string_view key, StoredPtr stored) {
  if (const cache::SharedTier* tier = s.store->tier()) tier->put(worker, key, stored);
  s.store->insert(key, std::move(stored));
}

void drop(const Settings& s, exchange::WorkerContext& worker, std::string_view key) {
  if (const cache::SharedTier* tier = s.store->tier()) tier->remove(worker, key);
  s.store->erase(key);
}

// `n` in decimal, in the arena.
std::string_view decimal(Arena& arena, int64_t n) {
  char text[24];
  auto end = std::to_chars(text, text + sizeof text, n).ptr;
  return arena.copy({text, size_t(end - text)});
}

bool isUnsafe(std::string_view method) {
  return method != "GET" && method != "HEAD" && method != "OPTIONS" && method != "TRACE";
}

// Fields a cache does not keep with a response (RFC 9111 §3.1), besides hop-by-hop ones; the
// codec writes framing from the body, and Age is computed when served.
bool keptField(std::string_view name) {
  return !http::isHopByHopField(name) && !iequals(name, "Age") && !iequals(name, "Content-Length") &&
         !iequals(name, "X-Cache-Status");
}

http::Headers viewOf(const std::vector<std::pair<std::string, std::string>>& fields) {
  http::Headers headers;
  for (const auto& [name, value] : fields) headers.add(name, value);
  return headers;
}

// Freshness and validators of `stored` from its (stored) header fields; its age from the fields
// of the response that just arrived (`arrived`: Age is not stored).
void setFreshness(const Settings& s, Stored& stored, const http::Headers& arrived, int64_t requestTime,
                  int64_t responseTime) {
  http::Headers headers = viewOf(stored.headers);
  CacheDirectives d = http::parseCacheControl(headers);
  stored.responseTime = responseTime;
  stored.initialAge = http::initialAge(arrived, requestTime, responseTime);
  stored.lifetime = std::min(http::freshnessLifetime(headers, d), s.maxTtl);
  stored.staleWhileRevalidate = d.staleWhileRevalidate >= 0 ? d.staleWhileRevalidate : s.staleWhileRevalidate;
  stored.staleIfError = d.staleIfError >= 0 ? d.staleIfError : s.staleIfError;
  stored.noCache = d.noCache;
  stored.mustRevalidate = d.mustRevalidate || d.proxyRevalidate || d.sMaxAge >= 0;
  stored.etag = std::string(headers.get("ETag"));
  stored.lastModified = std::string(headers.get("Last-Modified"));
  stored.bytes = stored.footprint();
}

// A stored response for `response` (body still to come), with the Vary values of `request`.
std::shared_ptr<Stored> makeStored(const Settings& s, const exchange::Response& response, const http::Headers& request,
                                   std::string url, int64_t requestTime, int64_t responseTime) {
  auto stored = std::make_shared<Stored>();
  stored->status = response.status;
  stored->url = std::move(url);
  for (const http::HeaderField& field : response.headers) {
    if (keptField(field.name)) stored->headers.emplace_back(field.name, field.value);
    if (!iequals(field.name, "Vary")) continue;
    for (std::string_view name : splitTrimmed(field.value, ',')) {
      std::string lower = toLower(name);
      bool seen = false;
      for (const auto& [n, v] : stored->vary) seen = seen || n == lower;
      if (!seen) stored->vary.emplace_back(lower, cache::varyValue(request, lower));
    }
  }
  setFreshness(s, *stored, response.headers, requestTime, responseTime);
  return stored;
}

// `entry` updated by a 304 (RFC 9111 §4.3.4): its fields replaced by the 304's, except framing.
StoredPtr refreshed(const Settings& s, const Stored& entry, const http::Headers& notModified, int64_t requestTime,
                    int64_t responseTime) {
  auto fresh = std::make_shared<Stored>(entry);
  // Every stored line of a name the 304 sends goes first, then the 304's lines are added (it may
  // send a name twice); the fields that describe the stored body stay.
  auto replaces = [](std::string_view name) {
    return keptField(name) && !iequals(name, "Content-Type") && !iequals(name, "Content-Encoding");
  };
  for (const http::HeaderField& field : notModified)
    if (replaces(field.name))
      std::erase_if(fresh->headers, [&](const auto& f) { return iequals(f.first, field.name); });
  for (const http::HeaderField& field : notModified)
    if (replaces(field.name)) fresh->headers.emplace_back(field.name, field.value);
  setFreshness(s, *fresh, notModified, requestTime, responseTime);
  return fresh;
}

// Whether `entry` refreshed by a 304 may still be stored: the 304's fields may have made it
// private, no-store or cookie-setting (they are then served to this client only).
bool stillStorable(const Stored& entry, const http::Headers& request, const CacheDirectives& rq) {
  http::Headers headers = viewOf(entry.headers);
  CacheDirectives d = http::parseCacheControl(headers);
  return http::mayStore({"GET", entry.status, &request, &rq, &headers, &d}) == http::StoreVerdict::Storable;
}

// The response body passed on to the client while a copy is kept; at its end the response is
// stored, unless it grew past maxEntrySize, broke off or carried trailers. The fill (when this
// request leads the coalescing) ends with it, after the insert, so that waiters find it.
class CaptureBody final : public exchange::BodySource {
 public:
  CaptureBody(exchange::BodySource* inner, std::shared_ptr<const Settings> settings, exchange::WorkerContext& worker,
              std::string key, std::shared_ptr<Stored> stored, std::unique_ptr<Store::Fill> fill)
      : inner_(inner), settings_(std::move(settings)), worker_(worker), key_(std::move(key)),
        stored_(std::move(stored)), maxSize_(settings_->maxEntrySize), fill_(std::move(fill)) {
    if (auto length = inner_->length()) captured_.reserve(*length);
  }

  awaitable<exchange::BodyChunk> read() override {
    exchange::BodyChunk chunk = co_await inner_->read();
    if (!stored_) co_return chunk;
    if (chunk.error || captured_.size() + chunk.data.size() > maxSize_) {
      abandon();
      co_return chunk;
    }
    captured_.append(chunk.data);
    if (chunk.last) {
      if (inner_->trailers()) abandon();
      else commit();
    }
    co_return chunk;
  }
  std::optional<uint64_t> length() const override { return inner_->length(); }
  const http::Headers* trailers() const override { return inner_->trailers(); }
  bool finished() const override { return inner_->finished(); }

 private:
  void commit() {
    stored_->body = std::make_shared<const std::string>(std::move(captured_));
    stored_->bytes = stored_->footprint();
    keep(*settings_, worker_, key_, std::move(stored_));
    fill_.reset();
  }
  void abandon() {
    stored_.reset();
    captured_ = {};
    fill_.reset();
  }

  exchange::BodySource* inner_;
  std::shared_ptr<const Settings> settings_;
  exchange::WorkerContext& worker_;
  std::string key_;
  std::shared_ptr<Stored> stored_;  // null once stored or given up
  uint64_t maxSize_;
  std::unique_ptr<Store::Fill> fill_;
  std::string captured_;
};

// A background revalidation (stale-while-revalidate): the request as the client sent it, sent
// again as a conditional request after the client got the stale answer.
struct Revalidation {
  // The downstream connection may be gone before this runs: nothing of it is borrowed.
  Revalidation(exchange::WorkerContext& w, const exchange::ConnectionInfo& c)
      : worker(w), connection(exchange::detachedConnection(c)) {}
  exchange::WorkerContext& worker;
  exchange::ConnectionInfo connection;
  std::shared_ptr<const Settings> settings;
  HandlerPtr next;
  std::string key;
  StoredPtr entry;
  std::unique_ptr<Store::Fill> fill;
  Arena requestArena;
  exchange::Request request;  // views into requestArena
};

void makeConditional(http::Headers& headers, const Stored& entry) {
  headers.remove("If-None-Match");
  headers.remove("If-Modified-Since");
  headers.remove("If-Match");
  headers.remove("If-Unmodified-Since");
  headers.remove("If-Range");
  headers.remove("Range");
  if (!entry.etag.empty()) headers.add("If-None-Match", entry.etag);
  if (!entry.lastModified.empty()) headers.add("If-Modified-Since", entry.lastModified);
}

bool isServerError(int status) { return status >= 500 && status <= 504; }

constexpr std::chrono::seconds kRevalidationTimeout{30};

awaitable<void> runRevalidation(std::unique_ptr<Revalidation> job) {
  const Settings& s = *job->settings;
  Arena arena;
  exchange::Exchange sub(job->worker, arena, job->connection);
  sub.request = job->request;
  sub.request.body = nullptr;
  http::Headers original = sub.request.headers;
  makeConditional(sub.request.headers, *job->entry);
  sub.record.start = Clock::now();
  // Nobody waits for it: it is bounded on its own (and its key's fill with it).
  sub.limits.deadline = sub.record.start + kRevalidationTimeout;
  sub.limits.responseHeaderTimeout = kRevalidationTimeout;
  int64_t requestTime = unixSeconds();
  co_await job->next->handle(sub);
  int64_t responseTime = unixSeconds();
  exchange::Response& r = sub.response;
  if (r.status == 304) {
    StoredPtr fresh = refreshed(s, *job->entry, r.headers, requestTime, responseTime);
    if (stillStorable(*fresh, original, http::parseCacheControl(original))) keep(s, job->worker, job->key, fresh);
    else drop(s, job->worker, job->key);
  } else if (!isServerError(r.status) && !r.tunnel) {
    CacheDirectives rq = http::parseCacheControl(original);
    CacheDirectives rs = http::parseCacheControl(r.headers);
    http::StoreVerdict verdict = http::mayStore({"GET", r.status, &original, &rq, &r.headers, &rs});
    std::string body;
    exchange::ReadResult read = exchange::ReadResult::Complete;
    if (r.body) read = co_await exchange::readBody(*r.body, body, int64_t(s.maxEntrySize));
    if (read == exchange::ReadResult::Failed) r.body = nullptr;  // broken: not read again
    if (verdict == http::StoreVerdict::Storable && read == exchange::ReadResult::Complete) {
      auto stored = makeStored(s, r, original, job->entry->url, requestTime, responseTime);
      stored->body = std::make_shared<const std::string>(std::move(body));
      stored->bytes = stored->footprint();
      keep(s, job->worker, job->key, std::move(stored));
    } else {
      drop(s, job->worker, job->key);  // the origin no longer lets it be stored (or it grew too large)
    }
  }
  // The rest of the answer is read (bounded) so that its connection can serve again.
  if (exchange::BodySource* body = r.body; body && !r.tunnel && !body->finished())
    co_await exchange::drainBody(body, s.maxEntrySize);
  if (!sub.background.empty()) co_await sub.background.join();
}

class HttpCache final : public Handler {
 public:
  HttpCache(std::shared_ptr<const Settings> settings, HandlerPtr next, const WrapContext&)
      : s_(std::move(settings)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    exchange::Request& req = ex.request;
    Store& store = *s_->store;
    bool get = req.method == "GET";
    if ((!get && req.method != "HEAD") || req.upgrade) {
      // Key and URL as the client asked, before the middlewares after this one rewrite the path.
      bool unsafe = isUnsafe(req.method) && !req.upgrade;
      std::string_view key = unsafe ? keyOf(ex) : std::string_view();
      std::string url = unsafe ? urlOf(req) : std::string();
      co_await next_->handle(ex);
      store.bypass.fetch_add(1, std::memory_order_relaxed);
      int status = ex.response.status;
      if (unsafe && status >= 200 && status < 400) invalidate(ex.worker, key, url);
      if (!req.upgrade) mark(ex, "BYPASS", "fwd=method");
      co_return;
    }
    CacheDirectives rq = http::parseCacheControl(req.headers);
    std::string_view key = keyOf(ex);
    int64_t now = unixSeconds();
    bool keyFound = false;
    StoredPtr entry = store.lookup(key, req.headers, keyFound);
    std::string_view shared;
    if (!entry && store.tier()) {
      // The shared tier: what another instance (or this one, before a restart) stored.
      auto variants = co_await store.tier()->fetch(ex.worker, key);
      for (auto& variant : variants) store.insert(key, std::move(variant));
      if (!variants.empty()) {
        entry = store.lookup(key, req.headers, keyFound);
        if (entry) shared = "; detail=shared";
      }
    }

    if (entry) {
      int64_t age = entry->age(now);
      bool fresh = entry->lifetime > age;
      bool accepted = !rq.noCache && !entry->noCache && (rq.maxAge < 0 || age <= rq.maxAge);
      if (fresh && accepted && (rq.minFresh < 0 || entry->lifetime - age >= rq.minFresh)) {
        store.hits.fetch_add(1, std::memory_order_relaxed);
        serve(ex, entry, age, "HIT", "hit", shared);
        co_return;
      }
      if (!fresh && accepted && !entry->mustRevalidate) {
        int64_t staleFor = age - entry->lifetime;
        if (rq.maxStale >= 0 && staleFor <= rq.maxStale) {
          store.stale.fetch_add(1, std::memory_order_relaxed);
          serve(ex, entry, age, "STALE", "hit; detail=max-stale");
          co_return;
        }
        if (staleFor <= entry->staleWhileRevalidate) {
          store.stale.fetch_add(1, std::memory_order_relaxed);
          if (get) revalidateLater(ex, key, entry);
          serve(ex, entry, age, "STALE", "hit; detail=stale-while-revalidate");
          co_return;
        }
      }
    }
    if (rq.onlyIfCached) {
      exchange::statusTextReply(ex, 504);
      mark(ex, "MISS", "detail=only-if-cached");
      co_return;
    }

    // Coalescing: a plain miss waits while another request for the same key is in flight.
    std::unique_ptr<Store::Fill> fill;
    bool waited = false;
    if (get && !entry && !rq.noCache && !http::isConditional(req.headers) && !req.headers.has("Range")) {
      auto waiter = std::make_shared<Store::Waiter>(ex.worker.io().get_executor());
      waiter->timer.expires_after(s_->lockTimeout);
      fill = store.lead(key, waiter);
      if (!fill) {
        co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
        waited = true;
        now = unixSeconds();
        entry = store.lookup(key, req.headers, keyFound);
        if (entry && entry->lifetime > entry->age(now) && !entry->noCache) {
          store.collapsed.fetch_add(1, std::memory_order_relaxed);
          serve(ex, entry, entry->age(now), "HIT", "fwd=miss; collapsed");
          co_return;
        }
      }
    }
    co_await forward(ex, rq, key, keyFound, std::move(entry), std::move(fill), waited);
  }

 private:
  // After a successful unsafe request: every stored variant of its URL goes (RFC 9111 §4.4).
  void invalidate(exchange::WorkerContext& worker, std::string_view key, const std::string& url) const {
    s_->store->purge(url);
    const cache::SharedTier* tier = s_->store->tier();
    if (!tier) return;
    if (s_->keyHeaders.empty()) {
      tier->remove(worker, key);
    } else {  // the other keys of the URL differ in their key.headers values
      asio::co_spawn(worker.io(), tier->purge(worker, url), asio::detached);
    }
  }

  awaitable<void> forward(Exchange& ex, const CacheDirectives& rq, std::string_view key, bool keyFound, StoredPtr entry,
                          std::unique_ptr<Store::Fill> fill, bool waited) const {
    exchange::Request& req = ex.request;
    Store& store = *s_->store;
    bool get = req.method == "GET";
    bool freshEntry = entry && entry->lifetime > entry->age(unixSeconds());
    std::string url = get ? urlOf(req) : std::string();  // before the path is rewritten
    bool revalidating = get && entry && entry->hasValidator();
    http::Headers original;
    if (get) original = req.headers;
    if (revalidating) {
      ex.arena.make<StoredPtr>(entry);  // its validators are sent as views
      makeConditional(req.headers, *entry);
    }
    int64_t requestTime = unixSeconds();
    co_await next_->handle(ex);
    int64_t responseTime = unixSeconds();
    if (get) req.headers = original;
    exchange::Response& r = ex.response;

    if (revalidating && r.status == 304) {
      StoredPtr fresh = refreshed(*s_, *entry, r.headers, requestTime, responseTime);
      if (stillStorable(*fresh, original, rq)) keep(*s_, ex.worker, key, fresh);
      else drop(*s_, ex.worker, key);
      store.revalidated.fetch_add(1, std::memory_order_relaxed);
      serve(ex, fresh, fresh->age(responseTime), "REVALIDATED", "fwd=stale; fwd-status=304");
      co_return;
    }
    // RFC 5861 §4: a stale answer instead of an error, within the answer's (or the request's)
    // stale-if-error window; never one that must be revalidated, nor to a request for a fresh one.
    if (entry && isServerError(r.status) && !entry->mustRevalidate && !entry->noCache && !rq.noCache) {
      int64_t staleFor = entry->age(responseTime) - entry->lifetime;
      int64_t window = std::max(entry->staleIfError, rq.staleIfError);
      if (window >= 0 && staleFor >= 0 && staleFor <= window) {
        store.stale.fetch_add(1, std::memory_order_relaxed);
        std::string_view status = decimal(ex.arena, r.status);
        serve(ex, entry, entry->age(responseTime), "STALE", "fwd=stale; fwd-status=", status, "; detail=stale-if-error");
        co_return;
      }
    }
    store.misses.fetch_add(1, std::memory_order_relaxed);
    std::string_view fwd = freshEntry || (!entry && rq.noCache) ? "fwd=request"
                           : entry                              ? "fwd=stale"
                           : keyFound                           ? "fwd=vary-miss"
                                                                : "fwd=uri-miss";
    std::string_view x = entry ? "EXPIRED" : "MISS";
    if (!get || r.tunnel) {
      mark(ex, x, fwd);
      co_return;
    }
    CacheDirectives rs = http::parseCacheControl(r.headers);
    http::StoreVerdict verdict = http::mayStore({req.method, r.status, &original, &rq, &r.headers, &rs});
    std::optional<uint64_t> length = r.body ? r.body->length() : std::optional<uint64_t>(0);
    if (verdict == http::StoreVerdict::Storable && length && *length > s_->maxEntrySize) {
      mark(ex, x, fwd, "; detail=too-large");
      co_return;
    }
    if (verdict != http::StoreVerdict::Storable) {
      if (entry && !isServerError(r.status)) drop(*s_, ex.worker, key);  // what was stored no longer applies
      mark(ex, x, fwd, "; detail=", storeVerdictText(verdict));
      co_return;
    }
    auto stored = makeStored(*s_, r, original, std::move(url), requestTime, responseTime);
    if (!r.body || r.status == 204) {
      stored->body = std::make_shared<const std::string>();
      keep(*s_, ex.worker, key, std::move(stored));
    } else {
      r.body = ex.arena.make<CaptureBody>(r.body, s_, ex.worker, std::string(key), std::move(stored), std::move(fill));
    }
    mark(ex, x, fwd, waited ? "; collapsed; stored" : "; stored");
  }

  // Answers from `entry`: its status, fields and body, Age, and 304 when the request's own
  // conditional matches it.
  // `x` and `status...` as for mark(); ";ttl=" follows.
  void serve(Exchange& ex, const StoredPtr& entry, int64_t age, std::string_view x, std::string_view status,
             std::string_view more = {}, std::string_view evenMore = {}) const {
    ex.arena.make<StoredPtr>(entry);  // the fields and the body are sent as views
    exchange::Response& r = ex.response;
    r.status = entry->status;
    r.reason = {};
    r.tunnel = nullptr;
    r.headers.clear();
    for (const auto& [name, value] : entry->headers) r.headers.add(name, value);
    r.headers.add("Age", decimal(ex.arena, age));
    if (entry->status == 200 && http::notModified(ex.request.headers, entry->etag, entry->lastModified)) {
      r.status = 304;
      r.body = nullptr;
    } else {
      r.body = ex.arena.make<exchange::MemoryBody>(*entry->body);
      if (ex.request.method != "HEAD")
        s_->store->servedBytes.fetch_add(entry->body->size(), std::memory_order_relaxed);
    }
    ex.record.cacheStatus = x;
    if (!s_->statusHeader) return;
    std::string_view ttl = decimal(ex.arena, entry->lifetime - age);
    ex.response.headers.add("Cache-Status", ex.arena.concat({"causeway; ", status, more, evenMore, "; ttl=", ttl}));
    ex.response.headers.set("X-Cache-Status", x);
  }

  // X-Cache-Status `x` (a literal: the access log keeps it past the arena) and Cache-Status
  // "causeway; " followed by the pieces, unless disableCacheStatusHeader.
  void mark(Exchange& ex, std::string_view x, std::string_view a, std::string_view b = {},
            std::string_view c = {}) const {
    ex.record.cacheStatus = x;
    if (!s_->statusHeader) return;
    ex.response.headers.add("Cache-Status", ex.arena.concat({"causeway; ", a, b, c}));
    ex.response.headers.set("X-Cache-Status", x);
  }

  void revalidateLater(Exchange& ex, std::string_view key, const StoredPtr& entry) const {
    auto fill = s_->store->lead(key, nullptr);
    if (!fill) return;  // one is in flight already
    auto job = std::make_unique<Revalidation>(ex.worker, ex.connection);
    job->settings = s_;
    job->next = next_;
    job->key = std::string(key);
    job->entry = entry;
    job->fill = std::move(fill);
    job->request = exchange::copyRequest(ex.request, job->requestArena);
    asio::co_spawn(ex.worker.io(), runRevalidation(std::move(job)),
                   io::logFailures("httpCache: background revalidation failed"));
  }

  std::string urlOf(const exchange::Request& req) const {
    std::string url;
    url.reserve(req.host.size() + req.path.size() + req.query.size() + 1);
    url += req.host;
    url += req.path;
    if (req.hasQuery) {
      url += '?';
      url += req.query;
    }
    return url;
  }

  // The key in the arena: [host]path[?query], then "\n:https" for https (an origin may answer
  // http and https differently: a redirect to https), then each key header as "\nname: value".
  std::string_view keyOf(Exchange& ex) const {
    const exchange::Request& req = ex.request;
    bool query = s_->keyQuery && req.hasQuery;
    std::string_view key = ex.arena.concat({s_->keyHost ? req.host : std::string_view(), req.path, query ? "?" : "",
                                            query ? req.query : std::string_view(),
                                            req.scheme == "https" ? "\n:https" : ""});
    for (const std::string& name : s_->keyHeaders)
      key = ex.arena.concat({key, "\n", name, ": ", cache::varyValue(req.headers, name)});
    return key;
  }

  std::shared_ptr<const Settings> s_;
  HandlerPtr next_;
};

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> o = decodeOptions<Options>(node, context);
  if (!o) return nullptr;
  auto s = std::make_shared<Settings>();
  s->maxTtl = o->maxTtl;
  s->statusHeader = !o->disableCacheStatusHeader;
  s->maxEntrySize = *parseSize(o->maxEntrySize);
  s->lockTimeout = o->lockTimeout.value;
  auto seconds = [](const config::Duration& d) -> int64_t {
    return d.isZero() ? -1 : std::chrono::duration_cast<std::chrono::seconds>(d.value).count();
  };
  s->staleWhileRevalidate = seconds(o->staleWhileRevalidate);
  s->staleIfError = seconds(o->staleIfError);
  s->keyHost = !o->key.disableHost;
  s->keyQuery = !o->key.disableQuery;
  s->keyHeaders = o->key.headers;
  uint64_t limit = *parseSize(o->store.memory.limit);
  std::shared_ptr<const cache::SharedTier> tier;
  std::string redisKey;
  if (o->store.redis) {
    std::string error;
    auto settings = clients::redis::settingsFrom(*o->store.redis, context.workers(), error);
    if (!settings) {
      context.error("httpCache: store.redis: " + error);
      return nullptr;
    }
    redisKey = settings->key();
    tier = std::make_shared<cache::SharedTier>(std::move(*settings), "httpcache:" + context.name() + ":", s->keyHost,
                                               s->keyQuery, s->maxTtl);
  }
  // A reload keeps the stored responses when nothing their keys or their store depend on changed.
  std::string shape = std::to_string(limit) + (s->keyHost ? "h" : "") + (s->keyQuery ? "q" : "") + "\n" + redisKey;
  for (const std::string& name : s->keyHeaders) shape += "\n" + toLower(name);
  auto& caches = exchange::ResponseCaches::instance();
  s->store = std::dynamic_pointer_cast<Store>(caches.find(context.name(), shape));
  if (!s->store) {
    s->store = std::make_shared<Store>(limit, std::move(tier));
    caches.add(context.name(), shape, s->store);
  }
  return exchange::factoryOf<HttpCache>(std::shared_ptr<const Settings>(std::move(s)));
}

const exchange::MiddlewareRegistration registration("httpCache", create, "HTTPCache");

}  // namespace
}  // namespace causeway::middleware
