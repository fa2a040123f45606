#include "admin/ai_stats.h"

#include "runtime/snapshot.h"

namespace causeway::admin {

void AiStats::onComplete(const exchange::Exchange& ex) {
  const exchange::AiRecord* ai = ex.record.ai;
  if (!ai || ex.record.routerName.empty()) return;
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

boost::json::object AiStats::json(const runtime::Snapshot& snapshot) const {
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
