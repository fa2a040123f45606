#include "provider/acme/shared_store.h"

#include <boost/json.hpp>
#include <functional>

#include "clients/http/http_client.h"
#include "clients/redis/redis_client.h"
#include "clients/redis/redis_settings.h"
#include "core/bytes.h"
#include "io/watchdog.h"
#include "provider/etcd_gateway.h"

namespace causeway::provider {
namespace {
namespace json = boost::json;
namespace resp = clients::redis::resp;

constexpr auto kEtcdTimeout = std::chrono::seconds(5);
constexpr int64_t kMaxAnswer = 16 << 20;

// Redis: plain keys; the lock is SET NX PX, released by a script that deletes it only for
// its owner.
class RedisStore final : public SharedStore {
 public:
  RedisStore(asio::io_context& io, clients::redis::RedisSettings settings)
      : io_(io), tick_(io), describe_("redis " + (settings.endpoints.empty() ? "" : settings.endpoints.front())) {
    client_ = std::make_shared<clients::redis::RedisClient>(io, watchdog_, std::move(settings));
    arm();
  }
  ~RedisStore() override {
    *alive_ = false;
    tick_.cancel();
  }
  const std::string& describe() const override { return describe_; }

  awaitable<std::optional<Pairs>> list(const std::string& prefix, std::string& error) override {
    Pairs out;
    std::string cursor = "0";
    do {
      resp::Value reply;
      std::vector<std::string> scan{"SCAN", cursor, "MATCH", escapeGlob(prefix) + "*", "COUNT", "500"};
      if (!co_await call(scan, reply, error))
        co_return std::nullopt;
      if (reply.type != resp::Value::Type::Array || reply.items.size() != 2) {
        error = describe_ + ": unexpected SCAN reply";
        co_return std::nullopt;
      }
      cursor = reply.items[0].text;
      for (const resp::Value& key : reply.items[1].items) {
        resp::Value value;
        std::vector<std::string> get{"GET", key.text};
        if (!co_await call(get, value, error)) co_return std::nullopt;
        if (value.type == resp::Value::Type::Bulk) out.emplace_back(key.text, value.text);
      }
    } while (cursor != "0");
    co_return out;
  }
  awaitable<bool> put(const std::string& key, const std::string& value, std::string& error) override {
    resp::Value reply;
    std::vector<std::string> set{"SET", key, value};
    co_return co_await call(set, reply, error);
  }
  awaitable<bool> remove(const std::string& key, std::string& error) override {
    resp::Value reply;
    std::vector<std::string> del{"DEL", key};
    co_return co_await call(del, reply, error);
  }
  awaitable<std::optional<bool>> tryLock(const std::string& key, const std::string& owner, std::chrono::seconds ttl,
                                         std::string& error) override {
    resp::Value reply;
    std::vector<std::string> set{"SET", key, owner, "NX", "PX", std::to_string(ttl.count() * 1000)};
    if (!co_await call(set, reply, error))
      co_return std::nullopt;
    co_return reply.type == resp::Value::Type::Simple && reply.text == "OK";
  }
  awaitable<void> unlock(const std::string& key, const std::string& owner) override {
    static const std::string script =
        "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
    static const std::string sha1 = clients::redis::scriptSha1(script);
    resp::Value reply;
    std::string error;
    std::vector<std::string> keys{key}, args{owner};
    co_await client_->runScript(script, sha1, std::move(keys), std::move(args), reply, error);
  }

 private:
  awaitable<bool> call(const std::vector<std::string>& args, resp::Value& reply, std::string& error) {
    std::vector<std::string> command = args;
    std::shared_ptr<clients::redis::RedisClient> client = client_;
    if (!co_await client->call(std::move(command), reply, error)) {
      error = describe_ + ": " + error;
      co_return false;
    }
    if (reply.isError()) {
      error = describe_ + ": " + reply.text;
      co_return false;
    }
    co_return true;
  }
  static std::string escapeGlob(const std::string& text) {
    std::string out;
    for (char c : text) {
      if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    return out;
  }
  // The client's timeouts run on this watchdog.
  void arm() {
    tick_.expires_after(std::chrono::milliseconds(100));
    tick_.async_wait([this, alive = alive_](error_code ec) {
      if (ec || !*alive) return;
      watchdog_.tick(Clock::now());
      arm();
    });
  }

  asio::io_context& io_;
  io::Watchdog watchdog_;
  asio::steady_timer tick_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::shared_ptr<clients::redis::RedisClient> client_;
  std::string describe_;
};

// etcd v3 through its JSON gateway (keys and values base64): range, put, delete; the lock is
// a key attached to a lease, created only when absent (a transaction on create_revision 0).
class EtcdStore final : public SharedStore {
 public:
  EtcdStore(asio::io_context& io, std::vector<clients::http::Endpoint> endpoints, config::AcmeEtcdStore options)
      : io_(io), endpoints_(std::move(endpoints)), options_(std::move(options)),
        describe_("etcd " + (options_.endpoints.empty() ? "" : options_.endpoints.front())) {}
  const std::string& describe() const override { return describe_; }

  awaitable<std::optional<Pairs>> list(const std::string& prefix, std::string& error) override {
    json::object body{{"key", base64Encode(prefix)}, {"range_end", base64Encode(etcd::prefixEnd(prefix))}};
    std::optional<json::object> answer = co_await call("/v3/kv/range", body, error);
    if (!answer) co_return std::nullopt;
    Pairs out;
    if (auto* kvs = answer->if_contains("kvs"); kvs && kvs->is_array())
      for (const auto& kv : kvs->as_array()) {
        std::string key, value;
        if (kv.is_object() && etcd::bytesField(kv.as_object(), "key", key) &&
            etcd::bytesField(kv.as_object(), "value", value))
          out.emplace_back(std::move(key), std::move(value));
      }
    co_return out;
  }
  awaitable<bool> put(const std::string& key, const std::string& value, std::string& error) override {
    json::object body{{"key", base64Encode(key)}, {"value", base64Encode(value)}};
    co_return (co_await call("/v3/kv/put", body, error)).has_value();
  }
  awaitable<bool> remove(const std::string& key, std::string& error) override {
    json::object body{{"key", base64Encode(key)}};
    co_return (co_await call("/v3/kv/deleterange", body, error)).has_value();
  }
  awaitable<std::optional<bool>> tryLock(const std::string& key, const std::string& owner, std::chrono::seconds ttl,
                                         std::string& error) override {
    json::object grant{{"TTL", ttl.count()}};
    std::optional<json::object> lease = co_await call("/v3/lease/grant", grant, error);
    if (!lease) co_return std::nullopt;
    std::string id = lease->contains("ID") ? json::serialize(lease->at("ID")) : std::string();
    if (id.size() >= 2 && id.front() == '"') id = id.substr(1, id.size() - 2);
    json::object put{{"key", base64Encode(key)}, {"value", base64Encode(owner)}, {"lease", id}};
    json::object compare{{"key", base64Encode(key)}, {"target", "CREATE"}, {"result", "EQUAL"}, {"create_revision", "0"}};
    json::object txn{{"compare", json::array{compare}}, {"success", json::array{json::object{{"request_put", put}}}}};
    std::optional<json::object> answer = co_await call("/v3/kv/txn", txn, error);
    if (!answer) co_return std::nullopt;
    bool taken = answer->contains("succeeded") && answer->at("succeeded").is_bool() && answer->at("succeeded").as_bool();
    if (!taken) {
      json::object revoke{{"ID", id}};
      std::string ignored;
      co_await call("/v3/lease/revoke", revoke, ignored);
    } else {
      leases_[key] = id;
    }
    co_return taken;
  }
  awaitable<void> unlock(const std::string& key, const std::string& owner) override {
    auto lease = leases_.find(key);
    if (lease == leases_.end()) co_return;
    // Revoking the lease deletes the key; only ours was granted here.
    json::object revoke{{"ID", lease->second}};
    leases_.erase(lease);
    std::string ignored;
    (void)owner;
    co_await call("/v3/lease/revoke", revoke, ignored);
  }

 private:
  // `path` a literal: no temporary string in the caller's co_await.
  awaitable<std::optional<json::object>> call(std::string_view path, const json::object& body, std::string& error) {
    for (size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
      if (!options_.username.empty() && token_.empty()) {
        std::string why;
        token_ = co_await etcd::authenticate(io_, endpoint(), options_.username, options_.password, kEtcdTimeout, why);
        if (token_.empty()) {
          error = describe_ + ": " + why;
          co_return std::nullopt;
        }
      }
      const clients::http::Request one = etcd::post(path, body, token_);
      clients::http::Answer answer = co_await clients::http::fetch(io_, endpoint(), one, kEtcdTimeout, kMaxAnswer);
      if (answer.status == 200)
        if (std::optional<json::object> parsed = object(answer)) co_return parsed;
      error = describe_ + std::string(path) + ": " + etcd::errorOf(answer);
      if (answer.status == 401) token_.clear();
      if (answer.status != 0) break;
      current_ = (current_ + 1) % endpoints_.size();  // unreachable: the next endpoint
    }
    co_return std::nullopt;
  }
  static std::optional<json::object> object(const clients::http::Answer& answer) {
    boost::system::error_code ec;
    json::value value = json::parse(answer.body, ec);
    if (ec || !value.is_object()) return std::nullopt;
    return value.as_object();
  }
  const clients::http::Endpoint& endpoint() const { return endpoints_[current_]; }

  asio::io_context& io_;
  std::vector<clients::http::Endpoint> endpoints_;
  config::AcmeEtcdStore options_;
  std::string describe_;
  size_t current_ = 0;
  std::string token_;
  std::map<std::string, std::string> leases_;  // lock key → lease id
};

}  // namespace

std::unique_ptr<SharedStore> SharedStore::make(asio::io_context& io, const config::AcmeSharedStorage& options,
                                               std::string& error) {
  if (options.redis) {
    std::optional<clients::redis::RedisSettings> settings = clients::redis::settingsFrom(*options.redis, 1, error);
    if (!settings) return nullptr;
    return std::make_unique<RedisStore>(io, std::move(*settings));
  }
  if (options.etcd) {
    std::vector<std::string> urls;
    for (const std::string& address : options.etcd->endpoints)
      urls.push_back(address.find("://") != std::string::npos ? address
                                                              : (options.etcd->tls ? "https://" : "http://") + address);
    std::vector<clients::http::Endpoint> endpoints;
    const config::ClientTls* tls = options.etcd->tls ? &*options.etcd->tls : nullptr;
    if (!clients::http::parseEndpoints(urls, tls, endpoints, error) || endpoints.empty()) {
      if (error.empty()) error = "no etcd endpoint";
      return nullptr;
    }
    return std::make_unique<EtcdStore>(io, std::move(endpoints), *options.etcd);
  }
  error = "sharedStorage needs redis or etcd";
  return nullptr;
}

}  // namespace causeway::provider
