#include "gateway/api/portal_store.h"

#include <boost/json.hpp>
#include <chrono>

#include "clients/redis/redis_settings.h"
#include "config/decode.h"
#include "core/bytes.h"
#include "core/log.h"

namespace causeway::gateway::api {
namespace {

namespace json = boost::json;
namespace resp = clients::redis::resp;

// KEYS: apps, keys, subs, version. ARGV: (op, table 1..3, field, value) × n. Preconditions are
// checked before anything is written; the answer is the new version, 0 when an entry to
// create exists, -1 when one that must exist does not.
constexpr const char* kApplyScript = R"lua(
for i = 1, #ARGV, 4 do
  local op, t, f = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]
  if op == 'c' and redis.call('HEXISTS', t, f) == 1 then return 0 end
  if op == 'm' and redis.call('HEXISTS', t, f) == 0 then return -1 end
end
for i = 1, #ARGV, 4 do
  local op, t, f = ARGV[i], KEYS[tonumber(ARGV[i + 1])], ARGV[i + 2]
  if op == 'c' or op == 's' then redis.call('HSET', t, f, ARGV[i + 3])
  elseif op == 'd' then redis.call('HDEL', t, f) end
end
return redis.call('INCR', KEYS[4])
)lua";

// Everything at once: {version, apps, keys, subs} (each hash as field, value, ...).
constexpr const char* kLoadScript = R"lua(
return {redis.call('GET', KEYS[4]) or '0', redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]),
        redis.call('HGETALL', KEYS[3])}
)lua";

constexpr int64_t kRefreshNanos = 1'000'000'000;

int64_t steadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string field(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it != o.end() && it->value().is_string() ? std::string(it->value().get_string()) : std::string();
}

int64_t number(const json::object& o, std::string_view name) {
  auto it = o.find(name);
  return it != o.end() && it->value().is_int64() ? it->value().get_int64() : 0;
}

const char* opCode(PortalChange::Op op) {
  switch (op) {
    case PortalChange::Op::CreateOnly: return "c";
    case PortalChange::Op::MustExist: return "m";
    case PortalChange::Op::Set: return "s";
    case PortalChange::Op::Delete: return "d";
  }
  return "s";
}

std::mutex registryMutex;
std::map<std::string, std::shared_ptr<PortalStore>> registry;

}  // namespace

std::string PortalStore::encode(const PortalApplication& a) {
  return json::serialize(json::object{{"appId", a.appId},
                                      {"title", a.title},
                                      {"owner", a.owner},
                                      {"portal", a.portal},
                                      {"generation", a.generation},
                                      {"createdAt", a.createdAt}});
}

std::string PortalStore::encode(const PortalKey& k) {
  return json::serialize(json::object{{"id", k.id},
                                      {"appId", k.appId},
                                      {"title", k.title},
                                      {"prefix", k.prefix},
                                      {"generation", k.generation},
                                      {"createdAt", k.createdAt}});
}

std::string PortalStore::encode(const PortalSubscription& s) {
  return json::serialize(json::object{
      {"appId", s.appId}, {"catalogItem", s.catalogItem}, {"generation", s.generation}, {"createdAt", s.createdAt}});
}

std::shared_ptr<PortalStore> PortalStore::shared(const config::Node* options, unsigned workers, std::string& error) {
  ApiStoreOptions decoded;
  std::string id = "memory";
  if (options) {
    config::DecodeContext context;
    config::decode(*options, decoded, context);
    if (!context.errors().empty()) {
      error = context.errors().front().toString();
      return nullptr;
    }
    if (!decoded.redis) {
      error = "apiManagement.store: expected redis: {endpoints: [...]}";
      return nullptr;
    }
    id = json::serialize(json::array{json::value_from(decoded.redis->endpoints), decoded.redis->username,
                                     decoded.redis->password, decoded.redis->database, decoded.keyPrefix,
                                     bool(decoded.redis->cluster), bool(decoded.redis->sentinel)});
  }
  std::lock_guard lock(registryMutex);
  auto& slot = registry[id];
  if (slot) return slot;
  auto store = std::make_shared<PortalStore>();
  if (options) {
    store->redis_ = RedisStore::make(*decoded.redis, workers, error);
    if (!store->redis_) {
      registry.erase(id);
      return nullptr;
    }
    std::string head = (decoded.keyPrefix.empty() ? "causeway:apim:" : decoded.keyPrefix) + "{portal}:";
    store->keys_[0] = head + "apps";
    store->keys_[1] = head + "keys";
    store->keys_[2] = head + "subs";
    store->keys_[3] = head + "version";
  } else {
    store->current_ = parse(store->memory_);
  }
  slot = store;
  return store;
}

std::shared_ptr<const PortalState> PortalStore::parse(const Raw& raw) {
  auto state = std::make_shared<PortalState>();
  state->version = raw.version;
  auto object = [](const std::string& text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    return !ec && v.is_object() ? v.get_object() : json::object();
  };
  for (const auto& [appId, text] : raw.tables[0]) {
    json::object o = object(text);
    state->apps[appId] = {appId,         field(o, "title"),      field(o, "owner"),
                          field(o, "portal"), field(o, "generation"), number(o, "createdAt")};
  }
  // Only what belongs to the application as it is now.
  auto current = [&](const std::string& appId, const std::string& generation) {
    auto app = state->apps.find(appId);
    return app != state->apps.end() && app->second.generation == generation;
  };
  for (const auto& [hex, text] : raw.tables[1]) {
    json::object o = object(text);
    std::optional<std::string> digest = hexDecode(hex);
    if (!digest || digest->size() != 32) continue;
    PortalKey key{field(o, "id"),     field(o, "appId"),      field(o, "title"), field(o, "prefix"), hex,
                  number(o, "createdAt"), field(o, "generation")};
    if (current(key.appId, key.generation)) state->keys[*digest] = std::move(key);
  }
  for (const auto& [id, text] : raw.tables[2]) {
    json::object o = object(text);
    PortalSubscription s{field(o, "appId"), field(o, "catalogItem"), number(o, "createdAt"), field(o, "generation")};
    if (current(s.appId, s.generation)) state->subscriptions[s.appId].push_back(std::move(s));
  }
  return state;
}

awaitable<bool> PortalStore::load(exchange::WorkerContext& worker, std::string& error) {
  static const std::string sha = clients::redis::scriptSha1(kLoadScript);
  std::vector<std::string> keys(std::begin(keys_), std::end(keys_));
  std::vector<std::string> head = {"EVALSHA", sha, "4"};
  head.insert(head.end(), keys.begin(), keys.end());
  std::string request = resp::encodeCommand(head);
  std::vector<std::string> args;
  resp::Value reply;
  bool ok = co_await redis_->evalsha(worker, std::move(request), kLoadScript, sha, keys, args, reply, error);
  if (ok && (reply.type != resp::Value::Type::Array || reply.items.size() != 4)) {
    error = reply.isError() ? reply.text : "unexpected answer to the portal's load script";
    ok = false;
  }
  if (!ok) co_return false;
  Raw raw;
  raw.version = std::atoll(reply.items[0].text.c_str());
  for (int t = 0; t < 3; ++t) {
    const auto& items = reply.items[t + 1].items;
    for (size_t i = 0; i + 1 < items.size(); i += 2) raw.tables[t][items[i].text] = items[i + 1].text;
  }
  std::shared_ptr<const PortalState> parsed = parse(raw);
  std::lock_guard lock(mutex_);
  current_ = std::move(parsed);
  checkedAt_ = steadyNanos();
  co_return true;
}

awaitable<std::shared_ptr<const PortalState>> PortalStore::state(exchange::WorkerContext& worker, std::string& error) {
  std::shared_ptr<const PortalState> now;
  bool due = false;
  {
    std::lock_guard lock(mutex_);
    now = current_;
    due = redis_ && (!now || steadyNanos() - checkedAt_ > kRefreshNanos);
  }
  if (!due || refreshing_.exchange(true)) {
    if (!now) error = "the portal's store has not been read yet";
    co_return now;
  }
  // One refresh at a time: the others go on with the state they have. The flag is cleared however
  // this coroutine ends (a destroyed frame included).
  struct Release {
    std::atomic<bool>& flag;
    ~Release() { flag = false; }
  } release{refreshing_};
  resp::Value reply;
  std::vector<std::string> get = {"GET", keys_[3]};
  bool ok = co_await redis_->command(worker, get, reply, error);
  int64_t version = ok && reply.type == resp::Value::Type::Bulk ? std::atoll(reply.text.c_str()) : 0;
  if (ok && (!now || version != now->version)) ok = co_await load(worker, error);
  if (ok) {
    std::lock_guard lock(mutex_);
    checkedAt_ = steadyNanos();
  } else {
    log::warn("api portal: the store cannot be read; using the state read last", {{"error", error}});
  }
  std::lock_guard lock(mutex_);
  co_return current_;
}

awaitable<PortalStore::Outcome> PortalStore::apply(exchange::WorkerContext& worker, const PortalChange& change,
                                                   std::string& error) {
  if (!redis_) {
    std::lock_guard lock(mutex_);
    for (const auto& step : change.steps) {
      bool exists = memory_.tables[int(step.table) - 1].count(step.field) > 0;
      if (step.op == PortalChange::Op::CreateOnly && exists) co_return Outcome::Exists;
      if (step.op == PortalChange::Op::MustExist && !exists) co_return Outcome::Missing;
    }
    for (const auto& step : change.steps) {
      auto& table = memory_.tables[int(step.table) - 1];
      if (step.op == PortalChange::Op::Delete) table.erase(step.field);
      else if (step.op != PortalChange::Op::MustExist) table[step.field] = step.value;
    }
    ++memory_.version;
    current_ = parse(memory_);
    co_return Outcome::Done;
  }
  static const std::string sha = clients::redis::scriptSha1(kApplyScript);
  std::vector<std::string> keys(std::begin(keys_), std::end(keys_));
  std::vector<std::string> args;
  for (const auto& step : change.steps) {
    args.push_back(opCode(step.op));
    args.push_back(std::to_string(int(step.table)));
    args.push_back(step.field);
    args.push_back(step.value);
  }
  std::vector<std::string> command = {"EVALSHA", sha, "4"};
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  std::string request = resp::encodeCommand(command);
  resp::Value reply;
  bool ok = co_await redis_->evalsha(worker, std::move(request), kApplyScript, sha, keys, args, reply, error);
  if (ok && reply.type != resp::Value::Type::Integer) {
    error = reply.isError() ? reply.text : "unexpected answer to the portal's change script";
    ok = false;
  }
  if (!ok) co_return Outcome::Unavailable;
  if (reply.integer == 0) co_return Outcome::Exists;
  if (reply.integer < 0) co_return Outcome::Missing;
  // Read back at once, so that this instance sees its own change in the next request.
  std::string loadError;
  if (!co_await load(worker, loadError))
    log::warn("api portal: a change was written but could not be read back", {{"error", loadError}});
  co_return Outcome::Done;
}

}  // namespace causeway::gateway::api
