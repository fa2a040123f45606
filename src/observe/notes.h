// What the observers remember about one exchange between onRequest and onComplete. Lives in
// the exchange's arena (trivially destructible); RequestRecord::notes points to it.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace causeway::observe {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

struct ExchangeNotes {
  // The request as it entered the handler chain (middlewares may rewrite ex.request).
  std::string_view path;
  std::string_view query;
  bool hasQuery = false;

  // Tracing (traced false: the exchange has no trace context).
  bool traced = false;
  bool sampled = false;
  bool hasRemoteParent = false;  // continued from the client's traceparent
  TraceId traceId{};
  SpanId remoteParent{};         // the client's span (parent of the entryPoint span)
  SpanId serverSpan{};           // the entryPoint span (SERVER)
  SpanId routerSpan{};           // Router (traceVerbosity detailed)
  SpanId serviceSpan{};          // Service (traceVerbosity detailed)
  SpanId clientSpan{};           // ReverseProxy (CLIENT): the parent the upstream sees
  std::string_view traceState;   // the client's tracestate, passed on
};

}  // namespace causeway::observe
