// Metrics, access log and tracing as one exchange observer, built from the static
// configuration (`metrics`, `accessLog`, `tracing`) and each entryPoint's `observability`
// defaults, overridden by the matched router's `observability` (accessLogs, metrics, tracing,
// traceVerbosity). Internal services (name@internal) are left out unless the section's
// addInternals.
//
// Threads: create/start/stop/reopenLogs/configPublished on the control thread; onRequest and
// onComplete on the worker serving the exchange (see ExchangeObserver).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/static_config.h"
#include "exchange/exchange.h"
#include "exchange/handler.h"
#include "observe/access_log.h"
#include "observe/metrics.h"
#include "observe/otlp_logs.h"
#include "observe/otlp_metrics.h"
#include "observe/prometheus_service.h"
#include "observe/span_exporter.h"
#include "observe/tracer.h"
#include "runtime/entry_point.h"

namespace causeway::upstream {
class HealthRegistry;
}  // namespace causeway::upstream
namespace causeway::runtime {
struct Snapshot;
}  // namespace causeway::runtime

namespace causeway::observe {

class Observability final : public exchange::ExchangeObserver {
 public:
  // What the configuration enables; nullptr when nothing is. Configuration problems that
  // Traefik only logs are appended to `warnings`; those that stop it to `errors`.
  static std::shared_ptr<Observability> create(const config::StaticConfig& config,
                                               const std::vector<runtime::EntryPoint>& entryPoints, unsigned workers,
                                               std::vector<std::string>& warnings, std::vector<std::string>& errors);

  // Opens the access log and starts the writer and exporter threads; false with `error`.
  bool start(std::string& error);
  // Flushes the access log and the spans still queued (bounded waits), stops the threads.
  void stop();
  // SIGUSR1.
  void reopenLogs();
  // After every publish of a configuration (reload counters).
  void configPublished(const runtime::Snapshot& snapshot);

  // The prometheus@internal handler, or null when metrics.prometheus is off.
  exchange::HandlerPtr prometheusService(OpenConnectionCounts openConnections, const upstream::HealthRegistry* health) const;

  Metrics* metrics() const { return metrics_.get(); }
  AccessLog* accessLog() const { return accessLog_.get(); }
  Tracer* tracer() const { return tracer_.get(); }

  void onRequest(exchange::Exchange& ex) override;
  void onComplete(const exchange::Exchange& ex) override;
  // A TCP connection or UDP session ended: its metrics and access-log line.
  void onLayer4(const exchange::Layer4Record& record) override;

 private:
  struct Flags {
    bool metrics = true, accessLogs = true, tracing = true, detailed = false;
  };
  const Flags& entryPointFlags(const exchange::Exchange& ex) const;
  // The entryPoint's defaults with the matched router's `observability` over them.
  Flags flagsOf(const exchange::Exchange& ex);
  struct RouterCache;  // per worker: router name → its observability options

  std::vector<Flags> entryPoints_;  // by EntryPoint::index
  std::vector<std::unique_ptr<RouterCache>> routerCaches_;  // by worker
  std::shared_ptr<Metrics> metrics_;
  std::shared_ptr<Metrics> otlpMetrics_;  // metrics.otlp: its own labels and boundaries
  std::unique_ptr<MetricsPusher> metricsPusher_;
  std::unique_ptr<LogPusher> accessLogPusher_;  // accessLog.otlp
  std::unique_ptr<LogPusher> logPusher_;        // log.otlp
  bool metricsInternals_ = false;
  std::unique_ptr<AccessLog> accessLog_;
  bool accessLogInternals_ = false;
  std::shared_ptr<SpanExporter> exporter_;
  std::unique_ptr<Tracer> tracer_;
  bool tracingInternals_ = false;
};

// Resource attributes of the tracer: service.name, service.version, the SDK and host ones, then
// resourceAttributes (or the deprecated globalAttributes), then OTEL_RESOURCE_ATTRIBUTES and
// OTEL_SERVICE_NAME from the environment.
std::vector<std::pair<std::string, std::string>> tracingResource(const config::Tracing& tracing);

}  // namespace causeway::observe
