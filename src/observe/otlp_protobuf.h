// OTLP export requests in protobuf, for OTLP over gRPC. causeway builds every export request
// in OTLP's JSON mapping (otlp_json.h, otlp_metrics.h, otlp_logs.h); this transcodes that JSON
// into the protobuf wire format with the field numbers of opentelemetry-proto
// (collector/{trace,metrics,logs}/v1), so that each signal has one encoder.
// JSON mapping rules honoured: trace and span ids are hex strings (bytes on the wire),
// 64-bit integers may be strings, enums are numbers.
#pragma once

#include <string>
#include <string_view>

namespace causeway::observe {

enum class OtlpSignal { Traces, Metrics, Logs };

// False with `error` when the JSON does not parse or a field has the wrong JSON type. Unknown
// fields are skipped.
bool otlpJsonToProtobuf(std::string_view json, OtlpSignal signal, std::string& out, std::string& error);

}  // namespace causeway::observe
