// One active health check (Traefik's executeHealthCheck).
// - mode http (checkHealthHTTP): a request to the server's health URL — HTTP/1.1 for http
//   and https (the service's serversTransport TLS settings), HTTP/2 with prior knowledge for
//   h2c — judged healthy on 2xx/3xx, or on exactly `status` when configured. Redirects are
//   followed (up to 10, as Go's client) unless followRedirects is false.
// - mode grpc (checkHealthGRPC): grpc.health.v1.Health/Check over HTTP/2 (cleartext for
//   http and h2c, TLS with ALPN h2 for https), healthy when the answer is SERVING.
// The whole check, redirects included, is bounded by `timeout`. Runs on the control
// thread's io_context, never on a worker; the connection is closed after each check.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "config/dynamic_service.h"
#include "io/asio.h"
#include "upstream/connection_pool.h"

namespace causeway::upstream {

struct ProbeConfig {
  std::string url;    // absolute URL: server URL + path, scheme and port overrides
  bool grpc = false;  // mode: grpc (only the URL's scheme, host and port matter)
  std::string method = "GET";
  std::string hostname;  // Host field override ("" = the URL's host)
  std::vector<std::pair<std::string, std::string>> headers;
  int status = 0;  // 0: any 2xx/3xx is healthy
  bool followRedirects = true;
  std::chrono::nanoseconds timeout{std::chrono::seconds(5)};
  std::chrono::nanoseconds interval{std::chrono::seconds(30)};
  std::chrono::nanoseconds unhealthyInterval{std::chrono::seconds(30)};
  std::shared_ptr<const Transport> transport;  // TLS settings for https checks

  // Equal checks: every field but the transport (rebuilt by every reload, same content).
  bool operator==(const ProbeConfig& o) const {
    return url == o.url && grpc == o.grpc && method == o.method && hostname == o.hostname &&
           headers == o.headers && status == o.status && followRedirects == o.followRedirects &&
           timeout == o.timeout && interval == o.interval &&
           unhealthyInterval == o.unhealthyInterval;
  }
};

// Builds the check of server `serverUrl` (Traefik's newRequest: the path is resolved
// against the server URL like a relative reference, then scheme and port are replaced).
// False with `error` set when the path is not a relative URL. `warnings` receives
// non-fatal notes (invalid intervals replaced by defaults).
bool makeProbeConfig(const config::ServerHealthCheck& check, const std::string& serverUrl,
                     ProbeConfig& out, std::string& error, std::vector<std::string>& warnings);

// Runs one check. Returns "" when the server is healthy, otherwise why it is not
// ("received error status code: 500", "connection refused", "timeout after 5s", ...).
awaitable<std::string> runProbe(asio::any_io_executor executor, const ProbeConfig& probe);

}  // namespace causeway::upstream
