// The access-log line formats of Traefik (pkg/middlewares/accesslog/logger_formatters.go and
// logrus' JSON formatter): `common` (Traefik's extended CLF), `genericCLF` and `json`, over the
// fields of reference §6.2. Which fields appear is decided by a keep mask (fields.defaultMode
// and fields.names); headers come already filtered (kept or REDACTED).
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace causeway::observe {

// The core fields, in the byte order of their JSON keys (the JSON output is sorted, as Go's
// encoding/json sorts map keys).
enum class LogField : uint8_t {
  // API management's, present on requests an `api` middleware saw (exchange/api_record.h).
  APIApplication,
  APIName,
  APIPlan,
  APIVersion,
  // The httpCache middleware's X-Cache-Status (HIT, MISS, …), on requests one saw.
  CacheStatus,
  ClientAddr,
  ClientHost,
  ClientPort,
  ClientUsername,
  DownstreamContentSize,
  DownstreamStatus,
  Duration,
  // The AI gateway's, present on LLM calls only (exchange/ai_record.h).
  GenAICacheResult,
  GenAICostUSD,
  GenAIInputTokens,
  GenAIOutputTokens,
  GenAIProvider,
  GenAIRequestModel,
  GenAIResponseModel,
  GzipRatio,
  // The MCP gateway's, present on MCP traffic only (exchange/mcp_record.h).
  MCPDecision,
  MCPErrorCode,
  MCPMethod,
  MCPName,
  MCPRule,
  MCPSessionId,
  OriginContentSize,
  OriginDuration,
  OriginStatus,
  Overhead,
  RequestAddr,
  RequestContentSize,
  RequestCount,
  RequestHost,
  RequestMethod,
  RequestPath,
  RequestPort,
  RequestProtocol,
  RequestScheme,
  RetryAttempts,
  RouterName,
  ServiceAddr,
  ServiceName,
  ServiceURL,
  SpanId,
  StartLocal,
  StartUTC,
  TLSCipher,
  TLSClientSubject,
  TLSVersion,
  TraceId,
  // Lower-case keys sort after the upper-case ones.
  EntryPointName,  // "entryPointName"
  OtelSpanId,      // "span_id"
  OtelTraceId,     // "trace_id"
  Count
};
constexpr size_t kLogFieldCount = size_t(LogField::Count);
std::string_view logFieldName(LogField field);
// The field named `name` (compared ignoring case, as Traefik lower-cases fields.names); false
// if unknown.
bool logFieldByName(std::string_view name, LogField& out);

using FieldMask = uint64_t;
static_assert(kLogFieldCount <= 64, "a FieldMask holds one bit per field");
constexpr FieldMask bit(LogField f) { return FieldMask(1) << unsigned(f); }
constexpr FieldMask kAllFields = (FieldMask(1) << kLogFieldCount) - 1;

struct LogHeader {
  std::string name;   // canonical ("User-Agent")
  std::string value;  // values joined with ",", or "REDACTED"
};

// One request, as the access log sees it. Fields that do not apply are marked absent.
struct LogRecord {
  int64_t startUnixNanos = 0;
  int64_t nowUnixNanos = 0;  // when the line is made ("time")
  int localOffset = 0;       // seconds east of UTC (StartLocal, time)
  int64_t durationNanos = 0;
  std::string_view entryPointName;
  std::string_view routerName;     // empty: no router
  std::string_view serviceName;    // these three: empty unless a server was called
  std::string_view serviceUrl;
  std::string_view serviceAddr;
  std::string_view clientAddr, clientHost, clientPort;
  std::string_view clientUsername = "-";
  std::string_view requestAddr, requestHost, requestPort;  // requestAddr empty: no Host
  std::string_view requestMethod, requestPath, requestProtocol, requestScheme;
  uint64_t requestContentSize = 0;
  int64_t originDurationNanos = 0;
  uint64_t originContentSize = 0;
  int originStatus = 0;
  int downstreamStatus = 0;
  uint64_t downstreamContentSize = 0;
  uint64_t requestCount = 0;
  int64_t overheadNanos = 0;
  int retryAttempts = 0;
  bool ai = false;  // an LLM call: the GenAI* fields apply
  std::string_view aiProvider, aiRequestModel, aiResponseModel, aiCacheResult;
  int64_t aiInputTokens = 0, aiOutputTokens = 0;
  double aiCostUsd = 0;
  // API management: the API* fields, each when it has a value.
  std::string_view apiName, apiVersion, apiApplication, apiPlan;
  std::string_view cacheStatus;  // httpCache: HIT, MISS, EXPIRED, STALE, REVALIDATED, BYPASS
  bool mcp = false;  // MCP traffic: the MCP* fields apply (each when it has a value)
  std::string_view mcpDecision, mcpMethod, mcpName, mcpRule, mcpSessionId;
  int mcpErrorCode = 0;
  bool tls = false;
  std::string_view tlsVersion, tlsCipher, tlsClientSubject;  // subject empty: no client certificate
  std::string_view traceId, spanId;                          // empty: not traced
  const std::vector<LogHeader>* requestHeaders = nullptr;     // request_<Name>, sorted by name
  const std::vector<LogHeader>* downstreamHeaders = nullptr;  // downstream_<Name>, sorted by name
};

// `<ClientHost> - <ClientUsername> [<StartUTC>] "<Method> <Path> <Proto>" <DownstreamStatus>
//  <DownstreamContentSize> "<Referer>" "<User-Agent>" <RequestCount> "<RouterName>"
//  "<ServiceURL>" <Duration>ms\n`
void formatCommon(const LogRecord& record, FieldMask keep, std::string& out);
// The first ten fields of the common format (plain CLF).
void formatGenericClf(const LogRecord& record, FieldMask keep, std::string& out);
// One JSON object with sorted keys, plus "level":"info", "msg":"" and "time", then "\n".
void formatJson(const LogRecord& record, FieldMask keep, std::string& out);

}  // namespace causeway::observe
