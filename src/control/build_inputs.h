// What a snapshot build takes (BuildInputs) and what it keeps between builds (BuildCaches),
// and the naming rules every build step shares.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/dynamic_config.h"
#include "config/static_config.h"
#include "exchange/handler.h"
#include "exchange/middleware_registry.h"
#include "router/rule.h"
#include "runtime/entry_point.h"
#include "runtime/runtime_state.h"
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
  // Warnings of the static configuration (ignored options and sources, providers and
  // entryPoints not supported yet), kept in every snapshot for the API and dashboard.
  std::vector<config::ConfigError> staticWarnings;
  // Each provider's last update and current error, copied into the snapshot for the API.
  std::map<std::string, runtime::RuntimeState::ProviderStatus> providerStatus;
};

// Kept from one build to the next, so that a reload costs work in proportion to what
// changed: each object is stored with the fingerprint of the configuration it was built
// from and reused while that fingerprint is unchanged.
// A compiled rule's cache key: TCP or HTTP, the syntax, and the rule's text as a view of the
// text the compiled rule keeps, so that the cache holds each rule's text once.
struct RuleKey {
  RuleKey(bool tcp, bool v2, std::string_view text)
      : hash(std::hash<std::string_view>{}(text)), tcp(tcp), v2(v2), text(text) {}
  size_t hash;  // of the text, compared first: routers' rules share long prefixes
                // ("Host(`…`) && PathPrefix(`…"), and an order on the text alone compared most
                // of two texts at each step (11 % of a change's samples at 100,000 routers)
  bool tcp = false;
  bool v2 = false;
  std::string_view text;
  auto operator<=>(const RuleKey&) const = default;
};

struct BuildCaches {
  // Ordered (by hash first). An unordered_map with a last-used build number in each entry was
  // faster (a change at 100,000 routers: about 780 ms against 880) but kept about 9 MiB more
  // RSS after three reloads of 10,000 routers, which test_reload.py bounds; why was not found.
  std::map<RuleKey, router::CompiledRulePtr> rules;
  std::map<std::string, std::pair<uint64_t, exchange::HandlerPtr>> services;
  std::map<std::string, std::pair<uint64_t, exchange::MiddlewareFactoryPtr>> middlewares;
  std::map<std::string, std::pair<uint64_t, std::shared_ptr<const upstream::Transport>>> transports;
  tls::TlsStoreBuilder tls;  // keeps loaded certificates between builds
};

// "name" in provider "file" → "name@file"; "name@other" stays as is.
using config::qualify;

// "file.yml:3:5: " for a location, or "" when unknown.
std::string locationPrefix(const config::Location& location);

}  // namespace causeway::control
