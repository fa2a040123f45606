#include "control/config_pipeline.h"

#include <functional>
#include <mutex>

#include "core/log.h"
#include "core/memory_budget.h"

namespace causeway::control {

ConfigPipeline::ConfigPipeline(asio::io_context& control, const config::StaticConfig& staticConfig,
                               const std::vector<runtime::EntryPoint>& entryPoints, unsigned workers,
                               const std::atomic<bool>& terminating, runtime::SnapshotHolder& holder)
    : control_(control),
      staticConfig_(staticConfig),
      entryPoints_(entryPoints),
      workers_(workers),
      terminating_(terminating),
      holder_(holder),
      throttle_(staticConfig.providers.providersThrottleDuration.value),
      health_(control),
      reaper_(std::make_shared<Reaper>(control, [this] { scheduleTrim(); })) {}

// The last reference to a replaced snapshot is usually dropped by a worker: its first request
// (or tick) after the reload. Freed there, the snapshot's blocks go back to pages of the
// control thread's heap from another thread, and mimalloc then kept those pages at the control
// thread's trim: with 10,000 routers, RSS stayed at 44 MiB after a reload that followed one
// served request, against 35 MiB when the snapshot was freed on the control thread
// (docs/benchmarks.md, "Reloads at scale"). So a snapshot is always freed here, where it was
// built; once the pipeline is gone (shutdown), where its last reference drops.
class ConfigPipeline::Reaper : public std::enable_shared_from_this<Reaper> {
 public:
  // `freed` runs on the control thread after each snapshot is freed there.
  Reaper(asio::io_context& control, std::function<void()> freed) : control_(control), freed_(std::move(freed)) {}

  // The snapshot to publish: its last reference hands `built` to the control thread.
  runtime::SnapshotPtr wrap(runtime::SnapshotPtr built) {
    const runtime::Snapshot* raw = built.get();
    return runtime::SnapshotPtr(raw, [self = shared_from_this(), built = std::move(built)](const runtime::Snapshot*) mutable {
      std::lock_guard lock(self->mutex_);
      if (!self->open_) return;  // no pipeline any more: freed here, with the deleter
      asio::post(self->control_, [self, last = std::move(built)]() mutable {
        {
          EagerRelease eager;
          last.reset();
        }
        // Unlocked: this runs on the control thread, the one that destroys the pipeline (and
        // closes the reaper), so the pipeline cannot go away between the check and the call.
        if (self->isOpen()) self->freed_();
      });
    });
  }

  void close() {
    std::lock_guard lock(mutex_);
    open_ = false;
  }

 private:
  bool isOpen() {
    std::lock_guard lock(mutex_);
    return open_;
  }

  asio::io_context& control_;
  std::function<void()> freed_;
  std::mutex mutex_;
  bool open_ = true;
};

ConfigPipeline::~ConfigPipeline() { reaper_->close(); }

void ConfigPipeline::submit(const std::string& provider, config::Node root, uint64_t fingerprint,
                            std::vector<config::ConfigError> notices) {
  if (fingerprint == 0) fingerprint = config::fingerprint(root);
  submit(provider, std::make_shared<const config::Node>(std::move(root)), fingerprint, std::move(notices));
}

void ConfigPipeline::submit(const std::string& provider, std::shared_ptr<const config::Node> root,
                            uint64_t fingerprint, std::vector<config::ConfigError> notices) {
  ProviderState& state = providers_[provider];
  if (fingerprint == 0) fingerprint = config::fingerprint(*root);
  if (state.applied && !state.hasPending && fingerprint == state.appliedFingerprint) {
    log::debug("skipping unchanged configuration", {{"providerName", provider}});
    return;
  }
  state.pending = std::move(root);
  state.pendingNotices = std::move(notices);
  state.pendingFingerprint = fingerprint;
  state.hasPending = true;
  auto now = Clock::now();
  auto due = state.lastApplied + throttle_;
  if (!state.applied || now >= due) {
    apply(provider);
    return;
  }
  if (!state.timer) state.timer = std::make_unique<asio::steady_timer>(control_);
  if (state.timer->expiry() > now) return;  // already scheduled; it applies the latest
  state.timer->expires_at(due);
  state.timer->async_wait([this, provider](error_code ec) {
    if (!ec) apply(provider);
  });
}

void ConfigPipeline::apply(const std::string& provider) {
  ProviderState& state = providers_[provider];
  if (!state.hasPending) return;
  std::vector<config::ConfigError> errors;
  auto decoded = std::make_shared<config::DynamicConfig>(
      config::decodeDynamic(*state.pending, errors, state.decoded.get()));
  decoded->notices.insert(decoded->notices.begin(), std::make_move_iterator(state.pendingNotices.begin()),
                          std::make_move_iterator(state.pendingNotices.end()));
  state.pendingNotices.clear();
  for (const auto& error : errors) {
    // Element errors are logged with the element after the build; others now.
    if (!error.element.empty() && (error.element.rfind("http.", 0) == 0)) continue;
    if (error.warning) log::warn(error.toString(), {{"providerName", provider}});
    else log::error(error.toString(), {{"providerName", provider}});
  }
  state.appliedFingerprint = state.pendingFingerprint;
  state.applied = true;
  state.hasPending = false;
  {
    EagerRelease eager;       // the tree is most of what a change frees (docs/benchmarks.md)
    state.pending = nullptr;  // a provider's shared tree is its own again
  }
  state.lastApplied = Clock::now();
  state.appliedAtUnix = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
  state.decoded = std::move(decoded);
  rebuild();
}

void ConfigPipeline::setProviderError(const std::string& provider, const std::string& error) {
  auto it = providerErrors_.find(provider);
  if (error.empty() ? it == providerErrors_.end() : it != providerErrors_.end() && it->second == error)
    return;
  if (error.empty())
    providerErrors_.erase(it);
  else
    providerErrors_[provider] = error;
  if (published_) rebuild();  // the warnings change; the configurations do not
}

void ConfigPipeline::publishNow() {
  bool applied = false;
  for (auto& [name, state] : providers_) {
    if (state.hasPending) {
      std::string provider = name;
      apply(provider);
      applied = true;
    }
  }
  if (!applied && !published_) rebuild();
}

void ConfigPipeline::rebuild() {
  BuildInputs inputs;
  inputs.staticConfig = &staticConfig_;
  inputs.entryPoints = &entryPoints_;
  inputs.workers = workers_;
  inputs.terminating = &terminating_;
  inputs.health = &health_;
  inputs.internalServices = internalServices_;
  inputs.staticWarnings = staticWarnings_;
  for (const auto& [provider, error] : providerErrors_) {
    config::ConfigError warning;
    warning.element = "providers." + provider;
    warning.message = error;
    warning.warning = true;
    inputs.staticWarnings.push_back(std::move(warning));
  }
  for (const auto& [name, state] : providers_) {
    if (state.decoded) inputs.providers[name] = state.decoded;
    inputs.providerStatus[name].lastUpdate = state.appliedAtUnix;
  }
  for (const auto& [provider, error] : providerErrors_) inputs.providerStatus[provider].lastError = error;
  auto started = Clock::now();
  runtime::SnapshotPtr snapshot = reaper_->wrap(builder_.build(inputs));
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count();
  logNewErrors(*snapshot);
  holder_.publish(snapshot);
  published_ = true;
  size_t routes = 0;
  for (const auto& r : snapshot->routes) routes += r.table.size() + r.tlsTable.size();
  log::info("configuration published", {{"generation", snapshot->generation},
                                         {"routers", snapshot->runtime.routers.size()},
                                         {"routes", routes},
                                         {"buildMicros", micros}});
  if (onPublish) onPublish(*snapshot);
  scheduleTrim();
}

void ConfigPipeline::scheduleTrim() {
  trim_.expires_after(std::chrono::seconds(2));
  trim_.async_wait([](error_code ec) {
    if (ec) return;
    EagerRelease eager;
    trimFreeMemory();
  });
}

void ConfigPipeline::logNewErrors(const runtime::Snapshot& snapshot) {
  std::set<std::string> current;
  auto report = [&](const char* kind, const std::string& name, const runtime::ElementState& state) {
    for (const auto& error : state.errors) {
      std::string key = std::string(kind) + "|" + name + "|" + error;
      current.insert(key);
      if (loggedErrors_.count(key)) continue;
      if (state.status == runtime::ElementStatus::Disabled)
        log::error(error, {{"kind", kind}, {"name", name}, {"status", statusName(state.status)}});
      else
        log::warn(error, {{"kind", kind}, {"name", name}, {"status", statusName(state.status)}});
    }
  };
  for (const auto& [name, state] : snapshot.runtime.routers) report("router", name, state);
  for (const auto& [name, state] : snapshot.runtime.services) report("service", name, state);
  for (const auto& [name, state] : snapshot.runtime.middlewares) report("middleware", name, state);
  for (const auto& [name, state] : snapshot.runtime.tcpRouters) report("TCP router", name, state);
  for (const auto& [name, state] : snapshot.runtime.tcpServices) report("TCP service", name, state);
  for (const auto& [name, state] : snapshot.runtime.tcpMiddlewares) report("TCP middleware", name, state);
  for (const auto& [name, state] : snapshot.runtime.udpRouters) report("UDP router", name, state);
  for (const auto& [name, state] : snapshot.runtime.udpServices) report("UDP service", name, state);
  for (const auto& error : snapshot.runtime.globalErrors) {
    if (!loggedErrors_.count(error)) log::error(error);
    current.insert(error);
  }
  loggedErrors_ = std::move(current);
}

runtime::SnapshotPtr ConfigPipeline::buildOnce(const config::StaticConfig& staticConfig,
                                      const std::vector<runtime::EntryPoint>& entryPoints,
                                      std::map<std::string, config::Node> roots,
                                      std::vector<config::ConfigError>& decodeErrors) {
  static const std::atomic<bool> notTerminating{false};
  BuildInputs inputs;
  inputs.staticConfig = &staticConfig;
  inputs.entryPoints = &entryPoints;
  inputs.workers = 1;
  inputs.terminating = &notTerminating;
  for (auto& [name, root] : roots)
    inputs.providers[name] = std::make_shared<config::DynamicConfig>(config::decodeDynamic(root, decodeErrors));
  SnapshotBuilder builder;
  return builder.build(inputs);
}

}  // namespace causeway::control
