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

#include <string>

#include "io/asio.h"
#include "upstream/health/probe_config.h"

namespace causeway::upstream {

// Runs one check. Returns "" when the server is healthy, otherwise why it is not
// ("received error status code: 500", "connection refused", "timeout after 5s", ...).
awaitable<std::string> runProbe(asio::any_io_executor executor, const ProbeConfig& probe);

}  // namespace causeway::upstream
