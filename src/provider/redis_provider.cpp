#include "provider/redis_provider.h"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include "clients/redis/redis_client.h"
#include "clients/redis/redis_settings.h"
#include "clients/redis/sentinel.h"
#include "config/redis_options.h"
#include "core/log.h"
#include "core/strings.h"
#include "io/watchdog.h"
#include "provider/kv_layout.h"
#include "provider/source_watch.h"

namespace causeway::provider {

namespace resp = clients::redis::resp;

namespace {

// SCAN rootKey/* then MGET, in batches. False with `error` when Redis cannot be used.
awaitable<bool> readKeys(std::shared_ptr<clients::redis::RedisClient> client, std::string rootKey,
                         std::vector<std::pair<std::string, std::string>>* out, std::string* error) {
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    std::vector<std::string> scan{"SCAN", cursor, "MATCH", rootKey + "/*", "COUNT", "1000"};
    resp::Value reply;
    if (!co_await client->call(std::move(scan), reply, *error)) co_return false;
    if (reply.isError() || reply.type != resp::Value::Type::Array || reply.items.size() != 2) {
      *error = reply.isError() ? "redis: " + reply.text : "redis: unexpected SCAN answer";
      co_return false;
    }
    cursor = reply.items[0].text;
    for (const resp::Value& k : reply.items[1].items)
      if (k.type == resp::Value::Type::Bulk) keys.push_back(k.text);
  } while (cursor != "0");
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());  // SCAN may repeat a key
  out->clear();
  for (size_t start = 0; start < keys.size(); start += 500) {
    std::vector<std::string> mget{"MGET"};
    size_t end = std::min(keys.size(), start + 500);
    mget.insert(mget.end(), keys.begin() + long(start), keys.begin() + long(end));
    resp::Value reply;
    if (!co_await client->call(std::move(mget), reply, *error)) co_return false;
    if (reply.type != resp::Value::Type::Array || reply.items.size() != end - start) {
      *error = reply.isError() ? "redis: " + reply.text : "redis: unexpected MGET answer";
      co_return false;
    }
    for (size_t i = start; i < end; ++i) {
      const resp::Value& v = reply.items[i - start];
      if (v.type == resp::Value::Type::Bulk) out->emplace_back(keys[i], v.text);
      else if (v.type != resp::Value::Type::Nil) {  // a hash or list under the root: not a value
        *error = "redis: " + keys[i] + " is not a string";
        co_return false;
      }
    }
  }
  co_return true;
}

// With `sentinel`: the master's "host:port", asked with clients of this event loop (never the
// workers' pools); "" with `error` when no sentinel names it.
awaitable<std::string> askMaster(asio::io_context* io, io::Watchdog* watchdog,
                                 const clients::redis::RedisSettings& sentinels,
                                 const std::string& masterName, std::string* error) {
  const clients::redis::ClientFor clientFor = [io, watchdog](const clients::redis::RedisSettings& one) {
    return std::make_shared<clients::redis::RedisClient>(*io, *watchdog, one);
  };
  co_return co_await clients::redis::askSentinels(sentinels, masterName, clientFor, *error);
}

}  // namespace

struct RedisProvider::State : RemoteSource {
  config::RedisProvider options;
  clients::redis::RedisSettings settings;  // the data's (with sentinel: the master's, once named)
  clients::redis::RedisSettings sentinels;  // with sentinel: the sentinels' (endpoints, credentials)
  std::string master;  // with sentinel: the master the client reaches
  std::string source;  // "redis 127.0.0.1:6379" in error locations
  // The watch, on the control thread.
  asio::io_context* control = nullptr;
  io::Watchdog watchdog;
  std::shared_ptr<clients::redis::RedisClient> client;
  uint64_t polls = 0;
  bool dirty = false;  // a keyspace notification came since the last read began
  std::shared_ptr<tcp::socket> subscriber;

  LoadResult build(const std::vector<std::pair<std::string, std::string>>& pairs) const {
    LoadResult result;
    result.config.provider = "redis";
    result.config.root = nodeFromKeyValues(pairs, options.rootKey, source, result.errors);
    result.ok = true;
    return result;
  }
};

// One read on `io`, with a client of its own (through the sentinels' master with `sentinel`).
static awaitable<bool> readOnce(std::shared_ptr<RedisProvider::State> s, asio::io_context* io,
                         io::Watchdog* watchdog,
                         std::vector<std::pair<std::string, std::string>>* pairs,
                         std::string* error) {
  clients::redis::RedisSettings settings = s->settings;
  if (s->options.sentinel) {
    std::string master = co_await askMaster(io, watchdog, s->sentinels,
                                               s->options.sentinel->masterName, error);
    if (master.empty()) co_return false;
    settings.endpoints = {master};
  }
  auto client = std::make_shared<clients::redis::RedisClient>(*io, *watchdog, settings);
  co_return co_await readKeys(client, s->options.rootKey, pairs, error);
}

RedisProvider::RedisProvider(config::RedisProvider options) : state_(std::make_shared<State>()) {
  state_->options = std::move(options);
  config::RedisOptions ro;
  ro.endpoints = state_->options.endpoints;
  ro.username = state_->options.username;
  ro.password = state_->options.password;
  ro.db = state_->options.db;
  ro.tls = state_->options.tls;
  ro.readTimeout = ro.writeTimeout = std::chrono::seconds(3);
  ro.dialTimeout = std::chrono::seconds(3);
  auto settings = clients::redis::settingsFrom(ro, 1, state_->settingsError);
  if (settings) state_->settings = *settings;
  if (settings && state_->options.sentinel) {
    state_->sentinels = *settings;
    state_->sentinels.username = state_->options.sentinel->username;
    state_->sentinels.password = state_->options.sentinel->password;
    if (state_->options.sentinel->masterName.empty())
      state_->settingsError = "providers.redis.sentinel.masterName is required";
  }
  state_->source = "redis " + (state_->options.endpoints.empty() ? std::string()
                                                                  : state_->options.endpoints.front());
}

RedisProvider::~RedisProvider() {
  state_->stop();
  if (state_->subscriber) {
    error_code ignored;
    state_->subscriber->close(ignored);
  }
}

LoadResult RedisProvider::load() {
  LoadResult result;
  result.config.provider = "redis";
  if (!state_->settingsError.empty()) {
    result.errors.push_back({{}, "providers.redis", state_->settingsError, false, false});
    return result;
  }
  // Once, on an event loop of its own (start-up and `causeway check`).
  asio::io_context io;
  io::Watchdog watchdog;
  std::vector<std::pair<std::string, std::string>> pairs;
  std::string error;
  bool ok = false, done = false;
  asio::co_spawn(io, readOnce(state_, &io, &watchdog, &pairs, &error),
                 [&](std::exception_ptr, bool read) {
                   ok = read;
                   done = true;
                 });
  asio::steady_timer tick(io);
  std::function<void()> arm = [&] {
    tick.expires_after(std::chrono::milliseconds(100));
    tick.async_wait([&](error_code ec) {
      if (ec || done) return;
      watchdog.tick(Clock::now());
      arm();
    });
  };
  arm();
  while (!done && io.run_one()) {
  }
  tick.cancel();
  io.run();
  if (!ok) {
    result.errors.push_back(unreachable("redis", error, "tried again every pollInterval"));
    return result;
  }
  return state_->build(pairs);
}

namespace {

awaitable<void> pollLoop(std::shared_ptr<RedisProvider::State> s);
awaitable<void> subscribeLoop(std::shared_ptr<RedisProvider::State> s);

}  // namespace

void RedisProvider::watch(asio::io_context& control, ConfigSink sink) {
  if (!state_->settingsError.empty()) return;  // load() reports it
  State& s = *state_;
  s.control = &control;
  s.client = std::make_shared<clients::redis::RedisClient>(control, s.watchdog, s.settings);
  s.start(control, "redis", std::move(sink), statusReporter());
  asio::co_spawn(control, pollLoop(state_), asio::detached);
  if (!s.settings.useTls) asio::co_spawn(control, subscribeLoop(state_), asio::detached);
}

void RedisProvider::reload() {
  if (state_->timer) state_->timer->cancel();  // the poll loop reads again now
}

namespace {

awaitable<void> pollLoop(std::shared_ptr<RedisProvider::State> s) {
  auto ticker = std::make_shared<asio::steady_timer>(*s->control);
  // The client's timeouts: its watchdog ticks every 100 ms while the provider lives.
  struct Ticker {
    static void start(std::shared_ptr<RedisProvider::State> s, std::shared_ptr<asio::steady_timer> t) {
      t->expires_after(std::chrono::milliseconds(100));
      t->async_wait([s, t](error_code ec) {
        if (ec || s->stopped) return;
        s->watchdog.tick(Clock::now());
        start(s, t);
      });
    }
  };
  Ticker::start(s, ticker);
  while (!s->stopped) {
    std::vector<std::pair<std::string, std::string>> pairs;
    std::string error;
    bool ok = true;
    // The master is asked for at start, after any failure (a failover in progress), and every
    // tenth poll (a demoted master still answers reads, so no error tells).
    bool recheck = s->options.sentinel && s->polls++ % 10 == 9;
    if (s->options.sentinel && (s->master.empty() || s->watch->failing() || recheck)) {
      std::string master = co_await askMaster(s->control, &s->watchdog, s->sentinels,
                                                 s->options.sentinel->masterName, &error);
      ok = !master.empty() || (recheck && s->client);  // sentinels away: the known master still serves
      if (!master.empty() && master != s->master) {
        log::info("redis provider: master of the sentinel set",
                  {{"masterName", s->options.sentinel->masterName}, {"master", master}});
        clients::redis::RedisSettings settings = s->settings;
        settings.endpoints = {master};
        s->client = std::make_shared<clients::redis::RedisClient>(*s->control, s->watchdog, settings);
        s->master = master;
      }
    }
    if (ok) ok = co_await readKeys(s->client, s->options.rootKey, &pairs, &error);
    if (s->stopped) break;
    if (!ok) s->watch->failed(error);
    else s->watch->read(s->build(pairs));
    if (s->dirty) {  // a change was notified while reading: read again, a burst coalesced
      asio::steady_timer coalesce(*s->control);
      coalesce.expires_after(std::chrono::milliseconds(100));
      co_await coalesce.async_wait(nothrow);
      s->dirty = false;
      continue;
    }
    s->timer->expires_after(s->options.pollInterval.value);
    co_await s->timer->async_wait(nothrow);
    s->dirty = false;
  }
  ticker->cancel();
  if (s->subscriber) {
    error_code ignored;
    s->subscriber->close(ignored);
  }
}

// Keyspace notifications (when the server has `notify-keyspace-events` with K and a key-event
// class, e.g. "KA"): a connection PSUBSCRIBEd to __keyspace@<db>__:<rootKey>/* makes any change
// under the root read at once instead of at the next poll. Without notifications nothing
// arrives and polling alone serves. Plain TCP only (with `tls`, polling alone); reconnects
// after a second when the connection fails.
awaitable<void> subscribeLoop(std::shared_ptr<RedisProvider::State> s) {
  asio::steady_timer pause(*s->control);
  while (!s->stopped) {
    std::string endpoint = s->options.sentinel ? s->master : s->settings.endpoints.front();
    std::string host, port;
    if (size_t colon = endpoint.rfind(':'); colon != std::string::npos) {
      host = endpoint.substr(0, colon);
      port = endpoint.substr(colon + 1);
    }
    if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (!host.empty()) {
      auto socket = std::make_shared<tcp::socket>(*s->control);
      s->subscriber = socket;
      // A dial that hangs is closed after the client's dial timeout.
      asio::steady_timer guard(*s->control);
      guard.expires_after(s->settings.dialTimeout);
      guard.async_wait([socket](error_code ec) {
        error_code ignored;
        if (!ec) socket->close(ignored);  // not cancelled: the dial took too long
      });
      tcp::resolver resolver(*s->control);
      auto [resolveError, results] = co_await resolver.async_resolve(host, port, nothrow);
      error_code connectError = resolveError;
      if (!resolveError) {
        auto [dialError, peer] = co_await asio::async_connect(*socket, results, nothrow);
        connectError = dialError;
      }
      guard.cancel();
      if (!connectError && !s->stopped) {
        std::string request;
        if (!s->settings.password.empty()) {
          std::vector<std::string> auth{"AUTH"};
          if (!s->settings.username.empty()) auth.push_back(s->settings.username);
          auth.push_back(s->settings.password);
          request += resp::encodeCommand(auth);
        }
        std::vector<std::string> subscribe{
            "PSUBSCRIBE", "__keyspace@" + std::to_string(s->options.db) + "__:" + s->options.rootKey + "/*"};
        request += resp::encodeCommand(subscribe);
        auto [writeError, written] = co_await asio::async_write(*socket, asio::buffer(request), nothrow);
        std::string in;
        char buffer[4096];
        while (!writeError && !s->stopped) {
          auto [readError, n] = co_await socket->async_read_some(asio::buffer(buffer), nothrow);
          if (readError) break;
          in.append(buffer, n);
          bool broken = false;
          while (!in.empty()) {
            resp::Value value;
            size_t consumed = 0;
            std::string why;
            auto status = resp::parse(in, value, consumed, why);
            if (status == resp::Status::Incomplete) break;
            if (status == resp::Status::Error || value.isError()) {
              broken = true;  // e.g. -NOAUTH: polling alone serves
              break;
            }
            in.erase(0, consumed);
            if (value.type == resp::Value::Type::Array && !value.items.empty() &&
                value.items[0].text == "pmessage") {
              s->dirty = true;
              s->timer->cancel();  // the poll loop reads now
            }
          }
          if (broken || in.size() > (1u << 20)) break;
        }
      }
      error_code ignored;
      socket->close(ignored);
    }
    if (s->stopped) break;
    pause.expires_after(std::chrono::seconds(1));
    co_await pause.async_wait(nothrow);
  }
}

}  // namespace

}  // namespace causeway::provider
