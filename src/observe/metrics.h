// Traefik's Prometheus metrics (reference §6.1; pkg/observability/metrics/prometheus.go):
// request counters, duration histograms and byte counters per entryPoint, router and service,
// TLS request counters, retries, open connections, server health, configuration reloads and
// certificate expiry, with Traefik's names, labels, help texts and default buckets.
//
// Threads: record() runs on the worker that served the request and touches only that
// worker's tables (no lock, no locked instruction; series are created on first use);
// configReloaded() runs on the control thread; render() may run on any thread and merges the
// workers' tables.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/headers.h"
#include "observe/genai_metrics.h"
#include "observe/layer4_metrics.h"
#include "observe/request_facts.h"

namespace causeway::runtime {
struct Snapshot;
}  // namespace causeway::runtime

namespace causeway::observe {

struct MetricsOptions {
  bool entryPoints = true;  // addEntryPointsLabels
  bool routers = false;     // addRoutersLabels
  bool services = true;     // addServicesLabels
  std::vector<double> buckets = {0.1, 0.3, 1.2, 5.0};
  // headerLabels: (label, request header) on the *_requests_total counters.
  std::vector<std::pair<std::string, std::string>> headerLabels;
  size_t maxSeriesPerTable = 1 << 18;  // per worker and family group; beyond, new series are dropped
};

// One finished request, as the metrics see it.
struct RequestSample {
  uint32_t entryPoint = 0;  // EntryPoint::index
  uint8_t method = 0;       // methodId()
  Protocol protocol = Protocol::Http;
  int code = 0;             // status (gRPC status for grpc and grpc-web)
  std::string_view router;  // qualified; empty when no router matched
  std::string_view service;  // the router's service (router series)
  // The loadBalancer service that proxied the request (RequestRecord::upstreamService) and the
  // time from sending the request upstream to the end: the service series. Empty: no service series, as in
  // Traefik, where they are counted around the server proxies.
  std::string_view upstreamService;
  uint64_t upstreamNanos = 0;
  uint64_t durationNanos = 0;
  uint64_t requestBytes = 0;
  uint64_t responseBytes = 0;
  uint32_t retries = 0;
  bool tls = false;
  std::string_view tlsVersion;  // ConnectionInfo::tlsVersion ("TLS 1.3")
  std::string_view tlsCipher;   // ConnectionInfo::tlsCipher (OpenSSL name)
  const http::Headers* headers = nullptr;  // request headers (headerLabels)
};

// What a scrape reads besides the counters.
struct ScrapeInputs {
  const runtime::Snapshot* snapshot = nullptr;  // existing routers/services, certificates
  // Live status of a service's servers: URL → "UP"/"DOWN" (HealthRegistry::serverStatus).
  std::function<std::map<std::string, std::string>(const std::string&)> serverStatus;
  // (entryPoint, protocol "TCP" or "UDP") → open connections (UDP: sessions).
  std::vector<std::pair<std::pair<std::string, std::string>, int64_t>> openConnections;
  bool processMetrics = true;  // process_* (as Prometheus' Go client adds)
};

class Metrics {
 public:
  Metrics(MetricsOptions options, std::vector<std::string> entryPointNames, unsigned workers);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  const MetricsOptions& options() const { return options_; }

  // Worker thread `worker`: counts one finished request.
  void record(unsigned worker, const RequestSample& sample);
  // Worker thread `worker`: one finished LLM call (genai_metrics.h).
  void recordAi(unsigned worker, const exchange::AiRecord& ai, std::string_view router, std::string_view errorType,
                std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point end) {
    genAi_.record(worker, ai, router, errorType, start, end);
  }
  void recordMcp(unsigned worker, const exchange::McpRecord& mcp, std::string_view router, int status,
                 std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point end) {
    genAi_.recordMcp(worker, mcp, router, status, start, end);
  }
  void recordApi(unsigned worker, const exchange::ApiRecord& api, std::string_view method, int status,
                 uint64_t requestBytes, uint64_t responseBytes, std::chrono::steady_clock::time_point start,
                 std::chrono::steady_clock::time_point end) {
    genAi_.recordApi(worker, api, method, status, requestBytes, responseBytes, start, end);
  }
  // Worker thread: one TCP connection or UDP session ended (layer4_metrics.h).
  void recordLayer4(const exchange::Layer4Record& record) { layer4_.record(record); }
  // Control thread: a configuration was published at `unixSeconds`.
  void configReloaded(double unixSeconds);
  // Any thread: the text exposition (format 0.0.4).
  std::string render(const ScrapeInputs& inputs) const;

  struct WorkerTables;  // one worker's series (internal)

 private:
  MetricsOptions options_;
  std::vector<std::string> entryPoints_;
  std::vector<int64_t> bucketNanos_;
  std::vector<std::unique_ptr<WorkerTables>> workers_;
  std::atomic<uint64_t> reloads_{0};
  std::atomic<double> lastReload_{0};
  GenAiMetrics genAi_;
  Layer4Metrics layer4_;
};

}  // namespace causeway::observe
