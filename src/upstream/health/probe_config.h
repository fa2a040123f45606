// What one active health check sends and expects, built from a service's healthCheck
// options for one server (Traefik's newRequest). Used by both probes (probe.h for HTTP/1.1,
// probe_h2.h for HTTP/2 and gRPC).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config/dynamic_service.h"
#include "upstream/connection_pool.h"
#include "upstream/tcp_dial.h"

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
  // A TCP service's check (Traefik's tcp healthCheck): connect to `tcpServer` (TLS when the
  // server has `tls: true`), write `send`, then expect `expect` as the first bytes back.
  bool tcp = false;
  ServerAddress tcpServer;
  std::string send;
  std::string expect;
  std::shared_ptr<const TcpTransport> tcpTransport;

  // Equal checks: every field but the transport (rebuilt by every reload, same content).
  bool operator==(const ProbeConfig& o) const {
    return url == o.url && grpc == o.grpc && method == o.method && hostname == o.hostname &&
           headers == o.headers && status == o.status && followRedirects == o.followRedirects &&
           timeout == o.timeout && interval == o.interval &&
           unhealthyInterval == o.unhealthyInterval && tcp == o.tcp && tcpServer.address == o.tcpServer.address &&
           tcpServer.tls == o.tcpServer.tls && send == o.send && expect == o.expect;
  }
};

// Builds the check of server `serverUrl` (Traefik's newRequest: the path is resolved
// against the server URL like a relative reference, then scheme and port are replaced).
// False with `error` set when the path is not a relative URL. `warnings` receives
// non-fatal notes (invalid intervals replaced by defaults).
bool makeProbeConfig(const config::ServerHealthCheck& check, const std::string& serverUrl,
                     ProbeConfig& out, std::string& error, std::vector<std::string>& warnings);

}  // namespace causeway::upstream
