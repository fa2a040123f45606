#include "provider/http_provider.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "clients/http/http_client.h"
#include "config/parse.h"
#include "provider/source_watch.h"

namespace causeway::provider {

struct HttpProvider::State : RemoteSource {
  config::HttpProvider options;
  clients::http::Endpoint endpoint;
  clients::http::Request request;

  // One read: the configuration, or `error` (nothing built).
  awaitable<bool> read(asio::io_context& io, LoadResult& result, std::string& error) const {
    auto answer = co_await clients::http::fetch(
        io, endpoint, request,
        std::chrono::duration_cast<std::chrono::milliseconds>(options.pollTimeout.value),
        options.maxResponseBodySize);
    if (answer.status == 0) {
      error = options.endpoint + ": " + answer.error;
      co_return false;
    }
    if (answer.status != 200) {
      error = options.endpoint + " answered " + std::to_string(answer.status) + ", expected 200";
      co_return false;
    }
    config::Node root;
    if (!config::parseDynamicText(answer.body, "http " + options.endpoint, root, result.errors, error)) {
      error = "the configuration of " + options.endpoint + " does not parse: " + error;
      co_return false;
    }
    result.ok = true;
    result.config.provider = "http";
    result.config.root = std::move(root);
    co_return true;
  }
};

HttpProvider::HttpProvider(config::HttpProvider options) : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.options = std::move(options);
  if (clients::http::parseEndpoint(s.options.endpoint, s.options.tls ? &*s.options.tls : nullptr,
                                   s.endpoint, s.settingsError)) {
    s.request.target = s.endpoint.target;  // the URL exactly as written
    s.endpoint.basePath.clear();
    s.request.headers.assign(s.options.headers.begin(), s.options.headers.end());
    s.request.headers.emplace_back("Accept", "application/json");
  }
}

HttpProvider::~HttpProvider() {
  state_->stop();
}

namespace {

awaitable<void> readOnce(std::shared_ptr<HttpProvider::State> s, asio::io_context* io,
                         LoadResult* result, std::string* error) {
  co_await s->read(*io, *result, *error);
}

awaitable<void> pollLoop(std::shared_ptr<HttpProvider::State> s, asio::io_context* io) {
  while (!s->stopped) {
    LoadResult result;
    std::string error;
    bool ok = co_await s->read(*io, result, error);
    if (s->stopped) break;
    if (ok) s->watch->read(std::move(result));
    else s->watch->failed(error);
    s->timer->expires_after(s->options.pollInterval.value);
    co_await s->timer->async_wait(nothrow);
  }
}

}  // namespace

LoadResult HttpProvider::load() {
  LoadResult result;
  result.config.provider = "http";
  if (!state_->settingsError.empty()) {
    result.errors.push_back({{}, "providers.http.endpoint", state_->settingsError, false, false});
    return result;
  }
  std::string error;
  runAlone([&](asio::io_context& io) { return readOnce(state_, &io, &result, &error); });
  if (!result.ok) {
    result = LoadResult{};
    result.config.provider = "http";
    result.errors.push_back(unreachable("http", error, "read again every pollInterval"));
  }
  return result;
}

void HttpProvider::watch(asio::io_context& control, ConfigSink sink) {
  if (!state_->settingsError.empty()) return;  // load() reports it
  state_->start(control, "http", std::move(sink), statusReporter());
  asio::co_spawn(control, pollLoop(state_, &control), asio::detached);
}

void HttpProvider::reload() {
  if (state_->timer) state_->timer->cancel();  // the poll loop reads again now
}

}  // namespace causeway::provider
