#include "gateway/api/redis_store.h"

#include "clients/redis/redis_settings.h"
#include "clients/redis/sentinel.h"
#include "config/redis_options.h"
#include "exchange/worker_context.h"
#include "gateway/api/credentials.h"

namespace causeway::gateway::api {

namespace resp = clients::redis::resp;

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

awaitable<bool> RedisStore::call(exchange::WorkerContext& worker, std::string request,
                                 resp::Value& reply, std::string& error) const {
  std::shared_ptr<clients::redis::RedisClient> c = ready(worker);
  if (!c) c = co_await client(worker, error);
  if (!c) co_return false;
  bool ok = co_await c->callPipelinedEncoded(std::move(request), reply, error);
  checkAnswer(worker, ok, reply);
  co_return ok;
}

awaitable<bool> RedisStore::command(exchange::WorkerContext& worker, std::vector<std::string> args,
                                    resp::Value& reply, std::string& error) const {
  std::string request = resp::encodeCommand(args);
  co_return co_await call(worker, std::move(request), reply, error);
}

awaitable<bool> RedisStore::evalsha(exchange::WorkerContext& worker, std::string request,
                                    const std::string& script, const std::string& sha,
                                    std::span<const std::string> keys,
                                    std::span<const std::string> args, resp::Value& reply,
                                    std::string& error) const {
  std::shared_ptr<clients::redis::RedisClient> c = ready(worker);
  if (!c) c = co_await client(worker, error);
  if (!c) co_return false;
  bool ok = co_await c->callPipelinedEncoded(std::move(request), reply, error);
  if (ok && reply.isError() && reply.text.starts_with("NOSCRIPT")) {
    std::vector<std::string> k(keys.begin(), keys.end()), a(args.begin(), args.end());
    ok = co_await c->runScript(script, sha, std::move(k), std::move(a), reply, error);
  }
  checkAnswer(worker, ok, reply);
  co_return ok;
}

}  // namespace causeway::gateway::api
