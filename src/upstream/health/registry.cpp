#include "upstream/health/registry.h"

#include "core/log.h"
#include "io/failures.h"

namespace causeway::upstream {

struct HealthRegistry::CheckLoop {
  CheckLoop(asio::io_context& io, ServerHealthPtr h, ProbeConfig p)
      : timer(io), health(std::move(h)), probe(std::move(p)) {}
  asio::steady_timer timer;
  ServerHealthPtr health;
  ProbeConfig probe;  // replaced on reconfiguration (control thread only)
  bool stopped = false;
  bool reconfigured = false;  // the wait in progress used the previous interval
  bool started = false;
};

namespace {

void logTransition(const ServerHealth& health, bool up, std::string_view why) {
  if (up)
    log::info("server is UP",
              {{"serviceName", health.service()}, {"targetURL", health.url()}, {"reason", why}});
  else
    log::warn("server is DOWN",
              {{"serviceName", health.service()}, {"targetURL", health.url()}, {"reason", why}});
}

}  // namespace

// One server's checks. Holds only shared state, never the registry, so it may outlive it
// until the io_context drops it.
static awaitable<void> runCheckLoop(std::shared_ptr<HealthRegistry::CheckLoop> loop);

HealthRegistry::HealthRegistry(asio::io_context& control) : control_(control) {}

HealthRegistry::~HealthRegistry() {
  std::lock_guard lock(mutex_);
  for (auto& [service, servers] : services_)
    for (auto& [url, entry] : servers.byUrl) stop(entry);
}

void HealthRegistry::beginBuild() {
  std::lock_guard lock(mutex_);
  for (auto& [service, servers] : services_)
    for (auto& [url, entry] : servers.byUrl) entry.used = false;
}

ServerHealthPtr HealthRegistry::server(const std::string& service, const std::string& url) {
  std::lock_guard lock(mutex_);
  Servers& servers = services_[service];  // the name is copied only when inserted
  auto it = servers.byUrl.find(url);
  if (it == servers.byUrl.end()) {
    if (!servers.name) servers.name = std::make_shared<const std::string>(service);
    auto health = std::make_shared<ServerHealth>(servers.name, url);
    health->setControl(&control_);
    std::string_view key = health->url();
    it = servers.byUrl.emplace(key, Entry{std::move(health)}).first;
  }
  it->second.used = true;
  return it->second.health;
}

void HealthRegistry::setActiveCheck(const std::string& service, const std::string& url,
                                    std::optional<ProbeConfig> probe) {
  std::lock_guard lock(mutex_);
  auto servers = services_.find(service);
  if (servers == services_.end()) return;
  auto it = servers->second.byUrl.find(url);
  if (it == servers->second.byUrl.end()) return;
  Entry& entry = it->second;
  if (!probe) {
    if (!entry.loop) return;
    stop(entry);
    if (entry.health->setActiveUp(true) && entry.health->up())
      logTransition(*entry.health, true, "active health check removed");
    return;
  }
  if (!entry.loop) {
    entry.loop = std::make_shared<CheckLoop>(control_, entry.health, std::move(*probe));
    return;
  }
  if (entry.loop->probe == *probe) {
    entry.loop->probe.transport = std::move(probe->transport);  // same settings, new object
    return;
  }
  entry.loop->probe = std::move(*probe);
  entry.loop->reconfigured = true;
  entry.loop->timer.cancel();
}

void HealthRegistry::commitBuild() {
  std::lock_guard lock(mutex_);
  for (auto servers = services_.begin(); servers != services_.end();) {
    auto& byUrl = servers->second.byUrl;
    for (auto it = byUrl.begin(); it != byUrl.end();) {
      Entry& entry = it->second;
      if (!entry.used) {
        stop(entry);
        it = byUrl.erase(it);
        continue;
      }
      if (entry.loop && !entry.loop->started) {
        entry.loop->started = true;
        asio::co_spawn(control_, runCheckLoop(entry.loop), io::logFailures("health check loop failed"));
      }
      ++it;
    }
    servers = byUrl.empty() ? services_.erase(servers) : std::next(servers);
  }
}

void HealthRegistry::stop(Entry& entry) {
  if (!entry.loop) return;
  entry.loop->stopped = true;
  entry.loop->timer.cancel();
  entry.loop.reset();
}

std::map<std::string, std::string> HealthRegistry::serverStatus(const std::string& service) const {
  std::map<std::string, std::string> out;
  std::lock_guard lock(mutex_);
  if (auto servers = services_.find(service); servers != services_.end())
    for (const auto& [url, entry] : servers->second.byUrl) out[std::string(url)] = entry.health->up() ? "UP" : "DOWN";
  return out;
}

size_t HealthRegistry::activeChecks() const {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  for (const auto& [service, servers] : services_)
    for (const auto& [url, entry] : servers.byUrl) n += entry.loop != nullptr;
  return n;
}

static awaitable<void> runCheckLoop(std::shared_ptr<HealthRegistry::CheckLoop> loop) {
  auto executor = co_await asio::this_coro::executor;
  while (!loop->stopped) {
    loop->reconfigured = false;
    loop->timer.expires_after(loop->health->activeUp() ? loop->probe.interval
                                                       : loop->probe.unhealthyInterval);
    co_await loop->timer.async_wait(nothrow);
    if (loop->stopped) break;
    if (loop->reconfigured) continue;  // wait again with the new interval
    ProbeConfig probe = loop->probe;
    std::string error = co_await runProbe(executor, probe);
    if (loop->stopped) break;
    bool up = error.empty();
    if (!up)
      log::warn("Health check failed.", {{"serviceName", loop->health->service()},
                                         {"targetURL", loop->health->url()},
                                         {"error", error}});
    if (loop->health->setActiveUp(up))
      logTransition(*loop->health, up, up ? "active health check succeeded" : error);
  }
}

}  // namespace causeway::upstream
