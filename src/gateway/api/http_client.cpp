#include "gateway/api/http_client.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/url.hpp>

#include "core/arena.h"
#include "core/strings.h"
#include "exchange/body.h"
#include "exchange/exchange.h"
#include "tls/tls_stream.h"
#include "upstream/forward.h"

namespace causeway::gateway::api {

std::string_view HttpAnswer::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return {};
}

std::shared_ptr<const HttpClient> HttpClient::make(const std::string& url,
                                                   const ClientConfig& config,
                                                   const std::string& name, std::string& error) {
  auto t = std::make_shared<upstream::Transport>();
  t->name = name;
  t->dialTimeout = std::chrono::seconds(std::max(1, config.timeoutSeconds));
  t->maxIdleConnsPerHost = 2;
  t->tls.context = tls::makeClientContext(config.tls.value_or(config::ClientTls{}), error);
  if (!t->tls.context) return nullptr;
  t->tls.verify = !(config.tls && config.tls->insecureSkipVerify);
  // HTTP/1.1 only: an attempt can then be cancelled at its deadline safely.
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  t->tls.alpn.assign(std::begin(kHttp11), std::end(kHttp11));
  t->disableHTTP2 = true;
  auto client = std::make_shared<HttpClient>();
  if (!upstream::makeEndpoint(url, t, client->endpoint_, error)) return nullptr;
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    error = "not a URL: " + url;
    return nullptr;
  }
  client->path_ = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
  if (parsed->has_query()) client->path_ += "?" + std::string(parsed->encoded_query());
  if (config.timeoutSeconds <= 0 || config.maxRetries < 0) {
    error = "clientConfig: timeoutSeconds must be positive and maxRetries not negative";
    return nullptr;
  }
  client->timeout_ = std::chrono::seconds(config.timeoutSeconds);
  client->retries_ = std::min(config.maxRetries, 10);
  return client;
}

awaitable<HttpAnswer> HttpClient::once(exchange::WorkerContext& worker, const HttpCall& call,
                                       size_t maxBody) const {
  Arena arena;
  exchange::ConnectionInfo connection;
  exchange::Exchange sub(worker, arena, connection);
  exchange::Request& r = sub.request;
  std::string_view target = path_;
  size_t q = target.find('?');
  r.method = call.method;
  r.path = r.rawPath = r.routingPath = target.substr(0, q);
  r.hasQuery = q != std::string_view::npos;
  r.query = r.hasQuery ? target.substr(q + 1) : std::string_view();
  r.authority = endpoint_.authority();
  r.scheme = "http";
  for (const auto& [name, value] : call.headers)
    r.headers.add(name, value);
  if (!call.body.empty() || call.method == "POST")
    r.body = arena.make<exchange::MemoryBody>(call.body);

  HttpAnswer answer;
  using namespace asio::experimental::awaitable_operators;
  auto attempt = [&]() -> awaitable<bool> {
    try {
      upstream::ForwardOptions options;
      options.passHostHeader = false;
      options.appendXForwardedFor = false;
      auto forwarded = co_await upstream::forward(sub, endpoint_, options);
      if (forwarded.error != upstream::ProxyError::None) {
        answer.error = upstream::describe(forwarded.error);
        co_return false;
      }
      if (sub.response.body) {
        auto read = co_await exchange::readBody(*sub.response.body, answer.body,
                                                static_cast<int64_t>(maxBody));
        if (read != exchange::ReadResult::Complete) {
          answer.error =
              read == exchange::ReadResult::TooLarge ? "answer too large" : "answer broken off";
          co_return false;
        }
      }
      co_return true;
    } catch (...) {
      answer.error = "cancelled";
      co_return false;
    }
  };
  asio::steady_timer timer(worker.io(), timeout_);
  auto winner = co_await (attempt() || timer.async_wait(nothrow));
  if (winner.index() != 0) answer.error = "timed out";
  if (winner.index() == 0 && std::get<0>(winner)) {
    answer.status = sub.response.status;
    for (const auto& f : sub.response.headers)
      answer.headers.emplace_back(std::string(f.name), std::string(f.value));
  } else {
    answer.body.clear();
  }
  co_await sub.background.join();
  co_return answer;
}

awaitable<HttpAnswer> HttpClient::call(exchange::WorkerContext& worker, const HttpCall& request,
                                       size_t maxBody) const {
  HttpAnswer answer;
  auto pause = std::chrono::milliseconds(100);
  for (int attempt = 0;; ++attempt) {
    answer = co_await once(worker, request, maxBody);
    bool retry = answer.status == 0 || answer.status >= 500;
    if (!retry || attempt >= retries_) break;
    asio::steady_timer wait(worker.io(), pause);
    co_await wait.async_wait(nothrow);
    pause *= 2;
  }
  co_return answer;
}

}  // namespace causeway::gateway::api
