// The AI gateway's metrics, after OpenTelemetry's GenAI semantic conventions, in Prometheus
// form (dots become underscores, seconds get their unit suffix):
//   gen_ai_client_token_usage             histogram of tokens per call, gen_ai_token_type
//                                         input|output
//   gen_ai_client_operation_duration_seconds   histogram of whole calls (error_type on failures)
//   gen_ai_server_time_to_first_token_seconds  streamed calls: request start to the first content
//   gen_ai_server_time_per_output_token_seconds  streamed calls: after the first token, per token
//   causeway_gen_ai_cost_usd_total        counter of cost, when a token limit prices the model
// Labels: gen_ai_operation_name, gen_ai_provider_name, gen_ai_request_model,
// gen_ai_response_model and router. Buckets are the conventions' advice.
// And the MCP gateway's, after the conventions' MCP page:
//   mcp_server_operation_duration_seconds  histogram of MCP requests through the gateway, labels
//                                         mcp_method_name, gen_ai_tool_name (tools/call),
//                                         router, error_type (JSON-RPC code or HTTP status)
//   causeway_mcp_denials_total             counter of requests a policy denied, labels
//                                         mcp_method_name, gen_ai_tool_name, router, rule
// And API management's, with Traefik Hub's names (labels api, api_version when a version is
// published, application, plan, method, code):
//   traefik_hub_api_requests_total                 counter of requests an `api` middleware saw
//   traefik_hub_api_requests_duration_milliseconds histogram of their durations
//   traefik_hub_api_requests_bytes_total, traefik_hub_api_responses_bytes_total
//
// Threads: record() runs on the worker that served the call, under that worker's own mutex
// (LLM calls are slow; the lock is uncontended except while a scrape copies the worker's
// series); render() may run on any thread. Series are bounded per worker (the model name can
// come from the client): beyond kMaxSeries new label sets are not counted.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "exchange/ai_record.h"
#include "exchange/api_record.h"
#include "exchange/mcp_record.h"

namespace causeway::observe {

class GenAiMetrics {
 public:
  static constexpr size_t kMaxSeries = 4096;
  explicit GenAiMetrics(unsigned workers);
  ~GenAiMetrics();

  // One finished LLM call. `errorType`: empty on success, else the status class ("429", "502")
  // or "stream_cut" for a stream that ended early.
  void record(unsigned worker, const exchange::AiRecord& ai, std::string_view router, std::string_view errorType,
              std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point end);
  // One MCP request (a POST's JSON-RPC message, or a GET/DELETE leg).
  void recordMcp(unsigned worker, const exchange::McpRecord& mcp, std::string_view router, int status,
                 std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point end);
  // One request through an `api` middleware.
  void recordApi(unsigned worker, const exchange::ApiRecord& api, std::string_view method, int status,
                 uint64_t requestBytes, uint64_t responseBytes, std::chrono::steady_clock::time_point start,
                 std::chrono::steady_clock::time_point end);
  // Appends the families (nothing before the first LLM call).
  void render(std::string& out) const;

  struct Worker;

 private:
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace causeway::observe
