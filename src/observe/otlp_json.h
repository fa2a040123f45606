// OTLP/JSON encoding of spans (opentelemetry-proto, JSON mapping of ExportTraceServiceRequest):
// ids as lower-case hex, times as decimal strings of nanoseconds, enums as integers.
// Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exchange/trace_notes.h"

namespace causeway::observe {

enum class SpanKind : int { Internal = 1, Server = 2, Client = 3 };

// Writes one span object into `out`: begin(), any number of attributes, then end().
class SpanJson {
 public:
  explicit SpanJson(std::string& out) : out_(out) {}
  void begin(const exchange::TraceId& traceId, const exchange::SpanId& spanId, const exchange::SpanId* parent, std::string_view traceState,
             std::string_view name, SpanKind kind, int64_t startUnixNanos, int64_t endUnixNanos);
  void attribute(std::string_view key, std::string_view value);
  void attribute(std::string_view key, int64_t value);
  void attribute(std::string_view key, const std::vector<std::string_view>& values);
  // status: 0 unset, 2 error (OTLP STATUS_CODE_ERROR).
  void end(int statusCode, std::string_view message = {});

 private:
  void key(std::string_view key);
  std::string& out_;
  bool firstAttribute_ = true;
};

// The export request around already encoded spans (joined with commas).
void appendExportRequest(std::string& out, std::string_view resourceAttributesJson, std::string_view scopeName,
                         std::string_view spans);
// Resource attributes as an OTLP attribute array: [{"key":..,"value":{"stringValue":..}},...].
std::string resourceAttributesJson(const std::vector<std::pair<std::string, std::string>>& attributes);

}  // namespace causeway::observe
