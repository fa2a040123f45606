#include "provider/consul_provider.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>

#include "clients/http/http_client.h"
#include "core/bytes.h"
#include "core/strings.h"
#include "provider/kv_layout.h"
#include "provider/source_watch.h"

namespace causeway::provider {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr auto kWait = 55s;                // how long Consul may hold a blocking query
constexpr auto kReadTimeout = 5s;          // a plain read
constexpr auto kBlockingTimeout = 70s;     // a blocking query: the wait, plus Consul's jitter
constexpr int64_t kMaxAnswer = 256 << 20;  // the whole prefix in one answer

}  // namespace

struct ConsulProvider::State : RemoteSource {
  config::ConsulProvider options;
  std::vector<clients::http::Endpoint> endpoints;
  std::string source;  // "consul 127.0.0.1:8500" in error locations
  size_t current = 0;
  std::map<std::string, std::string> keys;
  uint64_t index = 0;  // X-Consul-Index of the last answer (0: a plain read)

  std::shared_ptr<clients::http::StreamStop> pending;
  bool reread = false;  // reload(): the next read is a plain one

  const clients::http::Endpoint& endpoint() const { return endpoints[current % endpoints.size()]; }

  LoadResult build() const {
    LoadResult result;
    result.ok = true;
    result.config.provider = "consul";
    result.config.root = nodeFromKeyValues(keys, options.rootKey, source, result.errors);
    return result;
  }

  // One read of the prefix; blocking when an index is known. "" or why not (keys untouched).
  awaitable<std::string> read(asio::io_context& io) {
    clients::http::Request request;
    request.target = "/v1/kv/" + encodePathSegments(options.rootKey) + "/?recurse=true";
    if (index > 0)
      request.target += "&index=" + std::to_string(index) + "&wait=" + std::to_string(kWait.count()) + "s";
    if (!options.token.empty()) request.headers.emplace_back("X-Consul-Token", options.token);
    std::string body;
    bool tooLarge = false;
    std::function<bool(std::string_view)> onData = [&](std::string_view data) {
      body.append(data);
      tooLarge = body.size() > size_t(kMaxAnswer);
      return !tooLarge;
    };
    pending = std::make_shared<clients::http::StreamStop>();
    auto answer = co_await clients::http::stream(io, endpoint(), request,
                                                 index > 0 ? kBlockingTimeout : kReadTimeout,
                                                 onData, pending);
    pending = nullptr;
    if (tooLarge) co_return "Consul's answer is larger than 256 MiB";
    if (answer.status == 0 || !answer.error.empty()) co_return answer.error;
    if (answer.status != 200 && answer.status != 404) {
      std::string text = body.substr(0, 200);
      while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
      co_return "Consul answered " + std::to_string(answer.status) + (text.empty() ? "" : ": " + text);
    }
    std::string_view indexHeader = answer.header("X-Consul-Index");
    std::optional<uint64_t> parsedIndex = indexHeader.empty() ? std::optional<uint64_t>(0) : parseDecimal(indexHeader);
    if (!parsedIndex) co_return "Consul's X-Consul-Index is not a number";
    uint64_t next = *parsedIndex;
    std::map<std::string, std::string> read;
    if (answer.status == 200) {  // 404: no key under the prefix
      error_code ec;
      json::value v = json::parse(body, ec);
      if (ec || !v.is_array()) co_return "Consul's answer is not a JSON list of keys";
      for (const json::value& entry : v.as_array()) {
        const json::object* o = entry.if_object();
        const json::value* key = o ? o->if_contains("Key") : nullptr;
        if (!key || !key->is_string()) co_return "Consul's answer has an entry without a Key";
        std::string name(key->as_string());
        if (name.ends_with("/")) continue;  // a folder
        std::string value;
        const json::value* encoded = o->if_contains("Value");
        if (encoded && encoded->is_string() &&
            !base64Decode(std::string_view(encoded->as_string()), value))
          co_return "Consul's value of " + name + " is not base64";
        read.emplace(std::move(name), std::move(value));
      }
    }
    keys = std::move(read);
    // Consul's rules for the index: one that goes backwards starts over; never block on 0.
    index = next < index ? 0 : next;
    co_return "";
  }

  // Consul's KV paths: each segment of the root key percent-encoded, the slashes kept.
  static std::string encodePathSegments(const std::string& key) {
    std::string out;
    static const char* hex = "0123456789ABCDEF";
    for (unsigned char c : key) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') out += char(c);
      else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    return out;
  }
};

ConsulProvider::ConsulProvider(config::ConsulProvider options) : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.options = std::move(options);
  if (!clients::http::parseEndpoints(s.options.endpoints, s.options.tls ? &*s.options.tls : nullptr,
                                     s.endpoints, s.settingsError))
    return;
  s.source = "consul " + (s.options.endpoints.empty() ? std::string() : s.options.endpoints.front());
}

ConsulProvider::~ConsulProvider() {
  state_->stop();
  if (state_->pending) state_->pending->stop();
}

namespace {

awaitable<void> readOnce(std::shared_ptr<ConsulProvider::State> s, asio::io_context* io,
                         std::string* error) {
  for (size_t tried = 0; tried < s->endpoints.size(); ++tried) {
    *error = co_await s->read(*io);
    if (error->empty()) co_return;
    ++s->current;
  }
}

awaitable<void> watchLoop(std::shared_ptr<ConsulProvider::State> s, asio::io_context* io) {
  Backoff backoff;
  s->index = 0;  // the first read is a plain one
  auto lastAnswer = std::chrono::steady_clock::now() - 1h;
  uint64_t lastIndex = 0;
  while (!s->stopped) {
    if (s->reread) s->index = 0;
    s->reread = false;
    std::string error = co_await s->read(*io);
    if (s->stopped) break;
    if (error == "stopped") {  // reload(): read again at once, whole
      s->index = 0;
      continue;
    }
    if (error.empty()) {
      backoff.reset();
      s->watch->read(s->build());
      // A server that answers a blocking query at once with the same index (a proxy that
      // drops `wait`) must not make this a busy loop.
      auto now = std::chrono::steady_clock::now();
      bool unchangedAtOnce = s->index == lastIndex && now - lastAnswer < 50ms;
      lastAnswer = now;
      lastIndex = s->index;
      if (!unchangedAtOnce && s->index > 0) continue;
      s->timer->expires_after(1s);
    } else {
      s->watch->failed(error);
      s->index = 0;
      ++s->current;
      s->timer->expires_after(backoff.next());
    }
    co_await s->timer->async_wait(nothrow);
  }
}

}  // namespace

LoadResult ConsulProvider::load() {
  LoadResult result;
  result.config.provider = "consul";
  if (!state_->settingsError.empty()) {
    result.errors.push_back({{}, "providers.consul", state_->settingsError, false, false});
    return result;
  }
  std::string error;
  runAlone([&](asio::io_context& io) { return readOnce(state_, &io, &error); });
  if (!error.empty()) {
    result.errors.push_back(unreachable("consul", error, "tried again until Consul answers"));
    return result;
  }
  return state_->build();
}

void ConsulProvider::watch(asio::io_context& control, ConfigSink sink) {
  if (!state_->settingsError.empty()) return;  // load() reports it
  state_->start(control, "consul", std::move(sink), statusReporter());
  asio::co_spawn(control, watchLoop(state_, &control), asio::detached);
}

void ConsulProvider::reload() {
  state_->reread = true;
  if (state_->pending) state_->pending->stop();
  if (state_->timer) state_->timer->cancel();
}

}  // namespace causeway::provider
