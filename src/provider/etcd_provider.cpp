#include "provider/etcd_provider.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "clients/http/http_client.h"
#include "core/bytes.h"
#include "core/log.h"
#include "core/strings.h"
#include "provider/etcd_gateway.h"
#include "provider/kv_layout.h"
#include "provider/source_watch.h"

namespace causeway::provider {

namespace json = boost::json;
using namespace std::chrono_literals;

using etcd::bytesField;
using etcd::errorOf;
using etcd::prefixEnd;

namespace {

constexpr auto kTimeout = 5s;              // a read, an authentication, a watch's head
constexpr int64_t kMaxRange = 256 << 20;   // the whole prefix in one answer
constexpr auto kWatchSilence = 15min;      // longer than etcd's progress notifications (10 min)

// etcd's int64 fields are JSON strings ("revision": "42"); absent means 0.
int64_t int64Field(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (!v->is_string()) return 0;
  std::optional<uint64_t> parsed = parseDecimal(std::string_view(v->as_string()));
  return parsed && *parsed <= uint64_t(INT64_MAX) ? int64_t(*parsed) : 0;
}

}  // namespace

struct EtcdProvider::State : RemoteSource {
  config::EtcdProvider options;
  std::vector<clients::http::Endpoint> endpoints;
  std::string prefix, rangeEnd;  // rootKey + "/", and the key after the prefix
  std::string source;            // "etcd 127.0.0.1:2379" in error locations
  size_t current = 0;            // the endpoint in use

  // The keys as etcd holds them, as a tree kept key by key, and the revision they are at (0:
  // nothing read yet).
  std::unique_ptr<KvTree> keys;
  int64_t revision = 0;
  std::string token;  // with username: the authentication token

  std::shared_ptr<clients::http::StreamStop> streaming;
  bool emitPending = false;
  bool rereadRequested = false;

  const clients::http::Endpoint& endpoint() const { return endpoints[current % endpoints.size()]; }

  clients::http::Request post(std::string_view path, const json::object& body) const {
    return etcd::post(path, body, token);
  }

  // The configuration: the tree shared with the pipeline (`copy`: a tree of its own, for
  // load()).
  LoadResult build(bool copy = false) const {
    LoadResult result;
    result.ok = true;
    result.config.provider = "etcd";
    if (!keys) keys_ = std::make_unique<KvTree>(options.rootKey, source);
    const KvTree& tree = keys ? *keys : *keys_;
    if (copy) result.config.root = *tree.tree();
    else result.config.shared = tree.tree();
    result.errors = tree.errors();
    return result;
  }
  mutable std::unique_ptr<KvTree> keys_;  // the empty tree before the first read

  // Authenticates when a username is set. "" or why not.
  awaitable<std::string> authenticate(asio::io_context& io) {
    token.clear();
    if (options.username.empty()) co_return "";
    std::string error;
    token = co_await etcd::authenticate(io, endpoint(), options.username, options.password, kTimeout, error);
    co_return error;
  }

  // Reads every key under the prefix and the revision. "" or why not (keys untouched).
  awaitable<std::string> readAll(asio::io_context& io) {
    json::object body{{"key", base64Encode(prefix)}, {"range_end", base64Encode(rangeEnd)}};
    auto answer = co_await clients::http::fetch(io, endpoint(), post("/v3/kv/range", body),
                                                kTimeout, kMaxRange);
    if (answer.status != 200) co_return errorOf(answer);
    error_code ec;
    json::value v = json::parse(answer.body, ec);
    if (ec || !v.is_object()) co_return "etcd's range answer is not JSON";
    const json::object& o = v.as_object();
    const json::value* header = o.if_contains("header");
    if (!header || !header->is_object()) co_return "etcd's range answer has no header";
    auto read = std::make_unique<KvTree>(options.rootKey, source);
    if (const json::value* kvs = o.if_contains("kvs")) {
      if (!kvs->is_array()) co_return "etcd's range answer has no list of keys";
      for (const json::value& kv : kvs->as_array()) {
        std::string key, value;
        if (!kv.is_object() || !bytesField(kv.as_object(), "key", key) ||
            !bytesField(kv.as_object(), "value", value))
          co_return "etcd's range answer has a malformed key";
        read->put(key, value);
      }
    }
    keys = std::move(read);
    revision = int64Field(header->as_object(), "revision");
    co_return "";
  }

  // Applies one line of the watch stream. False with `error` when the watch must end: etcd
  // cancelled it (compacted: `compacted` set, the keys must be read whole) or sent garbage.
  bool applyWatchLine(std::string_view line, bool& created, bool& changed, bool& compacted,
                      std::string& error) {
    error_code ec;
    json::value v = json::parse(line, ec);
    if (ec || !v.is_object()) {
      error = "etcd's watch sent something that is not JSON";
      return false;
    }
    const json::object& o = v.as_object();
    if (const json::value* e = o.if_contains("error")) {
      error = "etcd ended the watch: " + json::serialize(*e);
      return false;
    }
    const json::value* r = o.if_contains("result");
    if (!r || !r->is_object()) return true;  // nothing for us
    const json::object& result = r->as_object();
    if (const json::value* c = result.if_contains("created"); c && c->is_bool() && c->as_bool())
      created = true;
    if (int64_t compactRevision = int64Field(result, "compact_revision"); compactRevision > 0) {
      compacted = true;
      error = "etcd compacted revision " + std::to_string(revision + 1) + " away";
      return false;
    }
    if (const json::value* c = result.if_contains("canceled"); c && c->is_bool() && c->as_bool()) {
      const json::value* reason = result.if_contains("cancel_reason");
      error = "etcd cancelled the watch" +
              (reason && reason->is_string() ? ": " + std::string(reason->as_string()) : "");
      return false;
    }
    if (const json::value* events = result.if_contains("events"); events && events->is_array()) {
      for (const json::value& event : events->as_array()) {
        if (!event.is_object()) continue;
        const json::value* kv = event.as_object().if_contains("kv");
        const json::value* type = event.as_object().if_contains("type");
        std::string key, value;
        if (!kv || !kv->is_object() || !bytesField(kv->as_object(), "key", key) ||
            !bytesField(kv->as_object(), "value", value)) {
          error = "etcd's watch sent a malformed event";
          return false;
        }
        if (type && type->is_string() && type->as_string() == "DELETE") keys->remove(key);
        else keys->put(key, value);  // PUT (the default, left out of the JSON)
        // The revision applied: only from the events themselves. A header carries etcd's current
        // revision, which may be ahead of events still to come while the watch catches up.
        revision = std::max(revision, int64Field(kv->as_object(), "mod_revision"));
        changed = true;
      }
    }
    return true;
  }
};

EtcdProvider::EtcdProvider(config::EtcdProvider options) : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.options = std::move(options);
  if (!clients::http::parseEndpoints(s.options.endpoints, s.options.tls ? &*s.options.tls : nullptr,
                                     s.endpoints, s.settingsError))
    return;
  s.prefix = s.options.rootKey + "/";
  s.rangeEnd = prefixEnd(s.prefix);
  s.source = "etcd " + (s.options.endpoints.empty() ? std::string() : s.options.endpoints.front());
}

EtcdProvider::~EtcdProvider() {
  state_->stop();
  if (state_->streaming) state_->streaming->stop();
}

namespace {

// Authenticates and reads every key, trying each endpoint once. "" or the last error.
awaitable<std::string> readFromAny(std::shared_ptr<EtcdProvider::State> s, asio::io_context* io) {
  std::string error;
  for (size_t tried = 0; tried < s->endpoints.size() && !s->stopped; ++tried) {
    error = co_await s->authenticate(*io);
    if (error.empty()) error = co_await s->readAll(*io);
    if (error.empty()) co_return "";
    ++s->current;
  }
  co_return error;
}

awaitable<void> readOnce(std::shared_ptr<EtcdProvider::State> s, asio::io_context* io,
                         std::string* error) {
  *error = co_await readFromAny(s, io);
}

void emitSoon(const std::shared_ptr<EtcdProvider::State>& s, asio::io_context& io) {
  if (s->emitPending) return;
  s->emitPending = true;
  // After the rest of what arrived with this read: a burst of events is one rebuild.
  asio::post(io, [s] {
    s->emitPending = false;
    if (!s->stopped) s->watch->read(s->build());
  });
}

awaitable<void> watchLoop(std::shared_ptr<EtcdProvider::State> s, asio::io_context* io) {
  Backoff backoff;
  // load() read the keys at start: the watch begins where that read ended.
  bool needRead = s->revision == 0;
  if (!needRead) s->watch->read(s->build());
  while (!s->stopped) {
    std::string error;
    if (needRead || s->rereadRequested) {
      s->rereadRequested = false;
      error = co_await readFromAny(s, io);
      if (error.empty()) {
        needRead = false;
        s->watch->read(s->build());
      }
    } else {
      error = co_await s->authenticate(*io);  // a new connection: a new token
    }
    if (error.empty() && !s->stopped) {
      // Watch from the revision after the last one applied: nothing is missed across a
      // reconnection, and nothing is applied twice.
      json::object create{{"key", base64Encode(s->prefix)},
                          {"range_end", base64Encode(s->rangeEnd)},
                          {"start_revision", std::to_string(s->revision + 1)},
                          // etcd then says "nothing new" now and then (every 10 min by default),
                          // so that a watch that hears nothing for longer is known dead.
                          {"progress_notify", true}};
      json::object body{{"create_request", std::move(create)}};
      auto request = s->post("/v3/watch", body);
      s->streaming = std::make_shared<clients::http::StreamStop>();
      clients::http::LineSplitter lines;
      bool compacted = false;
      std::string watchError;
      std::function<bool(std::string_view)> onData = [&](std::string_view data) {
        bool ok = true;
        bool created = false, changed = false;
        bool fits = lines.feed(data, [&](std::string_view line) {
          if (ok) ok = s->applyWatchLine(line, created, changed, compacted, watchError);
        });
        if (!fits) {
          watchError = "etcd's watch sent a line over 16 MiB";
          ok = false;
        }
        if (created) {
          backoff.reset();
          s->watch->answering();
        }
        if (changed) emitSoon(s, *io);
        return ok;
      };
      auto answer = co_await clients::http::stream(*io, s->endpoint(), request, kTimeout, onData,
                                                   s->streaming, kWatchSilence);
      s->streaming = nullptr;
      if (s->stopped) break;
      if (compacted) {
        log::info("etcd provider: the watch's revision was compacted; reading every key again",
                  {{"providerName", "etcd"}});
        needRead = true;
        continue;  // at once: etcd is there
      }
      if (s->rereadRequested) continue;
      if (answer.status != 200 && answer.status != 0) error = errorOf(answer);
      else if (!watchError.empty()) error = watchError;
      else if (!answer.error.empty()) error = "the watch broke off: " + answer.error;
      else error = "etcd ended the watch";
    }
    if (s->stopped) break;
    s->watch->failed(error);
    ++s->current;  // the next member
    s->timer->expires_after(backoff.next());
    co_await s->timer->async_wait(nothrow);
  }
}

}  // namespace

LoadResult EtcdProvider::load() {
  LoadResult result;
  result.config.provider = "etcd";
  if (!state_->settingsError.empty()) {
    result.errors.push_back({{}, "providers.etcd", state_->settingsError, false, false});
    return result;
  }
  std::string error;
  runAlone([&](asio::io_context& io) { return readOnce(state_, &io, &error); });
  if (!error.empty()) {
    result.errors.push_back(unreachable("etcd", error, "tried again until etcd answers"));
    return result;
  }
  return state_->build(true);
}

void EtcdProvider::watch(asio::io_context& control, ConfigSink sink) {
  if (!state_->settingsError.empty()) return;  // load() reports it
  state_->start(control, "etcd", std::move(sink), statusReporter());
  asio::co_spawn(control, watchLoop(state_, &control), asio::detached);
}

void EtcdProvider::reload() {
  state_->rereadRequested = true;
  if (state_->streaming) state_->streaming->stop();
  if (state_->timer) state_->timer->cancel();
}

}  // namespace causeway::provider
