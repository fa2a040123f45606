#include "admin/gateway_stats.h"

#include "runtime/snapshot.h"

namespace causeway::admin {

void GatewayStats::onComplete(const exchange::Exchange& ex) {
  if (ex.record.routerName.empty()) return;
  if (const exchange::AiRecord* ai = ex.record.ai) recordAi(ex, *ai);
  if (const exchange::McpRecord* mcp = ex.record.mcp) recordMcp(ex, *mcp);
}

void GatewayStats::recordMcp(const exchange::Exchange& ex, const exchange::McpRecord& mcp) {
  std::lock_guard lock(mutex_);
  if (mcpRouters_.size() > 100000 && !mcpRouters_.count(std::string(ex.record.routerName))) return;
  McpRouter& r = mcpRouters_[std::string(ex.record.routerName)];
  ++r.requests;
  bool failed = ex.response.status >= 400 || mcp.errorCode != 0 || ex.record.clientGone;
  bool denied = mcp.decision == "deny";
  if (failed && !denied) ++r.errors;
  r.hidden += uint64_t(std::max(mcp.hidden, 0));
  if (!ex.record.serviceUrl.empty() && r.servers.size() < kMaxServers) r.servers.emplace(ex.record.serviceUrl);
  if (denied) {
    ++r.denials;
    ++r.rules[std::string(mcp.rule)];
  }
  if (mcp.method != "tools/call" || mcp.name.empty()) return;
  auto it = r.tools.find(std::string(mcp.name));
  if (it == r.tools.end()) {
    if (r.tools.size() >= kMaxTools) return;
    it = r.tools.emplace(std::string(mcp.name), Tool{}).first;
  }
  ++it->second.calls;
  if (denied) ++it->second.denials;
  else if (failed) ++it->second.errors;
}

boost::json::object GatewayStats::mcpJson(const runtime::Snapshot& snapshot) const {
  boost::json::array routers;
  std::lock_guard lock(mutex_);
  for (const auto& [name, r] : mcpRouters_) {
    if (!snapshot.runtime.routers.count(name)) continue;
    boost::json::array servers(r.servers.begin(), r.servers.end());
    boost::json::object rules;
    for (const auto& [rule, count] : r.rules) rules[rule] = count;
    boost::json::array tools;
    for (const auto& [tool, t] : r.tools)
      tools.push_back(boost::json::object{{"name", tool}, {"calls", t.calls}, {"denials", t.denials}, {"errors", t.errors}});
    routers.push_back(boost::json::object{{"name", name},
                                          {"requests", r.requests},
                                          {"errors", r.errors},
                                          {"denials", r.denials},
                                          {"hidden", r.hidden},
                                          {"servers", std::move(servers)},
                                          {"rules", std::move(rules)},
                                          {"tools", std::move(tools)}});
  }
  return boost::json::object{{"routers", std::move(routers)}};
}

void GatewayStats::recordAi(const exchange::Exchange& ex, const exchange::AiRecord& ai_) {
  const exchange::AiRecord* ai = &ai_;
  std::lock_guard lock(mutex_);
  if (routers_.size() > 100000 && !routers_.count(std::string(ex.record.routerName))) return;
  Router& r = routers_[std::string(ex.record.routerName)];
  ++r.calls;
  if (ex.response.status >= 400 || ex.record.clientGone) ++r.errors;
  if (!ai->provider.empty()) r.provider = ai->provider;
  if (!ai->requestModel.empty()) r.model = ai->requestModel;
  r.inputTokens += uint64_t(std::max<int64_t>(0, ai->inputTokens));
  r.outputTokens += uint64_t(std::max<int64_t>(0, ai->outputTokens));
  r.costUsd += ai->costUsd;
  if (ai->cacheResult == "hit") ++r.cacheHits;
  if (ai->cacheResult == "miss") ++r.cacheMisses;
  if (!ai->refusedBy.empty()) ++r.refusals[std::string(ai->refusedBy)];
}

boost::json::object GatewayStats::json(const runtime::Snapshot& snapshot) const {
  boost::json::array routers;
  std::lock_guard lock(mutex_);
  for (const auto& [name, r] : routers_) {
    if (!snapshot.runtime.routers.count(name)) continue;
    boost::json::object refusals;
    for (const auto& [type, count] : r.refusals) refusals[type] = count;
    routers.push_back(boost::json::object{{"name", name},
                                          {"provider", r.provider},
                                          {"model", r.model},
                                          {"calls", r.calls},
                                          {"errors", r.errors},
                                          {"inputTokens", r.inputTokens},
                                          {"outputTokens", r.outputTokens},
                                          {"costUsd", r.costUsd},
                                          {"cacheHits", r.cacheHits},
                                          {"cacheMisses", r.cacheMisses},
                                          {"refusals", std::move(refusals)}});
  }
  return boost::json::object{{"routers", std::move(routers)}};
}

}  // namespace causeway::admin
