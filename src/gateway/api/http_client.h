// The API gateway's own HTTP client, for the calls it makes itself: JWK sets now, token
// introspection, OIDC and OpenAPI documents later. Hub's `clientConfig`: trust roots or a client
// certificate (`tls`), a timeout per attempt (`timeoutSeconds`, 5) and retries of attempts that
// got no answer or a 5xx (`maxRetries`, 3, with 100 ms, 200 ms, 400 ms… between them).
// HTTP/1.1 over the worker's pools; answers are read whole, up to a bound.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/client_tls.h"
#include "io/asio.h"
#include "upstream/connection_pool.h"

namespace causeway::exchange {
class WorkerContext;
}

namespace causeway::gateway::api {

struct ClientConfig {
  std::optional<config::ClientTls> tls;
  int timeoutSeconds = 5;
  int maxRetries = 3;

  static void describe(auto& self, auto& v) {
    v("tls", self.tls);
    v("timeoutSeconds", self.timeoutSeconds);
    v("maxRetries", self.maxRetries);
  }
};

struct HttpAnswer {
  int status = 0;     // 0: no answer (connection, timeout, too large)
  std::string error;  // why there is no answer
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string_view header(std::string_view name) const;
};

struct HttpCall {
  std::string_view method = "GET";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string_view body;
};

class HttpClient {
 public:
  // A client of `url` (http or https). Null with `error` set on a bad URL or TLS setting.
  static std::shared_ptr<const HttpClient> make(const std::string& url, const ClientConfig& config,
                                                const std::string& name, std::string& error);
  // Calls the URL; retries as the configuration says. Answers over `maxBody` bytes are no
  // answer.
  awaitable<HttpAnswer> call(exchange::WorkerContext& worker, const HttpCall& request,
                             size_t maxBody = 1 << 20) const;
  const std::string& url() const { return endpoint_.url; }

 private:
  awaitable<HttpAnswer> once(exchange::WorkerContext& worker, const HttpCall& request,
                             size_t maxBody) const;
  upstream::UpstreamEndpoint endpoint_;
  std::string path_;  // path and query
  std::chrono::seconds timeout_{5};
  int retries_ = 3;
};

}  // namespace causeway::gateway::api
