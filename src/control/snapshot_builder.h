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
#include "exchange/middleware_registry.h"
#include "runtime/entry_point.h"
#include "runtime/snapshot.h"
#include "tls/tls_store.h"
#include "upstream/connection_pool.h"

namespace causeway::upstream {
class HealthRegistry;
}  // namespace causeway::upstream

namespace causeway::control {

struct BuildInputs {
  const config::StaticConfig* staticConfig = nullptr;
  const std::vector<runtime::EntryPoint>* entryPoints = nullptr;
  unsigned workers = 1;
  // Decoded configuration per provider name ("file", ...). The builder adds @internal.
  std::map<std::string, std::shared_ptr<const config::DynamicConfig>> providers;
  const std::atomic<bool>* terminating = nullptr;  // for ping@internal
  // Long-lived health of loadBalancer servers (owned by the pipeline, outlives builds);
  // null: each build starts every server UP and runs no active checks (causeway check).
  upstream::HealthRegistry* health = nullptr;
  // Handlers of internal services the application provides ("api@internal",
  // "dashboard@internal", ...). An enabled feature whose handler is missing (causeway check)
  // still gets its routers and runtime state, served by a placeholder.
  std::map<std::string, exchange::HandlerPtr> internalServices;
};

class SnapshotBuilder {
 public:
  runtime::SnapshotPtr build(const BuildInputs& inputs);

 private:
  std::map<std::string, router::CompiledRulePtr> rules_;  // key: syntax + rule text
  // By qualified name: the fingerprint the object was built from, and the object.
  std::map<std::string, std::pair<uint64_t, exchange::HandlerPtr>> serviceCache_;
  std::map<std::string, std::pair<uint64_t, exchange::MiddlewareFactoryPtr>> middlewareCache_;
  std::map<std::string, std::pair<uint64_t, std::shared_ptr<const upstream::Transport>>> transportCache_;
  tls::TlsStoreBuilder tlsBuilder_;  // keeps loaded certificates between builds
  uint64_t generation_ = 0;
};

// "name" in provider "file" → "name@file"; "name@other" stays as is.
std::string qualify(std::string_view name, std::string_view provider);

}  // namespace causeway::control
