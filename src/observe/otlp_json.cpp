#include "observe/otlp_json.h"

#include "observe/text_format.h"
#include "observe/trace_context.h"

namespace causeway::observe {

void SpanJson::begin(const exchange::TraceId& traceId, const exchange::SpanId& spanId, const exchange::SpanId* parent, std::string_view traceState,
                     std::string_view name, SpanKind kind, int64_t startUnixNanos, int64_t endUnixNanos) {
  out_.append("{\"traceId\":\"");
  appendHex(out_, traceId.data(), traceId.size());
  out_.append("\",\"spanId\":\"");
  appendHex(out_, spanId.data(), spanId.size());
  out_.push_back('"');
  if (parent) {
    out_.append(",\"parentSpanId\":\"");
    appendHex(out_, parent->data(), parent->size());
    out_.push_back('"');
  }
  if (!traceState.empty()) {
    out_.append(",\"traceState\":");
    appendJsonString(out_, traceState);
  }
  out_.append(",\"name\":");
  appendJsonString(out_, name);
  out_.append(",\"kind\":");
  appendDecimal(out_, int64_t(kind));
  out_.append(",\"startTimeUnixNano\":\"");
  appendDecimal(out_, startUnixNanos);
  out_.append("\",\"endTimeUnixNano\":\"");
  appendDecimal(out_, endUnixNanos);
  out_.append("\",\"attributes\":[");
  firstAttribute_ = true;
}

void SpanJson::key(std::string_view key) {
  if (!firstAttribute_) out_.push_back(',');
  firstAttribute_ = false;
  out_.append("{\"key\":");
  appendJsonString(out_, key);
  out_.append(",\"value\":");
}

void SpanJson::attribute(std::string_view k, std::string_view value) {
  key(k);
  out_.append("{\"stringValue\":");
  appendJsonString(out_, value);
  out_.append("}}");
}

void SpanJson::attribute(std::string_view k, int64_t value) {
  key(k);
  out_.append("{\"intValue\":\"");
  appendDecimal(out_, value);
  out_.append("\"}}");
}

void SpanJson::attribute(std::string_view k, const std::vector<std::string_view>& values) {
  key(k);
  out_.append("{\"arrayValue\":{\"values\":[");
  bool first = true;
  for (std::string_view v : values) {
    if (!first) out_.push_back(',');
    first = false;
    out_.append("{\"stringValue\":");
    appendJsonString(out_, v);
    out_.push_back('}');
  }
  out_.append("]}}}");
}

void SpanJson::end(int statusCode, std::string_view message) {
  out_.append("],\"status\":{");
  if (statusCode != 0) {
    out_.append("\"code\":");
    appendDecimal(out_, int64_t(statusCode));
    if (!message.empty()) {
      out_.append(",\"message\":");
      appendJsonString(out_, message);
    }
  }
  out_.append("}}");
}

void appendExportRequest(std::string& out, std::string_view resourceAttributes, std::string_view scopeName,
                         std::string_view spans) {
  out.append("{\"resourceSpans\":[{\"resource\":{\"attributes\":");
  out.append(resourceAttributes);
  out.append("},\"scopeSpans\":[{\"scope\":{\"name\":");
  appendJsonString(out, scopeName);
  out.append("},\"spans\":[");
  out.append(spans);
  out.append("]}]}]}");
}

std::string resourceAttributesJson(const std::vector<std::pair<std::string, std::string>>& attributes) {
  std::string out = "[";
  bool first = true;
  for (const auto& [k, v] : attributes) {
    if (!first) out.push_back(',');
    first = false;
    out.append("{\"key\":");
    appendJsonString(out, k);
    out.append(",\"value\":{\"stringValue\":");
    appendJsonString(out, v);
    out.append("}}");
  }
  out.push_back(']');
  return out;
}

}  // namespace causeway::observe
