// A JWK set served over HTTP (`jwksUrl`, `trustedIssuers[].jwksUrl`), shared by every worker.
//
//  - Fetched on first use, then kept for as long as its answer's cache headers say
//    (Cache-Control max-age, else Expires; `no-cache`/`no-store` count as 0). The time is
//    bounded: at least 30 s, at most 24 h, 5 min when the server says nothing.
//  - When that time has passed, the next request starts a refresh in the background and goes on
//    with the keys it has.
//  - A token whose `kid` is not in the set makes it fetch again at once, at most once every 30 s
//    (a stream of tokens with made-up kids costs one fetch per 30 s, not one per token).
//  - A failed fetch (no answer, not 200, not a JWK set) keeps the last good keys and is tried
//    again 30 s later.
// The 30 s floor is the jwt middleware's `jwksMinRefreshSeconds` (a causeway option).
// The generation counts changes of the keys themselves; a refresh that brings the same keys
// keeps it, so the jwt middleware's cache of verified tokens survives it.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gateway/api/http_client.h"
#include "gateway/api/jose.h"

namespace causeway::gateway::api {

using KeyList = std::vector<jose::Key>;

// Cache lifetime from an answer's headers (see above), at least `floor`.
std::chrono::seconds cacheLifetime(const HttpAnswer& answer, std::chrono::seconds floor);
inline constexpr std::chrono::seconds kJwksRefetchFloor{30};

class RemoteKeySet : public std::enable_shared_from_this<RemoteKeySet> {
 public:
  RemoteKeySet(std::shared_ptr<const HttpClient> client, std::string name,
               std::chrono::seconds floor = kJwksRefetchFloor)
      : client_(std::move(client)), name_(std::move(name)), floor_(floor) {}

  struct View {
    std::shared_ptr<const KeyList> keys;  // null: never fetched successfully
    uint64_t generation = 0;
  };
  // The keys to check a token whose key id is `kid` ("" when it has none). Waits for a fetch
  // when there are no keys yet or `kid` is unknown and the last fetch is older than 30 s.
  awaitable<View> keysFor(exchange::WorkerContext& worker, const std::string& kid);
  // The current generation, without locking (the verified-token cache checks it).
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  const std::string& url() const { return client_->url(); }

 private:
  awaitable<void> fetch(exchange::WorkerContext& worker);
  static awaitable<void> fetchInBackground(std::shared_ptr<RemoteKeySet> self,
                                           exchange::WorkerContext& worker);
  View view();

  std::shared_ptr<const HttpClient> client_;
  std::string name_;  // for logs: the middleware
  std::chrono::seconds floor_;
  std::mutex mutex_;
  std::shared_ptr<const KeyList> keys_;
  std::string
      lastBody_;  // the JWK set the keys came from (a refresh that brings it again changes nothing)
  std::atomic<uint64_t> generation_{0};
  std::chrono::steady_clock::time_point expires_{};
  std::chrono::steady_clock::time_point lastAttempt_{};
  bool fetching_ = false;
};

}  // namespace causeway::gateway::api
