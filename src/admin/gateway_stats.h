// The AI and MCP gateways' figures per router, for the API (GET /api/ai, GET /api/mcp) and the
// dashboard's AI and MCP pages. An exchange observer (the AI and MCP records of each exchange,
// exchange/ai_record.h and mcp_record.h), recording always, whatever metrics are configured.
//  - AI: LLM calls, errors, tokens in and out, cost, semantic-cache hits and misses, and
//    refusals by the guards and token limits;
//  - MCP: requests and errors, the servers that answered, and per tool its calls and denials,
//    denials per rule, and list entries hidden by policies.
//
// Threads: onComplete runs on workers; one mutex (gateway calls are slow and few next to the
// lock); the json functions may run on any thread. Bounded: routers come from the configuration
// (at most 100,000 kept); tool names and servers come from traffic, so at most kMaxTools tools and
// kMaxServers servers are kept per router. A router removed from the configuration is not shown.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "exchange/exchange.h"

namespace causeway::runtime {
struct Snapshot;
}

namespace causeway::admin {

class GatewayStats final : public exchange::ExchangeObserver {
 public:
  static constexpr size_t kMaxTools = 1000;
  static constexpr size_t kMaxServers = 100;

  void onComplete(const exchange::Exchange& ex) override;
  // {"routers": [{name, provider, model, calls, errors, inputTokens, outputTokens, costUsd,
  //   cacheHits, cacheMisses, refusals: {type: count}}]}, routers of `snapshot` only.
  boost::json::object json(const runtime::Snapshot& snapshot) const;
  // {"routers": [{name, requests, errors, denials, hidden, servers: [url], rules: {rule: count},
  //   tools: [{name, calls, denials, errors}]}]}, routers of `snapshot` only.
  boost::json::object mcpJson(const runtime::Snapshot& snapshot) const;

 private:
  void recordAi(const exchange::Exchange& ex, const exchange::AiRecord& ai);
  void recordMcp(const exchange::Exchange& ex, const exchange::McpRecord& mcp);

  struct Router {
    std::string provider, model;
    uint64_t calls = 0, errors = 0, inputTokens = 0, outputTokens = 0, cacheHits = 0, cacheMisses = 0;
    double costUsd = 0;
    std::map<std::string, uint64_t> refusals;
  };
  struct Tool {
    uint64_t calls = 0, denials = 0, errors = 0;
  };
  struct McpRouter {
    uint64_t requests = 0, errors = 0, denials = 0, hidden = 0;
    std::set<std::string> servers;
    std::map<std::string, uint64_t> rules;
    std::map<std::string, Tool> tools;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Router> routers_;
  std::map<std::string, McpRouter> mcpRouters_;
};

}  // namespace causeway::admin
