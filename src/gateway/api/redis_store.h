// The `store.redis` block of Traefik Hub's API-gateway middlewares (distributedRateLimit,
// oidc's session.store, oAuthClientCredentials' store), in Hub's spelling, and the shared
// store it compiles to: one Redis server, a Cluster (`cluster: {}`; redirections followed) or
// a Sentinel set (`sentinel.masterSet`: the sentinels at `endpoints` name the master, asked
// again after a connection failure or a READONLY answer from a demoted master). Commands go
// over each worker's pipelined connection (clients/redis/redis_client.h), so concurrent
// requests share one write and one read. docs/api-gateway.md, "Redis stores".
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <string>
#include <vector>

#include "clients/redis/redis_client.h"
#include "config/client_tls.h"
#include "config/duration.h"

namespace causeway::exchange {
class WorkerContext;
}
namespace causeway::clients::redis {
class SentinelMaster;
}

namespace causeway::gateway::api {

struct RedisSentinelOptions {
  std::string masterSet;
  std::string username;
  std::string password;
  static void describe(auto& self, auto& v) {
    v("masterSet", self.masterSet);
    v("username", self.username);
    v("password", self.password);
  }
};

struct RedisClusterOptions {
  static void describe(auto&, auto&) {}
};

struct RedisStoreOptions {
  std::vector<std::string> endpoints;
  std::string username;
  std::string password;
  int64_t database = 0;
  config::Duration timeout = std::chrono::seconds(2);
  std::optional<RedisClusterOptions> cluster;
  std::optional<RedisSentinelOptions> sentinel;
  std::optional<config::ClientTls> tls;
  static void describe(auto& self, auto& v) {
    v("endpoints", self.endpoints);
    v("username", self.username);
    v("password", self.password);
    v("database", self.database);
    v("timeout", self.timeout);
    v("cluster", self.cluster);
    v("sentinel", self.sentinel);
    v("tls", self.tls);
  }
};

class RedisStore {
 public:
  // nullopt-like null with `error` set ("store.redis…: what was expected") when the options
  // cannot work. Shared by the workers: `workers` sizes the per-worker routes.
  static std::shared_ptr<RedisStore> make(const RedisStoreOptions& options, unsigned workers,
                                          std::string& error);

  // One command already in RESP (resp::encodeCommand). False with `error` when the store
  // cannot be reached; a Redis error reply is a successful call (the caller reads it), except
  // that READONLY also makes a Sentinel set be asked for its master again.
  // `key`: the command's key, which picks the node in a Cluster (the slot's node, learned from
  // MOVED answers, so that a key's commands go straight to its node after the first).
  awaitable<bool> call(exchange::WorkerContext& worker, std::string request, std::string_view key,
                       clients::redis::resp::Value& reply, std::string& error) const;
  // A command whose key is args[1] (GET, SET, SADD, DEL, …).
  awaitable<bool> command(exchange::WorkerContext& worker, std::vector<std::string> args,
                          clients::redis::resp::Value& reply, std::string& error) const;
  // EVALSHA `request` (built by the caller, with the script's sha), and EVAL of `script` with
  // `keys` and `args` when Redis does not know the script yet. keys[0] picks a Cluster's node.
  awaitable<bool> evalsha(exchange::WorkerContext& worker, std::string request,
                          const std::string& script, const std::string& sha,
                          std::span<const std::string> keys, std::span<const std::string> args,
                          clients::redis::resp::Value& reply, std::string& error) const;

 private:
  struct Route {
    uint64_t generation = UINT64_MAX;
    std::string endpoint;
    std::shared_ptr<clients::redis::RedisClient> client;
    // Cluster: the node of each slot seen in a MOVED answer, and a client per node.
    std::unordered_map<uint16_t, std::string> slots;
    std::unordered_map<std::string, std::shared_ptr<clients::redis::RedisClient>> nodes;
  };
  // Cluster: the client of the node that serves `key`'s slot, when known; else null.
  std::shared_ptr<clients::redis::RedisClient> nodeFor(exchange::WorkerContext& worker,
                                                       std::string_view key) const;
  void learn(exchange::WorkerContext& worker, std::string_view key, std::string node) const;
  // Cluster: `failed` could not be reached; the slots it served are learned anew.
  void forget(exchange::WorkerContext& worker,
              const std::shared_ptr<clients::redis::RedisClient>& failed) const;
  // The client for `key` without a coroutine: its Cluster node when known, else the worker's
  // when ready; null when client() must make it.
  std::shared_ptr<clients::redis::RedisClient> known(exchange::WorkerContext& worker,
                                                     std::string_view key) const;
  // After a command on `used`: a failed node forgotten, a MOVED learned, a Sentinel master that
  // failed or turned READONLY asked for again.
  void settle(exchange::WorkerContext& worker,
              const std::shared_ptr<clients::redis::RedisClient>& used, bool ok,
              const clients::redis::resp::Value& reply, std::string_view key,
              std::string moved) const;
  // The worker's client when it is ready (no coroutine on the common path), else null.
  std::shared_ptr<clients::redis::RedisClient> ready(exchange::WorkerContext& worker) const;
  // The worker's client, made (and with Sentinel, the master asked for) when needed.
  awaitable<std::shared_ptr<clients::redis::RedisClient>> client(exchange::WorkerContext& worker,
                                                                 std::string& error) const;
  void checkAnswer(exchange::WorkerContext& worker, bool ok,
                   const clients::redis::resp::Value& reply) const;

  clients::redis::RedisSettings settings_;
  bool cluster_ = false;
  std::shared_ptr<clients::redis::SentinelMaster> sentinel_;
  mutable std::vector<Route> routes_;  // one per worker, touched by its thread only
};

}  // namespace causeway::gateway::api
