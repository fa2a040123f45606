#include "observe/otlp_protobuf.h"

#include <boost/json.hpp>

#include <cstdint>
#include <cstring>
#include <span>

namespace causeway::observe {
namespace {

namespace json = boost::json;

enum class Kind { String, Bytes, Fixed64, Fixed32, Varint, Bool, Double, Message, PackedFixed64, PackedDouble };

struct Field;
struct Message {
  std::span<const Field> fields;
};
struct Field {
  std::string_view json;  // name in the JSON mapping
  uint32_t number;
  Kind kind;
  const Message* message = nullptr;  // Kind::Message (repeated when the JSON value is an array)
};

// opentelemetry-proto, common/v1, resource/v1, trace/v1, metrics/v1, logs/v1.
extern const Message kAnyValue, kKeyValue, kArrayValue, kKeyValueList, kResource, kScope;
constexpr Field kArrayValueFields[] = {{"values", 1, Kind::Message, &kAnyValue}};
constexpr Field kKeyValueListFields[] = {{"values", 1, Kind::Message, &kKeyValue}};
constexpr Field kAnyValueFields[] = {
    {"stringValue", 1, Kind::String}, {"boolValue", 2, Kind::Bool},  {"intValue", 3, Kind::Varint},
    {"doubleValue", 4, Kind::Double}, {"arrayValue", 5, Kind::Message, &kArrayValue},
    {"kvlistValue", 6, Kind::Message, &kKeyValueList}, {"bytesValue", 7, Kind::Bytes}};
constexpr Field kKeyValueFields[] = {{"key", 1, Kind::String}, {"value", 2, Kind::Message, &kAnyValue}};
constexpr Field kResourceFields[] = {{"attributes", 1, Kind::Message, &kKeyValue},
                                     {"droppedAttributesCount", 2, Kind::Varint}};
constexpr Field kScopeFields[] = {{"name", 1, Kind::String}, {"version", 2, Kind::String},
                                  {"attributes", 3, Kind::Message, &kKeyValue}};
const Message kAnyValue{kAnyValueFields}, kKeyValue{kKeyValueFields}, kArrayValue{kArrayValueFields},
    kKeyValueList{kKeyValueListFields}, kResource{kResourceFields}, kScope{kScopeFields};

// Traces.
constexpr Field kStatusFields[] = {{"message", 2, Kind::String}, {"code", 3, Kind::Varint}};
const Message kStatus{kStatusFields};
constexpr Field kSpanFields[] = {
    {"traceId", 1, Kind::Bytes},        {"spanId", 2, Kind::Bytes},
    {"traceState", 3, Kind::String},    {"parentSpanId", 4, Kind::Bytes},
    {"name", 5, Kind::String},          {"kind", 6, Kind::Varint},
    {"startTimeUnixNano", 7, Kind::Fixed64}, {"endTimeUnixNano", 8, Kind::Fixed64},
    {"attributes", 9, Kind::Message, &kKeyValue}, {"droppedAttributesCount", 10, Kind::Varint},
    {"status", 15, Kind::Message, &kStatus}, {"flags", 16, Kind::Fixed32}};
const Message kSpan{kSpanFields};
constexpr Field kScopeSpansFields[] = {{"scope", 1, Kind::Message, &kScope}, {"spans", 2, Kind::Message, &kSpan},
                                       {"schemaUrl", 3, Kind::String}};
const Message kScopeSpans{kScopeSpansFields};
constexpr Field kResourceSpansFields[] = {{"resource", 1, Kind::Message, &kResource},
                                          {"scopeSpans", 2, Kind::Message, &kScopeSpans},
                                          {"schemaUrl", 3, Kind::String}};
const Message kResourceSpans{kResourceSpansFields};
constexpr Field kTraceRequestFields[] = {{"resourceSpans", 1, Kind::Message, &kResourceSpans}};
const Message kTraceRequest{kTraceRequestFields};

// Metrics.
constexpr Field kNumberPointFields[] = {
    {"startTimeUnixNano", 2, Kind::Fixed64}, {"timeUnixNano", 3, Kind::Fixed64}, {"asDouble", 4, Kind::Double},
    {"asInt", 6, Kind::Fixed64}, {"attributes", 7, Kind::Message, &kKeyValue}, {"flags", 8, Kind::Varint}};
const Message kNumberPoint{kNumberPointFields};
constexpr Field kHistogramPointFields[] = {
    {"startTimeUnixNano", 2, Kind::Fixed64}, {"timeUnixNano", 3, Kind::Fixed64}, {"count", 4, Kind::Fixed64},
    {"sum", 5, Kind::Double},  {"bucketCounts", 6, Kind::PackedFixed64}, {"explicitBounds", 7, Kind::PackedDouble},
    {"attributes", 9, Kind::Message, &kKeyValue}, {"flags", 10, Kind::Varint}};
const Message kHistogramPoint{kHistogramPointFields};
constexpr Field kGaugeFields[] = {{"dataPoints", 1, Kind::Message, &kNumberPoint}};
constexpr Field kSumFields[] = {{"dataPoints", 1, Kind::Message, &kNumberPoint},
                                {"aggregationTemporality", 2, Kind::Varint},
                                {"isMonotonic", 3, Kind::Bool}};
constexpr Field kHistogramFields[] = {{"dataPoints", 1, Kind::Message, &kHistogramPoint},
                                      {"aggregationTemporality", 2, Kind::Varint}};
const Message kGauge{kGaugeFields}, kSum{kSumFields}, kHistogram{kHistogramFields};
constexpr Field kMetricFields[] = {{"name", 1, Kind::String},  {"description", 2, Kind::String},
                                   {"unit", 3, Kind::String},  {"gauge", 5, Kind::Message, &kGauge},
                                   {"sum", 7, Kind::Message, &kSum}, {"histogram", 9, Kind::Message, &kHistogram}};
const Message kMetric{kMetricFields};
constexpr Field kScopeMetricsFields[] = {{"scope", 1, Kind::Message, &kScope},
                                         {"metrics", 2, Kind::Message, &kMetric},
                                         {"schemaUrl", 3, Kind::String}};
const Message kScopeMetrics{kScopeMetricsFields};
constexpr Field kResourceMetricsFields[] = {{"resource", 1, Kind::Message, &kResource},
                                            {"scopeMetrics", 2, Kind::Message, &kScopeMetrics},
                                            {"schemaUrl", 3, Kind::String}};
const Message kResourceMetrics{kResourceMetricsFields};
constexpr Field kMetricsRequestFields[] = {{"resourceMetrics", 1, Kind::Message, &kResourceMetrics}};
const Message kMetricsRequest{kMetricsRequestFields};

// Logs.
constexpr Field kLogRecordFields[] = {
    {"timeUnixNano", 1, Kind::Fixed64},     {"severityNumber", 2, Kind::Varint},
    {"severityText", 3, Kind::String},      {"body", 5, Kind::Message, &kAnyValue},
    {"attributes", 6, Kind::Message, &kKeyValue}, {"droppedAttributesCount", 7, Kind::Varint},
    {"flags", 8, Kind::Fixed32},            {"traceId", 9, Kind::Bytes},
    {"spanId", 10, Kind::Bytes},            {"observedTimeUnixNano", 11, Kind::Fixed64}};
const Message kLogRecord{kLogRecordFields};
constexpr Field kScopeLogsFields[] = {{"scope", 1, Kind::Message, &kScope},
                                      {"logRecords", 2, Kind::Message, &kLogRecord},
                                      {"schemaUrl", 3, Kind::String}};
const Message kScopeLogs{kScopeLogsFields};
constexpr Field kResourceLogsFields[] = {{"resource", 1, Kind::Message, &kResource},
                                         {"scopeLogs", 2, Kind::Message, &kScopeLogs},
                                         {"schemaUrl", 3, Kind::String}};
const Message kResourceLogs{kResourceLogsFields};
constexpr Field kLogsRequestFields[] = {{"resourceLogs", 1, Kind::Message, &kResourceLogs}};
const Message kLogsRequest{kLogsRequestFields};

void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(char(v | 0x80));
    v >>= 7;
  }
  out.push_back(char(v));
}
void tag(std::string& out, uint32_t number, int wireType) { varint(out, uint64_t(number) << 3 | uint32_t(wireType)); }
void fixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(char(v >> (8 * i)));
}
void fixed32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(char(v >> (8 * i)));
}
void dbl(std::string& out, double d) {
  uint64_t v;
  std::memcpy(&v, &d, sizeof v);
  fixed64(out, v);
}

// A JSON number or decimal string as an unsigned or signed 64-bit integer.
bool integer(const json::value& v, uint64_t& out) {
  if (v.is_uint64()) out = v.get_uint64();
  else if (v.is_int64()) out = uint64_t(v.get_int64());
  else if (v.is_double()) out = uint64_t(int64_t(v.get_double()));
  else if (v.is_string()) {
    const json::string& s = v.get_string();
    if (s.empty()) return false;
    bool negative = s[0] == '-';
    uint64_t n = 0;
    for (size_t i = negative ? 1 : 0; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      n = n * 10 + uint64_t(s[i] - '0');
    }
    out = negative ? uint64_t(-int64_t(n)) : n;
  } else if (v.is_bool()) out = v.get_bool() ? 1 : 0;
  else return false;
  return true;
}
bool number(const json::value& v, double& out) {
  if (v.is_double()) out = v.get_double();
  else if (v.is_int64()) out = double(v.get_int64());
  else if (v.is_uint64()) out = double(v.get_uint64());
  else return false;
  return true;
}
int hexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool encode(const json::object& object, const Message& message, std::string& out, std::string& error);

bool encodeValue(const json::value& v, const Field& f, std::string& out, std::string& error) {
  switch (f.kind) {
    case Kind::String:
      if (!v.is_string()) break;
      tag(out, f.number, 2);
      varint(out, v.get_string().size());
      out.append(v.get_string().data(), v.get_string().size());
      return true;
    case Kind::Bytes: {
      if (!v.is_string() || v.get_string().size() % 2) break;
      const json::string& hex = v.get_string();
      if (hex.empty()) return true;
      tag(out, f.number, 2);
      varint(out, hex.size() / 2);
      for (size_t i = 0; i < hex.size(); i += 2) {
        int hi = hexDigit(hex[i]), lo = hexDigit(hex[i + 1]);
        if (hi < 0 || lo < 0) {
          error = std::string(f.json) + ": not hexadecimal";
          return false;
        }
        out.push_back(char(hi << 4 | lo));
      }
      return true;
    }
    case Kind::Fixed64: {
      uint64_t n;
      if (!integer(v, n)) break;
      tag(out, f.number, 1);
      fixed64(out, n);
      return true;
    }
    case Kind::Fixed32: {
      uint64_t n;
      if (!integer(v, n)) break;
      tag(out, f.number, 5);
      fixed32(out, uint32_t(n));
      return true;
    }
    case Kind::Varint: {
      uint64_t n;
      if (!integer(v, n)) break;
      tag(out, f.number, 0);
      varint(out, n);
      return true;
    }
    case Kind::Bool:
      if (!v.is_bool()) break;
      tag(out, f.number, 0);
      varint(out, v.get_bool() ? 1 : 0);
      return true;
    case Kind::Double: {
      double d;
      if (!number(v, d)) break;
      tag(out, f.number, 1);
      dbl(out, d);
      return true;
    }
    case Kind::PackedFixed64:
    case Kind::PackedDouble: {
      if (!v.is_array()) break;
      std::string packed;
      for (const json::value& item : v.get_array()) {
        if (f.kind == Kind::PackedFixed64) {
          uint64_t n;
          if (!integer(item, n)) return error = std::string(f.json) + ": expected integers", false;
          fixed64(packed, n);
        } else {
          double d;
          if (!number(item, d)) return error = std::string(f.json) + ": expected numbers", false;
          dbl(packed, d);
        }
      }
      tag(out, f.number, 2);
      varint(out, packed.size());
      out += packed;
      return true;
    }
    case Kind::Message: {
      if (v.is_array()) {  // repeated
        for (const json::value& item : v.get_array())
          if (!encodeValue(item, f, out, error)) return false;
        return true;
      }
      if (!v.is_object()) break;
      std::string inner;
      if (!encode(v.get_object(), *f.message, inner, error)) return false;
      tag(out, f.number, 2);
      varint(out, inner.size());
      out += inner;
      return true;
    }
  }
  error = std::string(f.json) + ": unexpected JSON type";
  return false;
}

bool encode(const json::object& object, const Message& message, std::string& out, std::string& error) {
  for (const Field& f : message.fields) {
    auto it = object.find(f.json);
    if (it == object.end() || it->value().is_null()) continue;
    if (!encodeValue(it->value(), f, out, error)) return false;
  }
  return true;
}

}  // namespace

bool otlpJsonToProtobuf(std::string_view text, OtlpSignal signal, std::string& out, std::string& error) {
  boost::system::error_code ec;
  json::value root = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec || !root.is_object()) {
    error = "invalid JSON: " + (ec ? ec.message() : std::string("not an object"));
    return false;
  }
  const Message& message = signal == OtlpSignal::Traces    ? kTraceRequest
                           : signal == OtlpSignal::Metrics ? kMetricsRequest
                                                           : kLogsRequest;
  out.clear();
  return encode(root.get_object(), message, out, error);
}

}  // namespace causeway::observe
