#include "control/service_builder.h"

#include <algorithm>

#include "core/strings.h"
#include "http/status_ranges.h"
#include "service/failover.h"
#include "service/load_balancer.h"
#include "service/mirroring.h"
#include "service/weighted.h"
#include "upstream/health/registry.h"

namespace causeway::control {
namespace {

uint64_t mix(uint64_t hash, const void* pointer) {
  return (hash ^ reinterpret_cast<uintptr_t>(pointer)) * 1099511628211ull + 0x9E3779B97F4A7C15ull;
}

const char* strategyLabel(service::BalancerStrategy strategy) {
  switch (strategy) {
  case service::BalancerStrategy::Wrr:
    return "WRR";
  case service::BalancerStrategy::P2c:
    return "P2C";
  case service::BalancerStrategy::Hrw:
    return "HRW";
  case service::BalancerStrategy::LeastTime:
    return "LeastTime";
  }
  return "WRR";
}

const char* typeOf(const config::Service& service) {
  if (service.loadBalancer) return "loadbalancer";
  if (service.weighted) return "weighted";
  if (service.mirroring) return "mirroring";
  if (service.failover) return "failover";
  if (service.highestRandomWeight) return "highestrandomweight";
  return "";
}

class GraphBuilder {
 public:
  GraphBuilder(ServiceBuildEnv& env, std::map<std::string, exchange::HandlerPtr>& services)
      : env_(env), services_(services), health_(env.in.health) {}

  void run() {
    for (const auto& [provider, config] : env_.in.providers)
      for (const auto& [name, element] : config->http.services)
        configs_[qualify(name, provider)] = Config{provider, &element};
    for (const auto& [qualified, config] : configs_)
      resolve(qualified);
  }

 private:
  struct Config {
    std::string provider;
    const config::Element<config::Service>* element;
  };
  struct Built {
    bool ok = false;
    exchange::HandlerPtr handler;       // what routers and parents call (service middlewares included)
    service::ServiceHandlerPtr core;   // the service itself, for its status; null for internal services
    std::string statusError;  // why a parent with healthCheck cannot watch it ("": it can)
  };

  // The built service `qualified`, building it first if needed; nullptr when it does not exist.
  const Built* resolve(const std::string& qualified) {
    if (auto it = built_.find(qualified); it != built_.end()) return &it->second;
    auto config = configs_.find(qualified);
    if (config == configs_.end()) {
      auto internal = services_.find(qualified);
      if (internal == services_.end()) return nullptr;
      Built& built = built_[qualified];
      built.ok = true;
      built.handler = internal->second;
      return &built;
    }
    if (auto at = std::find(stack_.begin(), stack_.end(), qualified); at != stack_.end()) {
      std::string path;
      for (auto it = at; it != stack_.end(); ++it)
        path += "service:" + *it + "->";
      path += "service:" + qualified;
      std::string message =
          "could not instantiate service " + qualified + ": recursion detected in " + path;
      for (auto it = at; it != stack_.end(); ++it)
        cycles_.emplace(*it, message);
      return &failed_;
    }
    stack_.push_back(qualified);
    Built built = build(qualified, config->second);
    stack_.pop_back();
    if (auto cycle = cycles_.find(qualified); cycle != cycles_.end()) {
      env_.runtime.services[qualified].addError(cycle->second);
      built = Built();
    }
    if (built.ok) services_[qualified] = built.handler;
    return &built_.emplace(qualified, std::move(built)).first->second;
  }

  Built build(const std::string& qualified, const Config& config) {
    const config::Element<config::Service>& element = *config.element;
    runtime::ServiceState& state = env_.runtime.services[qualified];
    state.provider = config.provider;
    state.type = typeOf(element.value);
    for (const auto& e : element.errors) {
      if (e.message.starts_with(config::kServiceWithoutType))
        state.addError(e.location.toString() + ": the service \"" + qualified + "\" " + e.message, !e.warning);
      else
        state.addError(e.toString(), !e.warning);
    }
    if (!element.ok()) return {};
    const config::Service& service = element.value;
    Built built;
    if (service.loadBalancer)
      built = buildLoadBalancer(qualified, config.provider, element, state);
    else if (service.weighted)
      built = buildWeighted(qualified, config.provider, element, state);
    else if (service.highestRandomWeight)
      built = buildHighestRandomWeight(qualified, config.provider, element, state);
    else if (service.mirroring)
      built = buildMirroring(qualified, config.provider, element, state);
    else if (service.failover)
      built = buildFailover(qualified, config.provider, element, state);
    if (!built.ok || service.middlewares.empty() || !env_.wrapMiddlewares) return built;
    std::string error;
    if (!env_.wrapMiddlewares(qualified, config.provider, service.middlewares, built.handler,
                              error)) {
      state.addError(error);
      return {};
    }
    return built;
  }

  // A child service; nullptr (with the error on `state`) when it is missing or broken.
  const Built* child(const std::string& parent, const std::string& provider,
                     const std::string& name, runtime::ServiceState& state, const std::string& where) {
    std::string qualified = qualify(name, provider);
    const Built* built = resolve(qualified);
    if (!built) {
      state.addError(where + "the service \"" + qualified + "\" does not exist");
      return nullptr;
    }
    if (!built->ok) {
      if (!cycles_.count(parent))
        state.addError(where + "the service \"" + qualified + "\" has errors");
      return nullptr;
    }
    return built;
  }

  // Whether `parent` can watch the status of `child` (Traefik's RegisterStatusUpdater).
  static bool watchable(const std::string& parent, const std::string& name, const Built& child,
                        std::string& error) {
    if (!child.core) {
      error = "child service " + name + " of " + parent + " not a healthcheck.StatusUpdater";
      return false;
    }
    if (!child.statusError.empty()) {
      error = "cannot register " + name + " as updater for " + parent + ": " + child.statusError;
      return false;
    }
    return true;
  }

  template <class T>
  std::shared_ptr<const T> cached(const std::string& qualified, uint64_t key) const {
    auto it = env_.cache.find(qualified);
    if (it == env_.cache.end() || it->second.first != key) return nullptr;
    return std::dynamic_pointer_cast<const T>(it->second.second);
  }

  uint64_t transportFingerprint(const std::string& qualified) const {
    size_t at = qualified.rfind('@');
    if (at == std::string::npos) return 0;
    auto it = env_.in.providers.find(qualified.substr(at + 1));
    if (it == env_.in.providers.end()) return 0x5157;  // default@internal: static, never changes
    auto t = it->second->http.serversTransports.find(qualified.substr(0, at));
    return t == it->second->http.serversTransports.end() ? 0 : t->second.fingerprint;
  }

  // --- loadBalancer ---------------------------------------------------------------------
  Built buildLoadBalancer(const std::string& qualified, const std::string& provider,
                          const config::Element<config::Service>& element, runtime::ServiceState& state) {
    const config::LoadBalancer& lb = *element.value.loadBalancer;
    const std::string where = locationPrefix(element.location);
    std::string transportName =
        lb.serversTransport.empty() ? "default@internal" : qualify(lb.serversTransport, provider);
    auto transport = env_.transports.find(transportName);
    if (transport == env_.transports.end()) {
      auto broken = env_.transportErrors.find(transportName);
      state.addError(where + "servers transport \"" + transportName + "\" " +
                     (broken != env_.transportErrors.end() ? "has errors: " + broken->second
                                                           : "does not exist"));
      return {};
    }
    auto strategy = service::parseBalancerStrategy(lb.strategy);
    if (!strategy) {
      state.addError(where + "unsupported load-balancer strategy \"" + lb.strategy + "\"");
      return {};
    }

    // Active health check: which servers get one, and how.
    const config::Box<config::ServerHealthCheck>& check = lb.healthCheck;
    bool runChecks = check.has_value();
    // mode grpc calls grpc.health.v1.Health/Check over HTTP/2; h2c servers (or scheme h2c)
    // get their HTTP check over HTTP/2 with prior knowledge (health_probe.h).
    if (check && !check->scheme.empty() && !iequals(check->scheme, "http") &&
        !iequals(check->scheme, "https") && !iequals(check->scheme, "h2c")) {
      state.addError(where + "healthCheck scheme \"" + check->scheme +
                         "\" is not supported (http, https or h2c); the servers are not checked",
                     false);
      runChecks = false;
    }

    uint64_t key = element.fingerprint ^ (std::hash<std::string>{}(transportName)*31) ^
                   transportFingerprint(transportName);
    // Unchanged and without active checks: the previous service, without parsing its servers'
    // URLs again (a large Kubernetes configuration changes one service at a time).
    if (!runChecks)
      if (auto reused = cached<service::LoadBalancerService>(qualified, key);
          reused && reused->servers().size() == lb.servers.size()) {
        bool same = true;
        for (size_t i = 0; health_ && same && i < lb.servers.size(); ++i)
          same = reused->servers()[i].health == health_->server(qualified, lb.servers[i].url);
        if (same) {
          if (health_)
            for (const auto& server : lb.servers) health_->setActiveCheck(qualified, server.url, std::nullopt);
          Built built;
          built.ok = true;
          if (!check)
            built.statusError = std::string("healthCheck not enabled in config for this ") +
                                strategyLabel(*strategy) + " service";
          for (const auto& server : reused->servers()) {
            state.servers.push_back(server.health);
          }
          built.core = reused;
          built.handler = reused;
          return built;
        }
      }

    std::vector<service::BalancedServer> servers;
    std::vector<std::optional<upstream::ProbeConfig>> probes;
    bool warned = false;
    for (const auto& server : lb.servers) {
      service::BalancedServer balanced;
      std::string error;
      if (!upstream::makeEndpoint(server.url, transport->second, balanced.endpoint, error)) {
        state.addError(where + error);
        return {};
      }
      std::optional<upstream::ProbeConfig> probe;
      if (runChecks) {
        std::vector<std::string> warnings;
        probe.emplace();
        if (!upstream::makeProbeConfig(*check, server.url, *probe, error, warnings)) {
          state.addError(where + "healthCheck: " + error);
          return {};
        }
        probe->transport = transport->second;
        if (!warned)
          for (const auto& warning : warnings)
            state.addError(where + "healthCheck: " + warning, false);
        warned = true;
      }
      balanced.weight = server.effectiveWeight();
      balanced.preservePath = server.preservePath;
      if (health_) balanced.health = health_->server(qualified, server.url);
      servers.push_back(std::move(balanced));
      probes.push_back(std::move(probe));
    }
    if (health_)
      for (size_t i = 0; i < servers.size(); ++i)
        health_->setActiveCheck(qualified, lb.servers[i].url, probes[i]);

    Built built;
    built.ok = true;
    if (!check)
      built.statusError = std::string("healthCheck not enabled in config for this ") +
                          strategyLabel(*strategy) + " service";

    if (auto reused = cached<service::LoadBalancerService>(qualified, key)) {
      // With a registry, reusable only while it reads the registry's current health
      // entries; without one, its own entries are the service's health.
      bool same = reused->servers().size() == servers.size();
      for (size_t i = 0; health_ && same && i < servers.size(); ++i)
        same = reused->servers()[i].health == servers[i].health;
      if (same) {
        for (const auto& server : reused->servers()) {
          state.servers.push_back(server.health);
        }
        built.core = reused;
        built.handler = reused;
        return built;
      }
    }
    for (auto& server : servers) {
      if (!server.health)
        server.health = std::make_shared<upstream::ServerHealth>(qualified, server.endpoint.url);
      state.servers.push_back(server.health);
    }

    service::LoadBalancerOptions options;
    options.strategy = *strategy;
    options.forward.passHostHeader = lb.passHostHeader;
    options.forward.appendXForwardedFor = !env_.in.staticConfig->global.notAppendXForwardedFor;
    options.workers = env_.in.workers;
    if (lb.sticky && lb.sticky->cookie)
      options.sticky = service::StickyCookieOptions::from(*lb.sticky->cookie, qualified);
    if (lb.passiveHealthCheck) {
      upstream::PassiveHealthOptions passive;
      passive.failureWindow = lb.passiveHealthCheck->failureWindow.value;
      passive.maxFailedAttempts = lb.passiveHealthCheck->maxFailedAttempts;
      passive.activeCheck = runChecks;  // else the window brings servers back
      options.passive = passive;
    }
    auto handler =
        std::make_shared<service::LoadBalancerService>(qualified, std::move(servers), std::move(options));
    env_.cache[qualified] = {key, handler};
    built.core = handler;
    built.handler = handler;
    return built;
  }

  // --- weighted and highestRandomWeight -------------------------------------------------
  bool children(const std::string& qualified, const std::string& provider,
                const std::vector<config::WeightedService>& configured, bool healthCheck,
                runtime::ServiceState& state, const std::string& where, std::vector<service::ServiceChild>& out,
                uint64_t& key) {
    bool ok = true;
    for (const auto& entry : configured) {
      const Built* built = child(qualified, provider, entry.name, state, where);
      if (!built) {
        ok = false;
        continue;
      }
      std::string error;
      if (healthCheck && !watchable(qualified, entry.name, *built, error)) {
        state.addError(where + error);
        ok = false;
        continue;
      }
      out.push_back(service::ServiceChild{entry.name, entry.weight, built->handler, built->core});
      key = mix(mix(key, built->handler.get()), built->core.get());
    }
    return ok;
  }

  Built buildWeighted(const std::string& qualified, const std::string& provider,
                      const config::Element<config::Service>& element, runtime::ServiceState& state) {
    const config::Weighted& weighted = *element.value.weighted;
    const std::string where = locationPrefix(element.location);
    std::vector<service::ServiceChild> list;
    uint64_t key = element.fingerprint * 7 + env_.in.workers;
    bool healthCheck = weighted.healthCheck.has_value();
    if (!children(qualified, provider, weighted.services, healthCheck, state, where, list, key))
      return {};
    Built built;
    built.ok = true;
    if (!healthCheck) built.statusError = "healthCheck not enabled in config for this WRR service";
    auto handler = cached<service::WeightedService>(qualified, key);
    if (!handler) {
      std::optional<service::StickyCookieOptions> sticky;
      if (weighted.sticky && weighted.sticky->cookie)
        sticky = service::StickyCookieOptions::from(*weighted.sticky->cookie, qualified);
      handler = std::make_shared<service::WeightedService>(std::move(list), std::move(sticky), healthCheck,
                                                  env_.in.workers);
      env_.cache[qualified] = {key, handler};
    }
    built.core = handler;
    built.handler = handler;
    return built;
  }

  Built buildHighestRandomWeight(const std::string& qualified, const std::string& provider,
                                 const config::Element<config::Service>& element,
                                 runtime::ServiceState& state) {
    const config::HighestRandomWeight& hrw = *element.value.highestRandomWeight;
    const std::string where = locationPrefix(element.location);
    std::vector<service::ServiceChild> list;
    uint64_t key = element.fingerprint * 11;
    bool healthCheck = hrw.healthCheck.has_value();
    if (!children(qualified, provider, hrw.services, healthCheck, state, where, list, key))
      return {};
    Built built;
    built.ok = true;
    if (!healthCheck) built.statusError = "healthCheck not enabled in config for this HRW service";
    auto handler = cached<service::HighestRandomWeightService>(qualified, key);
    if (!handler) {
      handler = std::make_shared<service::HighestRandomWeightService>(std::move(list), healthCheck);
      env_.cache[qualified] = {key, handler};
    }
    built.core = handler;
    built.handler = handler;
    return built;
  }

  // --- mirroring ------------------------------------------------------------------------
  Built buildMirroring(const std::string& qualified, const std::string& provider,
                       const config::Element<config::Service>& element, runtime::ServiceState& state) {
    const config::Mirroring& mirroring = *element.value.mirroring;
    const std::string where = locationPrefix(element.location);
    const Built* main = child(qualified, provider, mirroring.service, state, where);
    if (!main) return {};
    uint64_t key =
        mix(mix(element.fingerprint * 13 + env_.in.workers, main->handler.get()), main->core.get());
    std::vector<service::MirrorTarget> mirrors;
    bool ok = true;
    for (const auto& mirror : mirroring.mirrors) {
      const Built* built = child(qualified, provider, mirror.name, state, where);
      if (!built) {
        ok = false;
        continue;
      }
      if (mirror.percent < 0 || mirror.percent > 100) {
        state.addError(where + "mirror \"" + mirror.name + "\": percent must be between 0 and 100");
        ok = false;
        continue;
      }
      mirrors.push_back(service::MirrorTarget{mirror.name, mirror.percent, built->handler});
      key = mix(key, built->handler.get());
    }
    if (!ok) return {};
    Built built;
    built.ok = true;
    bool mainWatchable = main->core && main->statusError.empty();
    if (!mirroring.healthCheck)
      built.statusError = "healthCheck not enabled in config for this mirroring service";
    else if (!main->core)
      built.statusError = "service of mirroring not a healthcheck.StatusUpdater";
    else if (!main->statusError.empty())
      built.statusError = "cannot register service of mirroring as updater: " + main->statusError;
    auto handler = cached<service::MirroringService>(qualified, key);
    if (!handler) {
      service::ServiceChild mainChild{mirroring.service, 1, main->handler,
                             mainWatchable ? main->core : nullptr};
      handler = std::make_shared<service::MirroringService>(qualified, std::move(mainChild),
                                                   std::move(mirrors), mirroring.mirrorBody,
                                                   mirroring.maxBodySize, env_.in.workers);
      env_.cache[qualified] = {key, handler};
    }
    built.core = handler;
    built.handler = handler;
    return built;
  }

  // --- failover -------------------------------------------------------------------------
  Built buildFailover(const std::string& qualified, const std::string& provider,
                      const config::Element<config::Service>& element, runtime::ServiceState& state) {
    const config::Failover& failover = *element.value.failover;
    const std::string where = locationPrefix(element.location);
    const Built* main = child(qualified, provider, failover.service, state, where);
    if (!main) return {};
    http::StatusRanges errorStatus;
    if (failover.errors && !failover.errors->status.empty()) {
      std::string error;
      auto parsed = http::parseStatusRanges(failover.errors->status, error);
      if (parsed) errorStatus = std::move(*parsed);
      if (!parsed) {
        state.addError(where + "error creating failover service " + qualified +
                       ": creating HTTP code ranges: " + error);
        return {};
      }
    }
    // Health-driven failover watches the main service; with errors.status alone it may not.
    std::string error;
    bool mainWatched = watchable(qualified, failover.service, *main, error);
    if (!mainWatched && errorStatus.empty()) {
      state.addError(where + error);
      return {};
    }
    const Built* fallback = child(qualified, provider, failover.fallback, state, where);
    if (!fallback) return {};
    // The fallback's status is watched only with healthCheck (then it must be watchable).
    bool fallbackWatched = false;
    if (failover.healthCheck) {
      if (!watchable(qualified, failover.fallback, *fallback, error)) {
        state.addError(where + error);
        return {};
      }
      fallbackWatched = true;
    }
    Built built;
    built.ok = true;
    if (!failover.healthCheck)
      built.statusError = "healthCheck not enabled in config for this failover service";
    int64_t maxBody = failover.errors ? failover.errors->maxRequestBodyBytes : -1;
    uint64_t key = element.fingerprint * 17;
    for (const Built* side : {main, fallback})
      key = mix(mix(key, side->handler.get()), side->core.get());
    auto handler = cached<service::FailoverService>(qualified, key);
    if (!handler) {
      service::ServiceChild mainChild{failover.service, 1, main->handler,
                             mainWatched ? main->core : nullptr};
      service::ServiceChild fallbackChild{failover.fallback, 1, fallback->handler,
                                 fallbackWatched ? fallback->core : nullptr};
      handler = std::make_shared<service::FailoverService>(std::move(mainChild), std::move(fallbackChild),
                                                  std::move(errorStatus), maxBody);
      env_.cache[qualified] = {key, handler};
    }
    built.core = handler;
    built.handler = handler;
    return built;
  }

  ServiceBuildEnv& env_;
  std::map<std::string, exchange::HandlerPtr>& services_;
  upstream::HealthRegistry* health_;
  std::map<std::string, Config> configs_;
  std::map<std::string, Built> built_;
  std::vector<std::string> stack_;
  std::map<std::string, std::string> cycles_;  // service → its recursion error
  Built failed_;                               // what a reference into a cycle resolves to
};

}  // namespace

void buildServiceHandlers(ServiceBuildEnv& env, std::map<std::string, exchange::HandlerPtr>& services) {
  GraphBuilder(env, services).run();
}

}  // namespace causeway::control
