// The configuration pipeline (design: providers → aggregator → merge → build → publish).
// Providers hand complete configurations to submit(); the pipeline keeps the latest per
// provider, throttles each provider (providers.providersThrottleDuration: the first
// change applies at once, later ones within the window are coalesced and only the latest
// is applied), decodes it, builds a new Snapshot and publishes it atomically.
//
// Threading: everything runs on the control thread's io_context.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "config/dynamic_config.h"
#include "config/node.h"
#include "config/static_config.h"
#include "control/snapshot_builder.h"
#include "io/asio.h"
#include "io/watchdog.h"
#include "runtime/entry_point.h"
#include "runtime/snapshot.h"
#include "upstream/health/registry.h"

namespace causeway::control {

class ConfigPipeline {
 public:
  ConfigPipeline(asio::io_context& control, const config::StaticConfig& staticConfig,
                 const std::vector<runtime::EntryPoint>& entryPoints, unsigned workers,
                 const std::atomic<bool>& terminating, runtime::SnapshotHolder& holder);
  ~ConfigPipeline();

  // A provider's latest complete configuration. Unchanged content is ignored. `fingerprint` is
  // config::fingerprint(root) when the provider computed it already (0: computed here).
  // `notices` are what the provider could not turn into configuration (a Kubernetes object
  // that refers to a missing Secret): they are shown with the configuration's own warnings.
  void submit(const std::string& provider, config::Node root, uint64_t fingerprint = 0,
              std::vector<config::ConfigError> notices = {});
  // The same, for a tree the provider keeps and shares (ProviderConfig::shared): held only
  // until it is applied.
  void submit(const std::string& provider, std::shared_ptr<const config::Node> root, uint64_t fingerprint = 0,
              std::vector<config::ConfigError> notices = {});
  // Applies what is pending, ignoring the throttle; publishes at least once (an empty
  // configuration when no provider delivered one).
  void publishNow();

  // Rebuilds from the current configurations even when nothing changed (SIGHUP: files the
  // configuration only points to, such as certificates, are read again).
  void forceRebuild() { rebuild(); }

  // Runs after every publish (on the control thread).
  std::function<void(const runtime::Snapshot&)> onPublish;

  // The health of every loadBalancer server, kept across reloads; its active checks run on
  // the control io_context. serverStatus() may be read from any thread (API, metrics).
  upstream::HealthRegistry& health() { return health_; }

  // Registers the handler of an internal service ("api@internal", ...) for every build.
  // Call before the first publish.
  // Warnings of the static configuration, shown with every snapshot (API, dashboard).
  void setStaticWarnings(std::vector<config::ConfigError> warnings) { staticWarnings_ = std::move(warnings); }
  // A provider that cannot read its source now ("" once it can): a warning of every snapshot
  // from then on (API, dashboard), while its last good configuration keeps serving.
  void setProviderError(const std::string& provider, const std::string& error);

  void setInternalService(const std::string& name, exchange::HandlerPtr handler) {
    internalServices_[name] = std::move(handler);
  }
  // The ACME provider's state, carried by every TLS store: TLS-ALPN-01 answers in handshakes
  // and the order states of /api/certificates. Call before the first publish.
  void setAcme(std::shared_ptr<const tls::AcmeState> acme) { builder_.setAcme(std::move(acme)); }

  // Decodes and builds without publishing (causeway check). Errors of every element.
  static runtime::SnapshotPtr buildOnce(const config::StaticConfig& staticConfig,
                               const std::vector<runtime::EntryPoint>& entryPoints,
                               std::map<std::string, config::Node> roots,
                               std::vector<config::ConfigError>& decodeErrors);

 private:
  struct ProviderState {
    std::shared_ptr<const config::Node> pending;
    std::vector<config::ConfigError> pendingNotices;
    uint64_t pendingFingerprint = 0;
    bool hasPending = false;
    uint64_t appliedFingerprint = 0;
    bool applied = false;
    Clock::time_point lastApplied{};
    int64_t appliedAtUnix = 0;  // wall-clock time of lastApplied, for the API
    std::unique_ptr<asio::steady_timer> timer;
    std::shared_ptr<const config::DynamicConfig> decoded;
  };
  void apply(const std::string& provider);
  void rebuild();
  void logNewErrors(const runtime::Snapshot& snapshot);

  asio::io_context& control_;
  const config::StaticConfig& staticConfig_;
  const std::vector<runtime::EntryPoint>& entryPoints_;
  unsigned workers_;
  const std::atomic<bool>& terminating_;
  runtime::SnapshotHolder& holder_;
  std::chrono::nanoseconds throttle_;
  std::map<std::string, ProviderState> providers_;
  upstream::HealthRegistry health_;  // outlives every build; the snapshots share its entries
  std::map<std::string, exchange::HandlerPtr> internalServices_;
  std::vector<config::ConfigError> staticWarnings_;
  std::map<std::string, std::string> providerErrors_;
  SnapshotBuilder builder_;
  std::set<std::string> loggedErrors_;
  bool published_ = false;
  // A while after a publish, the memory of the build's temporaries and of the snapshot it
  // replaced (freed once every worker has moved on) goes back to the system: without it, RSS
  // after a few reloads of 10,000 routers stays half as high again as after the first.
  asio::steady_timer trim_{control_};
  void scheduleTrim();
  // Frees replaced snapshots on the control thread (see rebuild()).
  class Reaper;
  std::shared_ptr<Reaper> reaper_;
};

}  // namespace causeway::control
