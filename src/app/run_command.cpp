// `causeway [run]`: serve until SIGTERM/SIGINT. The main thread is the control thread: it
// runs the providers, the configuration pipeline and the signal handling on its own
// io_context, while the workers serve traffic.
#include <csignal>
#include <iostream>

#include "admin/admin_handlers.h"
#include "admin/rest_handler.h"
#include "provider/acme/acme_provider.h"
#include "provider/rest_provider.h"
#include "app/acme_requests.h"
#include "app/commands.h"
#include "app/setup.h"
#include "gateway/api/portal.h"
#include "control/config_pipeline.h"
#include "control/internal_services.h"
#include "control/server.h"
#include "core/log.h"
#include "core/version.h"
#include "observe/observability.h"

namespace causeway::app {
namespace {

class Controller {
 public:
  Controller(const config::StaticConfig& config, control::Server& server,
             std::vector<std::unique_ptr<provider::Provider>>& providers)
      : config_(config), server_(server), providers_(providers),
        pipeline_(io_, config, server.entryPoints(), server.workerCount(), server.terminating(),
                  server.snapshots()),
        signals_(io_, SIGINT, SIGTERM),
        reloadSignals_(io_, SIGHUP, SIGUSR1),
        timer_(io_) {}
  // The providers' watches (inotify descriptors) live on io_: they go before it does.
  ~Controller() { providers_.clear(); }

  void setStaticWarnings(std::vector<config::ConfigError> warnings) { pipeline_.setStaticWarnings(std::move(warnings)); }

  // The AI gateway's figures for the API and the dashboard (an exchange observer).
  void setGatewayStats(std::shared_ptr<const admin::GatewayStats> stats) { gatewayStats_ = std::move(stats); }

  // Metrics, access log and tracing (null when none is configured).
  void setObservability(std::shared_ptr<observe::Observability> observability) {
    observe_ = std::move(observability);
  }

  int run() {
    // api@internal and dashboard@internal, when `api` is configured.
    std::map<std::string, exchange::HandlerPtr> apiRoutes = {
        {"/apimanagement/portal/export", std::make_shared<gateway::api::PortalExport>()}};
    for (auto& [name, handler] : admin::makeInternalServices(config_, gatewayStats_, std::move(apiRoutes)))
      pipeline_.setInternalService(name, std::move(handler));
    for (auto& provider : providers_)
      if (auto* rest = dynamic_cast<provider::RestProvider*>(provider.get()))
        pipeline_.setInternalService("rest@internal",
                                     std::make_shared<admin::RestHandler>([rest](config::Node root) {
                                       return rest->deliver(std::move(root));
                                     }));
    // The ACME provider answers HTTP-01 through acme-http@internal, TLS-ALPN-01 in the TLS
    // handshake (through the TLS store), and orders what each published configuration's
    // routers want (docs/acme.md).
    for (auto& provider : providers_)
      if (auto* acme = dynamic_cast<provider::AcmeProvider*>(provider.get())) {
        pipeline_.setInternalService("acme-http@internal",
                                     std::make_shared<control::AcmeHttpChallengeService>(acme->state()));
        pipeline_.setAcme(acme->state());
        auto previous = std::move(pipeline_.onPublish);
        pipeline_.onPublish = [this, acme, previous](const runtime::Snapshot& snapshot) {
          if (previous) previous(snapshot);
          acme->request(certificateRequests(snapshot, config_));
        };
      }
    startObservability();  // before the first build: prometheus@internal, reload counters
    // Watches first, then the initial load: a change made while we load is not lost (it
    // triggers a reload once the loop runs; unchanged content is skipped by fingerprint).
    for (auto& provider : providers_) {
      provider->onStatus([this, name = provider->name()](const std::string& error) {
        pipeline_.setProviderError(name, error);
      });
      provider->watch(io_, [this](provider::ProviderConfig config) {
        if (config.shared)
          pipeline_.submit(config.provider, std::move(config.shared), config.fingerprint, std::move(config.notices));
        else
          pipeline_.submit(config.provider, std::move(config.root), config.fingerprint, std::move(config.notices));
      });
    }
    // Initial configuration, before the first connection is accepted.
    for (auto& provider : providers_) {
      provider::LoadResult loaded = provider->load();
      for (const auto& error : loaded.errors) {
        if (error.warning) log::warn(error.toString(), {{"providerName", provider->name()}});
        else log::error(error.toString(), {{"providerName", provider->name()}});
      }
      if (loaded.ok && loaded.config.shared)
        pipeline_.submit(provider->name(), std::move(loaded.config.shared), 0, std::move(loaded.config.notices));
      else if (loaded.ok)
        pipeline_.submit(provider->name(), std::move(loaded.config.root), 0, std::move(loaded.config.notices));
    }
    pipeline_.publishNow();
    server_.start();
    waitTermination();
    waitReload();
    log::info("causeway started", {{"version", kVersion}, {"workers", server_.workerCount()}});
    io_.run();
    server_.stop();
    if (observe_) observe_->stop();
    log::info("causeway stopped");
    return 0;
  }

 private:
  void waitTermination() {
    signals_.async_wait([this](error_code ec, int signal) {
      if (ec) return;
      if (terminating_) {
        log::warn("second signal: stopping now");
        io_.stop();
        return;
      }
      terminating_ = true;
      log::info("shutting down", {{"signal", signal}});
      beginShutdown();
      waitTermination();
    });
  }

  void waitReload() {
    reloadSignals_.async_wait([this](error_code ec, int signal) {
      if (ec) return;
      if (signal == SIGHUP) {
        log::info("SIGHUP: re-reading the configuration and the files it points to");
        for (auto& provider : providers_) provider->reload();
        // Certificates and other referenced files may have changed without the configuration.
        asio::post(io_, [this] { pipeline_.forceRebuild(); });
      } else {
        log::reopen();
        if (observe_) observe_->reopenLogs();
      }
      waitReload();
    });
  }

  // prometheus@internal, the reload counters, the access-log writer and the span exporter.
  void startObservability() {
    if (!observe_) return;
    auto openConnections = [this] {
      std::vector<std::pair<std::pair<std::string, std::string>, int64_t>> counts;
      for (const auto& ep : server_.entryPoints()) {
        counts.push_back({{ep.name, ep.udp ? "UDP" : "TCP"}, server_.openConnections(ep.index)});
        if (ep.http3) counts.push_back({{ep.name, "UDP"}, server_.openConnections(ep.index, true)});  // QUIC
      }
      return counts;
    };
    if (auto prometheus = observe_->prometheusService(openConnections, &pipeline_.health()))
      pipeline_.setInternalService("prometheus@internal", std::move(prometheus));
    auto previous = std::move(pipeline_.onPublish);
    pipeline_.onPublish = [this, previous](const runtime::Snapshot& snapshot) {
      if (previous) previous(snapshot);
      observe_->configPublished(snapshot);
    };
    std::string error;
    observe_->start(error);
  }

  void beginShutdown() {
    server_.beginTermination();
    std::chrono::nanoseconds acceptGrace{0}, grace{0};
    for (const auto& ep : server_.entryPoints()) {
      acceptGrace = std::max(acceptGrace, ep.requestAcceptGraceTimeout);
      grace = std::max(grace, ep.graceTimeout);
    }
    timer_.expires_after(acceptGrace);
    timer_.async_wait([this, grace](error_code ec) {
      if (ec) return;
      server_.stopAccepting();
      server_.drain();
      deadline_ = Clock::now() + grace;
      pollDrained();
    });
  }

  void pollDrained() {
    if (server_.activeConnections() == 0 || Clock::now() >= deadline_) {
      if (server_.activeConnections() > 0)
        log::warn("grace period over: closing remaining connections",
                  {{"connections", server_.activeConnections()}});
      io_.stop();
      return;
    }
    timer_.expires_after(std::chrono::milliseconds(20));
    timer_.async_wait([this](error_code ec) {
      if (!ec) pollDrained();
    });
  }

  asio::io_context io_;
  const config::StaticConfig& config_;
  control::Server& server_;
  std::vector<std::unique_ptr<provider::Provider>>& providers_;
  control::ConfigPipeline pipeline_;
  asio::signal_set signals_;
  asio::signal_set reloadSignals_;
  asio::steady_timer timer_;
  bool terminating_ = false;
  Clock::time_point deadline_{};
  std::shared_ptr<observe::Observability> observe_;
  std::shared_ptr<const admin::GatewayStats> gatewayStats_;
};

}  // namespace

int runCommand(const CommandLine& cl) {
  std::string configFile;
  std::vector<config::ConfigError> warnings;
  auto config = loadStatic(cl, &configFile, &warnings);
  if (!config) return 1;
  if (!setupLogging(*config)) return 1;
  if (!configFile.empty()) log::info("static configuration loaded", {{"file", configFile}});

  std::vector<config::ConfigError> errors;
  auto entryPoints = control::resolveEntryPoints(*config, errors);
  auto providers = makeProviders(*config, errors);
  bool failed = false;
  for (auto& error : errors) {
    if (error.warning) {
      warnings.push_back(std::move(error));
    } else {
      std::cerr << error.toString() << "\n";
      failed = true;
    }
  }
  logWarnings(warnings);
  if (failed) return 1;

  std::signal(SIGPIPE, SIG_IGN);

  control::Server server(*config, std::move(entryPoints));
  std::string error;
  if (!server.bind(error)) {
    std::cerr << error << "\n";
    log::error(error);
    return 1;
  }
  for (const auto& ep : server.entryPoints())
    log::info("entryPoint listening", {{"entryPoint", ep.name}, {"address", ep.address}});
  std::vector<std::string> observeWarnings, observeErrors;
  auto observability =
      observe::Observability::create(*config, server.entryPoints(), server.workerCount(), observeWarnings, observeErrors);
  for (const auto& warning : observeWarnings) log::warn(warning);
  if (!observeErrors.empty()) {
    for (const auto& e : observeErrors) {
      std::cerr << e << "\n";
      log::error(e);
    }
    return 1;
  }
  if (observability) server.addObserver(observability);
  auto gatewayStats = std::make_shared<admin::GatewayStats>();
  server.addObserver(gatewayStats);
  Controller controller(*config, server, providers);
  controller.setGatewayStats(gatewayStats);
  controller.setObservability(std::move(observability));
  controller.setStaticWarnings(std::move(warnings));
  return controller.run();
}

}  // namespace causeway::app
