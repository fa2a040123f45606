#include "middleware/cache/shared_tier.h"

#include <algorithm>

#include "core/clock.h"
#include "clients/redis/redis_settings.h"
#include "core/log.h"

namespace causeway::middleware::cache {
namespace {

using clients::redis::resp::Value;

int64_t steadyNanos() { return Clock::now().time_since_epoch().count(); }

// A Redis glob that matches `text` literally.
std::string globEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

// One variant written and the key's expiry set in one step, so no key is ever left without an
// expiry (a connection lost between a separate HSET and EXPIRE would). The expiry only grows:
// another variant of the same key may be usable for longer than this one.
constexpr std::string_view kPutScript = R"lua(redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1)lua";

const std::string& putScriptSha() {
  static const std::string sha = clients::redis::scriptSha1(kPutScript);
  return sha;
}

awaitable<void> write(std::shared_ptr<clients::redis::RedisClient> client, std::vector<std::string> keys,
                      std::vector<std::string> args, std::string prefix) {
  Value reply;
  std::string error;
  if (!co_await client->runScript(std::string(kPutScript), putScriptSha(), std::move(keys), std::move(args), reply,
                                  error) ||
      reply.isError())
    log::debug("httpCache: could not write to the shared store", {{"prefix", prefix}, {"error", error.empty() ? reply.text : error}});
}

awaitable<void> unlink(std::shared_ptr<clients::redis::RedisClient> client, std::vector<std::string> args) {
  Value reply;
  std::string error;
  if (!co_await client->callPipelined(std::move(args), reply, error) || reply.isError())
    log::debug("httpCache: could not delete from the shared store", {{"error", error.empty() ? reply.text : error}});
}

}  // namespace

bool SharedTier::paused() const { return steadyNanos() < pausedUntil_.load(std::memory_order_relaxed); }

void SharedTier::fail(std::string_view what, std::string_view error) const {
  pausedUntil_.store(steadyNanos() + std::chrono::nanoseconds(kPause).count(), std::memory_order_relaxed);
  log::debug("httpCache: the shared store failed; it is skipped for a while",
             {{"operation", what}, {"prefix", prefix_}, {"error", error}});
}

std::shared_ptr<clients::redis::RedisClient> SharedTier::client(exchange::WorkerContext& worker) const {
  return clients::redis::RedisClient::forWorker(worker.index(), worker.io(), worker.watchdog(), redis_);
}

awaitable<std::vector<std::shared_ptr<Stored>>> SharedTier::fetch(exchange::WorkerContext& worker,
                                                                  std::string_view key) const {
  std::vector<std::shared_ptr<Stored>> out;
  if (paused()) co_return out;
  Value reply;
  std::string error;
  std::vector<std::string> args{"HGETALL", prefix_ + std::string(key)};
  if (!co_await client(worker)->callPipelined(std::move(args), reply, error) || reply.isError()) {
    fail("read", error.empty() ? reply.text : error);
    co_return out;
  }
  for (size_t i = 1; i < reply.items.size(); i += 2)
    if (auto stored = decodeStored(reply.items[i].text)) out.push_back(std::move(stored));
  co_return out;
}

void SharedTier::put(exchange::WorkerContext& worker, std::string_view key, StoredPtr stored) const {
  if (paused()) return;
  int64_t usable = stored->lifetime - stored->age(unixSeconds()) +
                   std::max<int64_t>({0, stored->staleWhileRevalidate, stored->staleIfError}) +
                   (stored->hasValidator() ? maxTtl_ : 0);
  std::vector<std::string> keys{prefix_ + std::string(key)};
  std::vector<std::string> args{variantName(*stored), encodeStored(*stored), std::to_string(std::max<int64_t>(usable, 1))};
  asio::co_spawn(worker.io(), write(client(worker), std::move(keys), std::move(args), prefix_), asio::detached);
}

void SharedTier::remove(exchange::WorkerContext& worker, std::string_view key) const {
  if (paused()) return;
  std::vector<std::string> args{"UNLINK", prefix_ + std::string(key)};
  asio::co_spawn(worker.io(), unlink(client(worker), std::move(args)), asio::detached);
}

awaitable<size_t> SharedTier::purge(exchange::WorkerContext& worker, std::string_view url) const {
  // The part of the URL ("host/path?query") the keys hold.
  bool prefixOnly = url.ends_with('*');
  if (prefixOnly) url.remove_suffix(1);
  std::string part(url);
  if (!keyHost_ && !part.empty()) part.erase(0, std::min(part.find('/'), part.size()));
  if (!keyQuery_ && !prefixOnly) part = part.substr(0, part.find('?'));
  bool all = url.empty();
  std::string pattern = globEscape(prefix_ + part) + "*";

  auto redis = client(worker);
  size_t removed = 0;
  std::string cursor = "0";
  for (int round = 0; round < 100000; ++round) {
    Value reply;
    std::string error;
    std::vector<std::string> scan{"SCAN", cursor, "MATCH", pattern, "COUNT", "500"};
    if (!co_await redis->call(std::move(scan), reply, error) || reply.isError() || reply.items.size() != 2) {
      fail("purge", error.empty() ? reply.text : error);
      break;
    }
    cursor = reply.items[0].text;
    std::vector<std::string> keys{"UNLINK"};
    for (const Value& item : reply.items[1].items) {
      std::string_view rest = std::string_view(item.text).substr(std::min(prefix_.size(), item.text.size()));
      // An exact URL: its key, and the keys that add key.headers values after a newline.
      if (all || prefixOnly || rest == part || (rest.starts_with(part) && rest.substr(part.size()).starts_with('\n')))
        keys.push_back(item.text);
    }
    if (keys.size() > 1) {
      Value unlinked;
      bool ok = co_await redis->call(std::move(keys), unlinked, error);
      if (ok && unlinked.type == Value::Type::Integer) removed += size_t(std::max<int64_t>(unlinked.integer, 0));
    }
    if (cursor == "0") break;
  }
  co_return removed;
}

}  // namespace causeway::middleware::cache
