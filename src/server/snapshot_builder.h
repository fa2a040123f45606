// Builds a Snapshot from the merged dynamic configuration of every provider (design:
// "merge (name@provider) → build Snapshot"). Runs on the control thread, never on a
// worker. Each element is validated on its own: one with an error is disabled, its error
// kept in RuntimeState, and everything else runs.
//
// Reload cost follows the change, not the configuration: compiled rules, services and
// middleware factories are cached by content fingerprint and reused while unchanged; only
// the route tables are re-sorted (O(n log n), no regex compilation).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/dynamic_config.h"
#include "config/static_config.h"
#include "server/entry_point.h"
#include "server/middleware.h"
#include "server/snapshot.h"
#include "server/tls_store.h"
#include "server/upstream_pool.h"

namespace causeway::server {

class HealthRegistry;

struct BuildInputs {
  const config::StaticConfig* staticConfig = nullptr;
  const std::vector<EntryPoint>* entryPoints = nullptr;
  unsigned workers = 1;
  // Decoded configuration per provider name ("file", ...). The builder adds @internal.
  std::map<std::string, std::shared_ptr<const config::DynamicConfig>> providers;
  const std::atomic<bool>* terminating = nullptr;  // for ping@internal
  // Long-lived health of loadBalancer servers (owned by the pipeline, outlives builds);
  // null: each build starts every server UP and runs no active checks (causeway check).
  HealthRegistry* health = nullptr;
  // Handlers of internal services the application provides ("api@internal",
  // "dashboard@internal", ...). An enabled feature whose handler is missing (causeway check)
  // still gets its routers and runtime state, served by a placeholder.
  std::map<std::string, HandlerPtr> internalServices;
};

class SnapshotBuilder {
 public:
  SnapshotPtr build(const BuildInputs& inputs);

 private:
  std::map<std::string, router::CompiledRulePtr> rules_;  // key: syntax + rule text
  // By qualified name: the fingerprint the object was built from, and the object.
  std::map<std::string, std::pair<uint64_t, HandlerPtr>> serviceCache_;
  std::map<std::string, std::pair<uint64_t, MiddlewareFactoryPtr>> middlewareCache_;
  std::map<std::string, std::pair<uint64_t, std::shared_ptr<const Transport>>> transportCache_;
  TlsStoreBuilder tlsBuilder_;  // keeps loaded certificates between builds
  uint64_t generation_ = 0;
};

// "name" in provider "file" → "name@file"; "name@other" stays as is.
std::string qualify(std::string_view name, std::string_view provider);

}  // namespace causeway::server
