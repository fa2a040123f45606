// W3C Trace Context (traceparent / tracestate), the ids of spans, and OpenTelemetry's
// ParentBased(TraceIDRatioBased(sampleRate)) sampler, as Traefik's tracer uses them.
// Pure functions, except IdGenerator (one per worker).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "exchange/trace_notes.h"

namespace causeway::observe {

struct ParentContext {
  exchange::TraceId traceId{};
  exchange::SpanId spanId{};
  bool sampled = false;
};

// Parses a traceparent value: "00-<32 hex>-<16 hex>-<2 hex>" (lower-case; ids not all zero;
// version ff invalid; a future version may carry more after a '-'). False when invalid.
bool parseTraceparent(std::string_view value, ParentContext& out);
// "00-<trace>-<span>-01" (sampled) or "...-00".
void appendTraceparent(std::string& out, const exchange::TraceId& traceId, const exchange::SpanId& spanId, bool sampled);
// A tracestate worth passing on: at most 512 bytes of printable ASCII (empty otherwise).
std::string_view acceptableTracestate(std::string_view value);

void appendHex(std::string& out, const uint8_t* data, size_t size);

// TraceIDRatioBased: sampled when the trace id's last 8 bytes (big-endian, shifted right by
// one) are below rate × 2^63; rate ≥ 1 always, ≤ 0 never.
bool sampleByRatio(const exchange::TraceId& traceId, double rate);

// Random non-zero trace and span ids (xoshiro256**, seeded from the system).
class IdGenerator {
 public:
  IdGenerator();
  exchange::TraceId traceId();
  exchange::SpanId spanId();

 private:
  uint64_t next();
  uint64_t s_[4];
};

// url.Values.Encode() of a query whose values are replaced by REDACTED unless their key is in
// `safe` (Traefik's safeQueryParams): keys sorted, escaped as Go's QueryEscape.
std::string redactQuery(std::string_view rawQuery, const std::vector<std::string>& safe);

}  // namespace causeway::observe
