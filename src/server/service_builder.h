// Builds the handler of every http service of a configuration (loadBalancer today;
// weighted, mirroring, failover and highestRandomWeight belong here too). Part of the
// snapshot build (snapshot_builder.cpp), on the control thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "server/handler.h"
#include "server/runtime_state.h"
#include "server/snapshot_builder.h"
#include "server/upstream_pool.h"

namespace causeway::server {

struct ServiceBuildEnv {
  const BuildInputs& in;
  RuntimeState& runtime;
  const std::map<std::string, std::shared_ptr<const Transport>>& transports;  // qualified name
  const std::map<std::string, std::string>& transportErrors;  // transports that failed
  // Handlers kept across builds: qualified name → (fingerprint of what built it, handler).
  std::map<std::string, std::pair<uint64_t, HandlerPtr>>& cache;
};

// Fills `services` (qualified name → handler) for every service that builds; the others
// get their errors in env.runtime.services and no handler.
void buildServiceHandlers(ServiceBuildEnv& env, std::map<std::string, HandlerPtr>& services);

// "file.yml:3:5: " for a location, or "" when unknown.
std::string locationPrefix(const config::Location& location);

}  // namespace causeway::server
