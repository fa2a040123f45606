// What developer-portal users write (docs/api-management.md, "Developer portal"): their
// applications, the API keys of those applications (only each key's SHA-256 is kept) and their
// subscriptions to catalog items. The portal (portal.cpp) writes it; the api middleware
// (api_management.cpp) reads it to accept portal keys.
//
// Kept in memory (lost at exit) or, with `apiManagement.store.redis`, in Redis, where several
// instances share it and it survives restarts. In Redis, three hashes and a version counter,
// under one hash tag so that a Cluster keeps them on one node:
//   <keyPrefix>{portal}:apps      appId            → {"appId","title","owner","portal","generation","createdAt"}
//   <keyPrefix>{portal}:keys      hex SHA-256      → {"id","appId","title","prefix","generation","createdAt"}
//   <keyPrefix>{portal}:subs      appId|item       → {"appId","catalogItem","generation","createdAt"}
//   <keyPrefix>{portal}:version   incremented by every change
// Each change is one Lua script: its preconditions (an entry must not exist yet, or must
// exist), its writes and the version's increment happen atomically, so a form posted twice
// changes nothing the second time. Readers keep the last state they loaded and ask for the
// version at most once a second: a change made by another instance is seen within a second;
// one made here is seen at once. A version that differs from the one held (lower too: Redis
// restarted empty, or a replica took over) is loaded. When Redis cannot be reached, the state
// read last stays in use (keys keep working; changes answer 503).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/node.h"
#include "gateway/api/redis_store.h"
#include "io/asio.h"

namespace causeway::exchange {
class WorkerContext;
}

namespace causeway::gateway::api {

// apiManagement.store: where the plans' counters and the portal's state are shared.
struct ApiStoreOptions {
  std::optional<RedisStoreOptions> redis;
  std::string keyPrefix;
  static void describe(auto& self, auto& v) {
    v("redis", self.redis);
    v("keyPrefix", self.keyPrefix);
  }
};

// An application, its keys and its subscriptions carry the application's `generation` (random,
// new each time the application is made): a key or subscription written for an earlier
// application of the same appId (one deleted while the key was being added elsewhere) is left
// out of every state, so it can never come back.
struct PortalApplication {
  std::string appId, title, owner, portal, generation;
  int64_t createdAt = 0;
};

struct PortalKey {
  std::string id, appId, title, prefix;
  std::string sha256;  // hex
  int64_t createdAt = 0;
  std::string generation;
};

struct PortalSubscription {
  std::string appId, catalogItem;
  int64_t createdAt = 0;
  std::string generation;
};

// One consistent view of the store.
struct PortalState {
  int64_t version = 0;
  std::map<std::string, PortalApplication> apps;  // by appId
  std::unordered_map<std::string, PortalKey> keys;  // by the key's SHA-256 (raw bytes)
  std::map<std::string, std::vector<PortalSubscription>> subscriptions;  // by appId, by catalog item
};

// One change: preconditions first, then writes; each on one of the three hashes.
struct PortalChange {
  enum class Table { Apps = 1, Keys = 2, Subs = 3 };
  enum class Op { CreateOnly, MustExist, Set, Delete };
  struct Step {
    Op op;
    Table table;
    std::string field;
    std::string value;  // JSON, for CreateOnly and Set
  };
  std::vector<Step> steps;
  void create(Table t, std::string field, std::string value) {
    steps.push_back({Op::CreateOnly, t, std::move(field), std::move(value)});
  }
  void mustExist(Table t, std::string field) { steps.push_back({Op::MustExist, t, std::move(field), {}}); }
  void set(Table t, std::string field, std::string value) {
    steps.push_back({Op::Set, t, std::move(field), std::move(value)});
  }
  void erase(Table t, std::string field) { steps.push_back({Op::Delete, t, std::move(field), {}}); }
};

class PortalStore {
 public:
  // The store `options` describe (null: in memory), one per process for the same options, kept
  // across reloads. Null with `error` when the options cannot work.
  static std::shared_ptr<PortalStore> shared(const config::Node* options, unsigned workers, std::string& error);

  // The current state: refreshed from Redis when it is more than a second old (the last one
  // loaded when Redis cannot be reached, with `error` set; null when none was ever loaded).
  awaitable<std::shared_ptr<const PortalState>> state(exchange::WorkerContext& worker, std::string& error);
  enum class Outcome { Done, Exists, Missing, Unavailable };
  // Applies `change` atomically; Exists/Missing when a precondition fails (nothing written).
  awaitable<Outcome> apply(exchange::WorkerContext& worker, const PortalChange& change, std::string& error);

  bool inRedis() const { return redis_ != nullptr; }

  static std::string encode(const PortalApplication& a);
  static std::string encode(const PortalKey& k);
  static std::string encode(const PortalSubscription& s);

 private:
  struct Raw {
    int64_t version = 0;
    std::map<std::string, std::string> tables[3];
  };
  static std::shared_ptr<const PortalState> parse(const Raw& raw);
  awaitable<bool> load(exchange::WorkerContext& worker, std::string& error);

  std::shared_ptr<RedisStore> redis_;
  std::string keys_[4];  // apps, keys, subs, version
  std::mutex mutex_;
  Raw memory_;  // without Redis
  std::shared_ptr<const PortalState> current_;
  int64_t checkedAt_ = 0;  // steady nanoseconds
  std::atomic<bool> refreshing_{false};
};

}  // namespace causeway::gateway::api
