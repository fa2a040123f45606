#include "observe/genai_metrics.h"

#include "observe/label_families.h"

#include <array>
#include <cstdio>
#include <span>

namespace causeway::observe {
namespace {

constexpr std::array<double, 14> kTokenBuckets = {1,     4,      16,      64,      256,      1024,     4096,
                                                  16384, 65536,  262144,  1048576, 4194304,  16777216, 67108864};
constexpr std::array<double, 14> kDurationBuckets = {0.01, 0.02, 0.04, 0.08, 0.16,  0.32,  0.64,
                                                     1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
constexpr std::array<double, 16> kFirstTokenBuckets = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
                                                       0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0};
constexpr std::array<double, 13> kPerTokenBuckets = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2,
                                                     0.3,  0.4,   0.5,  0.75,  1.0, 2.5};

constexpr std::array<double, 14> kMcpDurationBuckets = {0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1,
                                                       2,    5,    10,   30,  60,  120, 300};

constexpr std::array<double, 12> kApiDurationBuckets = {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};

}  // namespace

struct GenAiMetrics::Worker {
  mutable std::mutex mutex;
  Family tokens, duration, firstToken, perToken, mcpDuration, apiDuration;
  std::map<std::string, double> cost, mcpDenials, apiRequests, apiRequestBytes, apiResponseBytes;

  // Whether one more series may be created in `family`.
  template <class Map>
  static bool room(const Map& family, const std::string& labels) {
    return family.size() < kMaxSeries || family.count(labels) > 0;
  }
};

GenAiMetrics::GenAiMetrics(unsigned workers) {
  for (unsigned i = 0; i < std::max(workers, 1u); ++i) workers_.push_back(std::make_unique<Worker>());
}

GenAiMetrics::~GenAiMetrics() = default;

void GenAiMetrics::record(unsigned worker, const exchange::AiRecord& ai, std::string_view router,
                          std::string_view errorType, std::chrono::steady_clock::time_point start,
                          std::chrono::steady_clock::time_point end) {
  Worker& w = *workers_[worker < workers_.size() ? worker : 0];
  std::string base;
  appendLabel(base, "gen_ai_operation_name", ai.operation);
  appendLabel(base, "gen_ai_provider_name", ai.provider);
  appendLabel(base, "gen_ai_request_model", ai.requestModel);
  appendLabel(base, "gen_ai_response_model", ai.responseModel);
  appendLabel(base, "router", router);
  std::string input = base, output = base, timed = base;
  appendLabel(input, "gen_ai_token_type", "input");
  appendLabel(output, "gen_ai_token_type", "output");
  if (!errorType.empty()) appendLabel(timed, "error_type", errorType);

  std::lock_guard lock(w.mutex);
  if (ai.inputTokens > 0 || ai.outputTokens > 0) {
    if (Worker::room(w.tokens, input)) w.tokens[input].observe(kTokenBuckets, double(ai.inputTokens));
    if (Worker::room(w.tokens, output)) w.tokens[output].observe(kTokenBuckets, double(ai.outputTokens));
  }
  if (Worker::room(w.duration, timed)) w.duration[timed].observe(kDurationBuckets, std::chrono::duration<double>(end - start).count());
  using Clock = std::chrono::steady_clock;
  if (ai.stream && ai.firstTokenAt != Clock::time_point{}) {
    double first = std::chrono::duration<double>(ai.firstTokenAt - start).count();
    if (first >= 0 && Worker::room(w.firstToken, base)) w.firstToken[base].observe(kFirstTokenBuckets, first);
    Clock::time_point last = ai.endAt != Clock::time_point{} ? ai.endAt : end;
    if (ai.outputTokens > 1 && last > ai.firstTokenAt && Worker::room(w.perToken, base)) {
      double perToken = std::chrono::duration<double>(last - ai.firstTokenAt).count() / double(ai.outputTokens - 1);
      w.perToken[base].observe(kPerTokenBuckets, perToken);
    }
  }
  if (ai.costUsd > 0 && Worker::room(w.cost, base)) w.cost[base] += ai.costUsd;
}

void GenAiMetrics::recordMcp(unsigned worker, const exchange::McpRecord& mcp, std::string_view router, int status,
                             std::chrono::steady_clock::time_point start, std::chrono::steady_clock::time_point end) {
  Worker& w = *workers_[worker < workers_.size() ? worker : 0];
  std::string base;
  appendLabel(base, "mcp_method_name", mcp.method);
  if (mcp.method == "tools/call") appendLabel(base, "gen_ai_tool_name", mcp.name);
  appendLabel(base, "router", router);
  std::string timed = base;
  if (mcp.errorCode != 0) appendLabel(timed, "error_type", std::to_string(mcp.errorCode));
  else if (status >= 400) appendLabel(timed, "error_type", std::to_string(status));
  std::lock_guard lock(w.mutex);
  if (Worker::room(w.mcpDuration, timed))
    w.mcpDuration[timed].observe(kMcpDurationBuckets, std::chrono::duration<double>(end - start).count());
  if (mcp.decision == "deny") {
    appendLabel(base, "rule", mcp.rule);
    if (Worker::room(w.mcpDenials, base)) w.mcpDenials[base] += 1;
  }
}

void GenAiMetrics::recordApi(unsigned worker, const exchange::ApiRecord& api, std::string_view method, int status,
                             uint64_t requestBytes, uint64_t responseBytes, std::chrono::steady_clock::time_point start,
                             std::chrono::steady_clock::time_point end) {
  Worker& w = *workers_[worker < workers_.size() ? worker : 0];
  std::string labels;
  appendLabel(labels, "api", api.api);
  if (!api.version.empty()) appendLabel(labels, "api_version", api.version);
  appendLabel(labels, "application", api.application);
  appendLabel(labels, "plan", api.plan);
  appendLabel(labels, "method", method);
  appendLabel(labels, "code", std::to_string(status));
  std::lock_guard lock(w.mutex);
  if (!Worker::room(w.apiRequests, labels)) return;
  w.apiRequests[labels] += 1;
  w.apiRequestBytes[labels] += double(requestBytes);
  w.apiResponseBytes[labels] += double(responseBytes);
  w.apiDuration[labels].observe(kApiDurationBuckets, std::chrono::duration<double, std::milli>(end - start).count());
}

void GenAiMetrics::render(std::string& out) const {
  Family tokens, duration, firstToken, perToken, mcpDuration, apiDuration;
  std::map<std::string, double> cost, mcpDenials, apiRequests, apiRequestBytes, apiResponseBytes;
  for (const auto& worker : workers_) {
    std::lock_guard lock(worker->mutex);
    for (const auto& [labels, h] : worker->tokens) tokens[labels].add(h);
    for (const auto& [labels, h] : worker->duration) duration[labels].add(h);
    for (const auto& [labels, h] : worker->firstToken) firstToken[labels].add(h);
    for (const auto& [labels, h] : worker->perToken) perToken[labels].add(h);
    for (const auto& [labels, v] : worker->cost) cost[labels] += v;
    for (const auto& [labels, h] : worker->mcpDuration) mcpDuration[labels].add(h);
    for (const auto& [labels, v] : worker->mcpDenials) mcpDenials[labels] += v;
    for (const auto& [labels, h] : worker->apiDuration) apiDuration[labels].add(h);
    for (const auto& [labels, v] : worker->apiRequests) apiRequests[labels] += v;
    for (const auto& [labels, v] : worker->apiRequestBytes) apiRequestBytes[labels] += v;
    for (const auto& [labels, v] : worker->apiResponseBytes) apiResponseBytes[labels] += v;
  }
  renderHistogram(out, "gen_ai_client_token_usage", "Number of input and output tokens used per LLM call.",
                  kTokenBuckets, tokens);
  renderHistogram(out, "gen_ai_client_operation_duration_seconds", "Duration of LLM calls through the gateway.",
                  kDurationBuckets, duration);
  renderHistogram(out, "gen_ai_server_time_to_first_token_seconds",
                  "Time from the request to the first content of a streamed answer.", kFirstTokenBuckets, firstToken);
  renderHistogram(out, "gen_ai_server_time_per_output_token_seconds",
                  "Time per output token of a streamed answer, after the first one.", kPerTokenBuckets, perToken);
  renderHistogram(out, "mcp_server_operation_duration_seconds", "Duration of MCP requests through the gateway.",
                  kMcpDurationBuckets, mcpDuration);
  renderCounter(out, "causeway_mcp_denials_total", "MCP requests denied by a policy of the gateway.", mcpDenials);
  renderCounter(out, "traefik_hub_api_requests_total", "Requests to the published APIs.", apiRequests);
  renderHistogram(out, "traefik_hub_api_requests_duration_milliseconds", "Duration of requests to the published APIs.",
                  kApiDurationBuckets, apiDuration);
  renderCounter(out, "traefik_hub_api_requests_bytes_total", "Bytes of the requests to the published APIs.",
                apiRequestBytes);
  renderCounter(out, "traefik_hub_api_responses_bytes_total", "Bytes of the responses of the published APIs.",
                apiResponseBytes);
  renderCounter(out, "causeway_gen_ai_cost_usd_total",
                "Cost of LLM calls in US dollars, from the token limits' price tables.", cost);
}

}  // namespace causeway::observe
