#include "gateway/api/redis_store.h"

#include <array>

#include "clients/redis/redis_settings.h"
#include "clients/redis/sentinel.h"
#include "config/redis_options.h"
#include "exchange/worker_context.h"
#include "gateway/api/credentials.h"

namespace causeway::gateway::api {

namespace resp = clients::redis::resp;

namespace {

// Redis Cluster's key slot: CRC16 (XMODEM) of the key, or of its hash tag (the text between the
// first `{` and the next `}` when not empty), modulo 16384.
constexpr std::array<uint16_t, 256> kCrc16 = [] {
  std::array<uint16_t, 256> table{};
  for (int i = 0; i < 256; ++i) {
    uint16_t crc = uint16_t(i << 8);
    for (int bit = 0; bit < 8; ++bit)
      crc = crc & 0x8000 ? uint16_t((crc << 1) ^ 0x1021) : uint16_t(crc << 1);
    table[i] = crc;
  }
  return table;
}();

uint16_t clusterSlot(std::string_view key) {
  if (size_t open = key.find('{'); open != std::string_view::npos) {
    size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  uint16_t crc = 0;
  for (unsigned char c : key)
    crc = uint16_t((crc << 8) ^ kCrc16[((crc >> 8) ^ c) & 0xff]);
  return crc & 16383;
}

}  // namespace

std::shared_ptr<RedisStore> RedisStore::make(const RedisStoreOptions& r, unsigned workers,
                                             std::string& error) {
  if (r.endpoints.empty()) {
    error = "store.redis.endpoints is required";
    return nullptr;
  }
  if (r.cluster && r.sentinel) {
    error = "store.redis: cluster and sentinel cannot both be set";
    return nullptr;
  }
  if (r.cluster && r.database != 0) {
    error = "store.redis.database must be 0 in cluster mode";
    return nullptr;
  }
  if (r.sentinel && r.sentinel->masterSet.empty()) {
    error = "store.redis.sentinel.masterSet is required";
    return nullptr;
  }
  auto password = secretOption(r.password, error);
  auto sentinelPassword = secretOption(r.sentinel ? r.sentinel->password : "", error);
  if (!password || !sentinelPassword) {
    error = "store.redis: password: " + error;
    return nullptr;
  }
  config::RedisOptions ro;
  ro.endpoints = r.endpoints;
  ro.username = r.username;
  ro.password = *password;
  ro.db = r.database;
  ro.tls = r.tls;
  ro.readTimeout = r.timeout;
  ro.writeTimeout = r.timeout;
  ro.dialTimeout = r.timeout;
  auto settings = clients::redis::settingsFrom(ro, workers, error);
  if (!settings) {
    error = "store.redis: " + error;
    return nullptr;
  }
  auto store = std::make_shared<RedisStore>();
  store->settings_ = *settings;
  store->cluster_ = r.cluster.has_value();
  if (r.sentinel) {
    clients::redis::RedisSettings sentinels = *settings;
    sentinels.username = r.sentinel->username;
    sentinels.password = *sentinelPassword;
    store->sentinel_ = std::make_shared<clients::redis::SentinelMaster>(
        std::move(sentinels), r.sentinel->masterSet, *settings);
  }
  store->routes_.resize(std::max(1u, workers));
  return store;
}

awaitable<std::shared_ptr<clients::redis::RedisClient>> RedisStore::client(
    exchange::WorkerContext& worker, std::string& error) const {
  Route* route = &routes_[worker.index() % routes_.size()];
  if (sentinel_ && (!route->client || route->generation != sentinel_->generation())) {
    uint64_t generation = sentinel_->generation();
    auto settings = co_await sentinel_->master(worker.index(), worker.io(), worker.watchdog(), error);
    if (!settings) co_return nullptr;
    route = &routes_[worker.index() % routes_.size()];
    route->endpoint = settings->endpoints.front();
    route->client = clients::redis::RedisClient::forWorker(worker.index(), worker.io(),
                                                           worker.watchdog(), *settings);
    route->generation = std::max(generation, sentinel_->generation());
  } else if (!route->client) {
    route->client = clients::redis::RedisClient::forWorker(worker.index(), worker.io(),
                                                           worker.watchdog(), settings_);
  }
  co_return route->client;
}

std::shared_ptr<clients::redis::RedisClient> RedisStore::ready(
    exchange::WorkerContext& worker) const {
  const Route& route = routes_[worker.index() % routes_.size()];
  if (sentinel_ && route.generation != sentinel_->generation()) return nullptr;
  return route.client;
}

void RedisStore::checkAnswer(exchange::WorkerContext& worker, bool ok,
                             const resp::Value& reply) const {
  if (!sentinel_) return;
  if (ok && !(reply.isError() && reply.text.starts_with("READONLY"))) return;
  // The master failed or was demoted: ask the sentinels again next time.
  Route& route = routes_[worker.index() % routes_.size()];
  sentinel_->unusable(route.endpoint);
  route.client.reset();
}

std::shared_ptr<clients::redis::RedisClient> RedisStore::nodeFor(exchange::WorkerContext& worker,
                                                                 std::string_view key) const {
  if (!cluster_ || key.empty()) return nullptr;
  Route& route = routes_[worker.index() % routes_.size()];
  auto slot = route.slots.find(clusterSlot(key));
  if (slot == route.slots.end()) return nullptr;
  std::shared_ptr<clients::redis::RedisClient>& node = route.nodes[slot->second];
  if (!node) {
    clients::redis::RedisSettings settings = settings_;
    settings.endpoints = {slot->second};
    node = clients::redis::RedisClient::forWorker(worker.index(), worker.io(), worker.watchdog(),
                                                  settings);
  }
  return node;
}

std::shared_ptr<clients::redis::RedisClient> RedisStore::known(exchange::WorkerContext& worker,
                                                               std::string_view key) const {
  std::shared_ptr<clients::redis::RedisClient> c = nodeFor(worker, key);
  return c ? c : ready(worker);
}

void RedisStore::settle(exchange::WorkerContext& worker,
                        const std::shared_ptr<clients::redis::RedisClient>& used, bool ok,
                        const resp::Value& reply, std::string_view key, std::string moved) const {
  if (!ok) forget(worker, used);
  learn(worker, key, std::move(moved));
  checkAnswer(worker, ok, reply);
}

void RedisStore::forget(exchange::WorkerContext& worker,
                        const std::shared_ptr<clients::redis::RedisClient>& failed) const {
  if (!cluster_) return;
  Route& route = routes_[worker.index() % routes_.size()];
  for (auto node = route.nodes.begin(); node != route.nodes.end(); ++node) {
    if (node->second != failed) continue;
    // The node is gone (or moved): its slots are asked through the seed again, and a MOVED
    // will name their node anew.
    for (auto slot = route.slots.begin(); slot != route.slots.end();)
      slot = slot->second == node->first ? route.slots.erase(slot) : std::next(slot);
    route.nodes.erase(node);
    return;
  }
}

void RedisStore::learn(exchange::WorkerContext& worker, std::string_view key,
                       std::string node) const {
  if (!cluster_ || key.empty() || node.empty()) return;
  Route& route = routes_[worker.index() % routes_.size()];
  if (route.nodes.size() > 1024) route.nodes.clear();  // a cluster that keeps changing its nodes
  route.slots[clusterSlot(key)] = std::move(node);
}

awaitable<bool> RedisStore::call(exchange::WorkerContext& worker, std::string request,
                                 std::string_view key, resp::Value& reply,
                                 std::string& error) const {
  std::shared_ptr<clients::redis::RedisClient> c = known(worker, key);
  if (!c) c = co_await client(worker, error);
  if (!c) co_return false;
  std::string moved;
  bool ok = co_await c->callPipelinedEncoded(std::move(request), reply, error, &moved);
  settle(worker, c, ok, reply, key, std::move(moved));
  co_return ok;
}

awaitable<bool> RedisStore::command(exchange::WorkerContext& worker, std::vector<std::string> args,
                                    resp::Value& reply, std::string& error) const {
  std::string request = resp::encodeCommand(args);
  std::string key = args.size() > 1 ? args[1] : std::string();
  co_return co_await call(worker, std::move(request), key, reply, error);
}

awaitable<bool> RedisStore::evalsha(exchange::WorkerContext& worker, std::string request,
                                    const std::string& script, const std::string& sha,
                                    std::span<const std::string> keys,
                                    std::span<const std::string> args, resp::Value& reply,
                                    std::string& error) const {
  std::string_view key = keys.empty() ? std::string_view() : std::string_view(keys.front());
  std::shared_ptr<clients::redis::RedisClient> c = known(worker, key);
  if (!c) c = co_await client(worker, error);
  if (!c) co_return false;
  std::string moved;
  bool ok = co_await c->callPipelinedEncoded(std::move(request), reply, error, &moved);
  settle(worker, c, ok, reply, key, std::move(moved));
  if (ok && reply.isError() && reply.text.starts_with("NOSCRIPT")) {
    if (auto node = nodeFor(worker, key)) c = std::move(node);  // where the MOVED pointed
    std::vector<std::string> k(keys.begin(), keys.end()), a(args.begin(), args.end());
    ok = co_await c->runScript(script, sha, std::move(k), std::move(a), reply, error);
    checkAnswer(worker, ok, reply);
  }
  co_return ok;
}

}  // namespace causeway::gateway::api
