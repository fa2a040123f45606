// Builds the handler of every http service of a configuration: loadBalancer (strategies
// wrr, p2c, hrw, leasttime; sticky cookies; active and passive health checks), weighted,
// highestRandomWeight, mirroring and failover, each wrapped in its service-level
// middlewares (v3.7). Part of the snapshot build (snapshot_builder.cpp), on the control
// thread.
//
// Services are built on demand, children first, so a parent calls exactly what a router
// would (the child with its middlewares). A reference to a missing service, or a cycle of
// references between services, disables the services involved with the error; the rest
// builds. Handlers are cached across builds by what built them (element fingerprint,
// transport, and the children's handlers), so an unchanged service keeps its cursors.
//
// Health lives outside the snapshot, in the HealthRegistry of BuildInputs (when set): each
// loadBalancer server gets its long-lived ServerHealth there, and the registry runs the
// active checks once per process; a reload keeps the status of servers that stay.
//
// responseForwarding.flushInterval is accepted and needs nothing more: causeway writes each
// piece of a response body to the client as soon as the upstream delivered it (no response
// buffering), so streaming answers such as Server-Sent Events are always flushed at once,
// which is what Traefik does for them whatever the interval.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "control/build_inputs.h"
#include "exchange/handler.h"
#include "runtime/runtime_state.h"
#include "upstream/connection_pool.h"

namespace causeway::control {

struct ServiceBuildEnv {
  const BuildInputs& in;
  runtime::RuntimeState& runtime;
  const std::map<std::string, std::shared_ptr<const upstream::Transport>>& transports;  // qualified name
  const std::map<std::string, std::string>& transportErrors;  // transports that failed
  // Handlers kept across builds: qualified name → (fingerprint of what built it, handler).
  std::map<std::string, std::pair<uint64_t, exchange::HandlerPtr>>& cache;
  // Wraps `handler` in the service-level middlewares `names` of service `qualified` (from
  // `provider`); false with `error` set when one is missing or broken. Unset: none applied.
  std::function<bool(const std::string& qualified, const std::string& provider,
                     const std::vector<std::string>& names, exchange::HandlerPtr& handler,
                     std::string& error)>
      wrapMiddlewares = nullptr;
};

// Fills `services` (qualified name → handler, service middlewares included) for every
// service that builds; the others get their errors in env.runtime.services and no handler.
// `services` may already hold internal services (noop@internal, ...): they can be children.
void buildServiceHandlers(ServiceBuildEnv& env, std::map<std::string, exchange::HandlerPtr>& services);

}  // namespace causeway::control
