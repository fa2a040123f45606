#include "observe/access_log_format.h"

#include <array>
#include <cstdio>

#include "core/strings.h"
#include "observe/text_format.h"

namespace causeway::observe {
namespace {

constexpr std::array<std::string_view, kLogFieldCount> kNames = {
    "APIApplication", "APIName",            "APIPlan",        "APIVersion",     "CacheStatus",
    "ClientAddr",     "ClientHost",         "ClientPort",     "ClientUsername", "DownstreamContentSize",
    "DownstreamStatus", "Duration",         "GenAICacheResult", "GenAICostUSD", "GenAIInputTokens",
    "GenAIOutputTokens", "GenAIProvider",   "GenAIRequestModel", "GenAIResponseModel", "GzipRatio",
    "MCPDecision",    "MCPErrorCode",       "MCPMethod",      "MCPName",        "MCPRule",        "MCPSessionId",      "OriginContentSize", "OriginDuration",
    "OriginStatus",   "Overhead",           "RequestAddr",    "RequestContentSize", "RequestCount",
    "RequestHost",    "RequestMethod",      "RequestPath",    "RequestPort",    "RequestProtocol",
    "RequestScheme",  "RetryAttempts",      "RouterName",     "ServiceAddr",    "ServiceName",
    "ServiceURL",     "SpanId",             "StartLocal",     "StartUTC",       "TLSCipher",
    "TLSClientSubject", "TLSVersion",       "TraceId",        "entryPointName", "span_id",
    "trace_id"};

bool kept(FieldMask keep, LogField f) { return (keep & bit(f)) != 0; }

// Whether the field exists for this request (Traefik leaves some out of its data table).
bool present(const LogRecord& r, LogField f) {
  switch (f) {
    case LogField::GzipRatio: return false;
    case LogField::GenAICostUSD:
    case LogField::GenAIInputTokens:
    case LogField::GenAIOutputTokens:
    case LogField::GenAIProvider:
    case LogField::GenAIRequestModel: return r.ai;
    case LogField::GenAIResponseModel: return r.ai && !r.aiResponseModel.empty();
    case LogField::GenAICacheResult: return r.ai && !r.aiCacheResult.empty();
    case LogField::APIApplication: return !r.apiApplication.empty();
    case LogField::APIName: return !r.apiName.empty();
    case LogField::APIPlan: return !r.apiPlan.empty();
    case LogField::APIVersion: return !r.apiVersion.empty();
    case LogField::CacheStatus: return !r.cacheStatus.empty();
    case LogField::MCPDecision: return r.mcp && !r.mcpDecision.empty();
    case LogField::MCPErrorCode: return r.mcp && r.mcpErrorCode != 0;
    case LogField::MCPMethod: return r.mcp && !r.mcpMethod.empty();
    case LogField::MCPName: return r.mcp && !r.mcpName.empty();
    case LogField::MCPRule: return r.mcp && !r.mcpRule.empty();
    case LogField::MCPSessionId: return r.mcp && !r.mcpSessionId.empty();
    case LogField::RouterName: return !r.routerName.empty();
    case LogField::ServiceName:
    case LogField::ServiceURL:
    case LogField::ServiceAddr: return !r.serviceUrl.empty();
    case LogField::RequestAddr:
    case LogField::RequestHost:
    case LogField::RequestPort: return !r.requestAddr.empty();
    case LogField::TLSVersion:
    case LogField::TLSCipher: return r.tls;
    case LogField::TLSClientSubject: return r.tls && !r.tlsClientSubject.empty();
    case LogField::TraceId:
    case LogField::SpanId:
    case LogField::OtelTraceId:
    case LogField::OtelSpanId: return !r.traceId.empty();
    default: return true;
  }
}

std::string_view textOf(const LogRecord& r, LogField f) {
  switch (f) {
    case LogField::ClientAddr: return r.clientAddr;
    case LogField::ClientHost: return r.clientHost;
    case LogField::ClientPort: return r.clientPort;
    case LogField::ClientUsername: return r.clientUsername;
    case LogField::RequestAddr: return r.requestAddr;
    case LogField::RequestHost: return r.requestHost;
    case LogField::RequestPort: return r.requestPort;
    case LogField::RequestMethod: return r.requestMethod;
    case LogField::RequestPath: return r.requestPath;
    case LogField::RequestProtocol: return r.requestProtocol;
    case LogField::RequestScheme: return r.requestScheme;
    case LogField::RouterName: return r.routerName;
    case LogField::ServiceAddr: return r.serviceAddr;
    case LogField::ServiceName: return r.serviceName;
    case LogField::ServiceURL: return r.serviceUrl;
    case LogField::TLSCipher: return r.tlsCipher;
    case LogField::TLSClientSubject: return r.tlsClientSubject;
    case LogField::TLSVersion: return r.tlsVersion;
    case LogField::TraceId:
    case LogField::OtelTraceId: return r.traceId;
    case LogField::SpanId:
    case LogField::OtelSpanId: return r.spanId;
    case LogField::EntryPointName: return r.entryPointName;
    case LogField::GenAIProvider: return r.aiProvider;
    case LogField::GenAIRequestModel: return r.aiRequestModel;
    case LogField::GenAIResponseModel: return r.aiResponseModel;
    case LogField::GenAICacheResult: return r.aiCacheResult;
    case LogField::APIApplication: return r.apiApplication;
    case LogField::APIName: return r.apiName;
    case LogField::APIPlan: return r.apiPlan;
    case LogField::APIVersion: return r.apiVersion;
    case LogField::CacheStatus: return r.cacheStatus;
    case LogField::MCPDecision: return r.mcpDecision;
    case LogField::MCPMethod: return r.mcpMethod;
    case LogField::MCPName: return r.mcpName;
    case LogField::MCPRule: return r.mcpRule;
    case LogField::MCPSessionId: return r.mcpSessionId;
    default: return {};
  }
}

// Appends the JSON value of a present field.
void appendJsonValue(std::string& out, const LogRecord& r, LogField f) {
  switch (f) {
    case LogField::DownstreamContentSize: appendDecimal(out, r.downstreamContentSize); return;
    case LogField::DownstreamStatus: appendDecimal(out, r.downstreamStatus); return;
    case LogField::Duration: appendDecimal(out, r.durationNanos); return;
    case LogField::OriginContentSize: appendDecimal(out, r.originContentSize); return;
    case LogField::OriginDuration: appendDecimal(out, r.originDurationNanos); return;
    case LogField::OriginStatus: appendDecimal(out, r.originStatus); return;
    case LogField::Overhead: appendDecimal(out, r.overheadNanos); return;
    case LogField::RequestContentSize: appendDecimal(out, r.requestContentSize); return;
    case LogField::RequestCount: appendDecimal(out, r.requestCount); return;
    case LogField::RetryAttempts: appendDecimal(out, r.retryAttempts); return;
    case LogField::GenAIInputTokens: appendDecimal(out, r.aiInputTokens); return;
    case LogField::GenAIOutputTokens: appendDecimal(out, r.aiOutputTokens); return;
    case LogField::MCPErrorCode: appendDecimal(out, int64_t(r.mcpErrorCode)); return;
    case LogField::GenAICostUSD: {
      char buffer[32];
      int n = std::snprintf(buffer, sizeof buffer, "%.9g", r.aiCostUsd);
      out.append(buffer, size_t(n));
      return;
    }
    case LogField::StartUTC:
      out.push_back('"');
      appendRfc3339Nano(out, r.startUnixNanos, 0);
      out.push_back('"');
      return;
    case LogField::StartLocal:
      out.push_back('"');
      appendRfc3339Nano(out, r.startUnixNanos, r.localOffset);
      out.push_back('"');
      return;
    default: appendJsonString(out, textOf(r, f)); return;
  }
}

// toLog(fields, key, "-", quoted): the value, "-" when absent or empty; strings quoted on
// request (with " escaped); numbers never quoted.
void appendClfText(std::string& out, std::string_view value, bool present, bool quoted) {
  if (!present || value.empty()) {
    out.append(quoted ? "\"-\"" : "-");
    return;
  }
  if (quoted) out.push_back('"');
  appendLogText(out, value, quoted);
  if (quoted) out.push_back('"');
}

const LogHeader* findHeader(const std::vector<LogHeader>* headers, std::string_view name) {
  if (!headers) return nullptr;
  for (const auto& h : *headers)
    if (h.name == name) return &h;
  return nullptr;
}

void appendClfHead(const LogRecord& r, FieldMask keep, std::string& out) {
  auto field = [&](LogField f, bool quoted) {
    appendClfText(out, textOf(r, f), kept(keep, f) && present(r, f), quoted);
  };
  field(LogField::ClientHost, false);
  out.append(" - ");
  field(LogField::ClientUsername, false);
  out.append(" [");
  if (kept(keep, LogField::StartUTC)) appendClfTime(out, r.startUnixNanos, 0);
  else if (kept(keep, LogField::StartLocal)) appendClfTime(out, r.startUnixNanos, r.localOffset);
  else out.push_back('-');
  out.append("] \"");
  field(LogField::RequestMethod, false);
  out.push_back(' ');
  field(LogField::RequestPath, false);
  out.push_back(' ');
  field(LogField::RequestProtocol, false);
  out.append("\" ");
  if (kept(keep, LogField::DownstreamStatus)) appendDecimal(out, r.downstreamStatus);
  else out.push_back('-');
  out.push_back(' ');
  if (kept(keep, LogField::DownstreamContentSize)) appendDecimal(out, r.downstreamContentSize);
  else out.push_back('-');
  out.push_back(' ');
  const LogHeader* referer = findHeader(r.requestHeaders, "Referer");
  appendClfText(out, referer ? std::string_view(referer->value) : std::string_view(), referer != nullptr, true);
  out.push_back(' ');
  const LogHeader* agent = findHeader(r.requestHeaders, "User-Agent");
  appendClfText(out, agent ? std::string_view(agent->value) : std::string_view(), agent != nullptr, true);
}

void appendJsonKey(std::string& out, bool& first, std::string_view key) {
  if (!first) out.push_back(',');
  first = false;
  appendJsonString(out, key);
  out.push_back(':');
}

// `,"Name":` for every field (no escaping needed), so formatJson appends each key once.
const std::array<std::string, kLogFieldCount>& quotedKeys() {
  static const std::array<std::string, kLogFieldCount> keys = [] {
    std::array<std::string, kLogFieldCount> out;
    for (size_t i = 0; i < kLogFieldCount; ++i) out[i] = ",\"" + std::string(kNames[i]) + "\":";
    return out;
  }();
  return keys;
}

void appendHeaders(std::string& out, bool& first, std::string_view prefix, const std::vector<LogHeader>* headers) {
  if (!headers) return;
  std::string key;
  for (const auto& h : *headers) {
    key.assign(prefix);
    key += h.name;
    appendJsonKey(out, first, key);
    appendJsonString(out, h.value);
  }
}

}  // namespace

std::string_view logFieldName(LogField field) { return kNames[size_t(field)]; }

bool logFieldByName(std::string_view name, LogField& out) {
  for (size_t i = 0; i < kNames.size(); ++i) {
    if (iequals(kNames[i], name)) {
      out = LogField(i);
      return true;
    }
  }
  return false;
}

void formatCommon(const LogRecord& r, FieldMask keep, std::string& out) {
  appendClfHead(r, keep, out);
  out.push_back(' ');
  if (kept(keep, LogField::RequestCount)) appendDecimal(out, r.requestCount);
  else out.push_back('-');
  out.push_back(' ');
  appendClfText(out, r.routerName, kept(keep, LogField::RouterName) && present(r, LogField::RouterName), true);
  out.push_back(' ');
  appendClfText(out, r.serviceUrl, kept(keep, LogField::ServiceURL) && present(r, LogField::ServiceURL), true);
  out.push_back(' ');
  appendDecimal(out, kept(keep, LogField::Duration) ? r.durationNanos / 1000000 : int64_t(0));
  out.append("ms\n");
}

void formatGenericClf(const LogRecord& r, FieldMask keep, std::string& out) {
  appendClfHead(r, keep, out);
  out.push_back('\n');
}

void formatJson(const LogRecord& r, FieldMask keep, std::string& out) {
  out.push_back('{');
  bool first = true;
  // Upper-case keys first (they sort before every lower-case key).
  for (size_t i = 0; i < size_t(LogField::EntryPointName); ++i) {
    LogField f = LogField(i);
    if (!kept(keep, f) || !present(r, f)) continue;
    std::string_view key = quotedKeys()[i];
    out.append(first ? key.substr(1) : key);
    first = false;
    appendJsonValue(out, r, f);
  }
  // Then: downstream_*, entryPointName, level, msg, request_*, span_id, time, trace_id.
  appendHeaders(out, first, "downstream_", r.downstreamHeaders);
  if (kept(keep, LogField::EntryPointName) && present(r, LogField::EntryPointName)) {
    appendJsonKey(out, first, "entryPointName");
    appendJsonString(out, r.entryPointName);
  }
  appendJsonKey(out, first, "level");
  out.append("\"info\"");
  appendJsonKey(out, first, "msg");
  out.append("\"\"");
  appendHeaders(out, first, "request_", r.requestHeaders);
  if (kept(keep, LogField::OtelSpanId) && present(r, LogField::OtelSpanId)) {
    appendJsonKey(out, first, "span_id");
    appendJsonString(out, r.spanId);
  }
  appendJsonKey(out, first, "time");
  out.push_back('"');
  appendRfc3339(out, r.nowUnixNanos, r.localOffset);
  out.push_back('"');
  if (kept(keep, LogField::OtelTraceId) && present(r, LogField::OtelTraceId)) {
    appendJsonKey(out, first, "trace_id");
    appendJsonString(out, r.traceId);
  }
  out.append("}\n");
}

}  // namespace causeway::observe
