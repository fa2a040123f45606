// Metrics of TCP connections and UDP sessions, per router (causeway's own; Traefik has none
// for TCP and UDP; docs/tcp-udp.md, Observability):
//   causeway_tcp_connections_total{entrypoint,router,service,result}   result: ok | error
//   causeway_tcp_connection_duration_seconds{entrypoint,router,service}   histogram
//   causeway_tcp_bytes_total{entrypoint,router,service,direction}       direction: in (from the client) | out
//   causeway_udp_sessions_total, causeway_udp_session_duration_seconds, causeway_udp_bytes_total (the same labels)
// Recorded when a connection or session ends, by its worker under the worker's own lock;
// merged when scraped. At most kMaxSeries label sets per family and worker.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "exchange/exchange.h"

namespace causeway::observe {

class Layer4Metrics {
 public:
  static constexpr size_t kMaxSeries = 4096;
  explicit Layer4Metrics(unsigned workers);
  ~Layer4Metrics();

  void record(const exchange::Layer4Record& record);
  // Appends the families (nothing before the first connection).
  void render(std::string& out) const;

  struct Worker;

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace causeway::observe
