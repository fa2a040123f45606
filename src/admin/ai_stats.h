// The AI gateway's figures per router for the API (GET /api/ai) and the dashboard's AI page:
// LLM calls, errors, tokens in and out, cost, semantic-cache hits and misses, and refusals by
// the guards and token limits. An exchange observer (the AI record of each exchange,
// exchange/ai_record.h), recording always, whatever metrics are configured.
//
// Threads: onComplete runs on workers; one mutex (LLM calls are slow and few next to the lock);
// json() may run on any thread. Bounded by the number of routers (names come from the
// configuration, not from requests); a router removed from the configuration is not shown.
#pragma once

#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <string>

#include "exchange/exchange.h"

namespace causeway::runtime {
struct Snapshot;
}

namespace causeway::admin {

class AiStats final : public exchange::ExchangeObserver {
 public:
  void onComplete(const exchange::Exchange& ex) override;
  // {"routers": [{name, provider, model, calls, errors, inputTokens, outputTokens, costUsd,
  //   cacheHits, cacheMisses, refusals: {type: count}}]}, routers of `snapshot` only.
  boost::json::object json(const runtime::Snapshot& snapshot) const;

 private:
  struct Router {
    std::string provider, model;
    uint64_t calls = 0, errors = 0, inputTokens = 0, outputTokens = 0, cacheHits = 0, cacheMisses = 0;
    double costUsd = 0;
    std::map<std::string, uint64_t> refusals;
  };
  mutable std::mutex mutex_;
  std::map<std::string, Router> routers_;
};

}  // namespace causeway::admin
