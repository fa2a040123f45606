// Tracing as Traefik does it with OpenTelemetry (reference §1.8, §6.3;
// pkg/middlewares/observability/*, pkg/observability/tracing/tracing.go): the trace context of
// the client (W3C traceparent) is continued, or a trace is started and sampled by
// ParentBased(TraceIDRatioBased(sampleRate)); the upstream gets a traceparent naming the
// proxy's ReverseProxy span. Spans: the entryPoint span (SERVER, named after the method), with
// traceVerbosity detailed a Router span, a span per middleware (server/middleware_span.h) and a
// Service span (INTERNAL), and ReverseProxy (CLIENT).
//
// Threads: onRequest/onComplete run on the worker serving the exchange, with per-worker state
// only; finished spans go to the SpanExporter's queue of that worker.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "exchange/exchange.h"
#include "exchange/trace_notes.h"
#include "observe/span_exporter.h"
#include "observe/trace_context.h"

namespace causeway::observe {

struct TracerOptions {
  double sampleRate = 1.0;
  std::vector<std::string> capturedRequestHeaders;   // as configured
  std::vector<std::string> capturedResponseHeaders;
  std::vector<std::string> safeQueryParams;
};

class Tracer {
 public:
  Tracer(TracerOptions options, std::shared_ptr<SpanExporter> exporter, unsigned workers);
  ~Tracer();

  // Before routing: sets up the trace context in `notes` and the traceparent the upstream
  // will see.
  void onRequest(exchange::Exchange& ex, exchange::ExchangeNotes& notes);
  // After the response: encodes the sampled spans (detailed: with Router and Service spans,
  // as traceVerbosity detailed) and queues them for export.
  void onComplete(const exchange::Exchange& ex, const exchange::ExchangeNotes& notes, bool detailed);

  // The spans of an exchange as OTLP JSON objects joined with commas; returns their number.
  // `endUnixNanos` is when the exchange ended. (Exposed for tests.)
  uint8_t encode(const exchange::Exchange& ex, const exchange::ExchangeNotes& notes, bool detailed, int64_t endUnixNanos,
                 std::string& out) const;

 private:
  struct WorkerState;
  TracerOptions options_;
  std::shared_ptr<SpanExporter> exporter_;
  std::vector<std::unique_ptr<WorkerState>> workers_;
};

}  // namespace causeway::observe
