// What the observers remember about one exchange between onRequest and onComplete. Lives in
// the exchange's arena (trivially destructible); RequestRecord::notes points to it.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string_view>

namespace causeway::exchange {

using TraceId = std::array<uint8_t, 16>;
using SpanId = std::array<uint8_t, 8>;

// One middleware's span (traceVerbosity detailed), recorded by server::MiddlewareSpan as
// the request passes through it. The strings belong to the snapshot's handlers.
struct MiddlewareSpanRecord {
  std::string_view name;  // qualified middleware name (traefik.middleware.name)
  std::string_view type;  // span name: Traefik's type name ("StripPrefix", "RateLimiter")
  std::chrono::steady_clock::time_point start{}, end{};
  int16_t parent = -1;    // index of the enclosing middleware; -1: the Router span
  uint16_t resendCount = 0;  // retry attempts before this one (http.request.resend_count)
};

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

  // Middleware spans (detailed), in the order the middlewares were entered. `openMiddleware`
  // is the innermost one running now; `serviceParent` the one that called the service.
  static constexpr uint16_t kMaxMiddlewareSpans = 32;
  bool detailed = false;  // the router traces in detail: middlewares record spans
  MiddlewareSpanRecord* middlewareSpans = nullptr;  // arena array of kMaxMiddlewareSpans
  uint16_t middlewareSpanCount = 0;
  int16_t openMiddleware = -1;
  int16_t serviceParent = -1;
  std::chrono::steady_clock::time_point serviceStart{};  // when the router's service was entered
};

}  // namespace causeway::exchange
