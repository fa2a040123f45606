// The long-lived health state of every loadBalancer server, keyed by qualified service name
// and server URL (design: "state that must outlive a reload lives in registries"). The
// ConfigPipeline owns one; every snapshot build asks it for the ServerHealth of each server,
// so a reload keeps the status and the running checks of servers that stay.
//
// Active health checks run here, once per process, on the control thread's io_context (never
// on a worker): one loop per server, waiting `interval` while the server is UP and
// `unhealthyInterval` while it is DOWN (the first check comes one interval after the server
// appears, as in Traefik). Transitions are logged.
//
// Threads: beginBuild/server/setActiveCheck/commitBuild run on the control thread (snapshot
// builds); serverStatus may be called from any thread (API, metrics).
#pragma once

#include <map>
#include <unordered_map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "io/asio.h"
#include "upstream/health/probe.h"
#include "upstream/health/state.h"

namespace causeway::upstream {

class HealthRegistry {
 public:
  explicit HealthRegistry(asio::io_context& control);
  ~HealthRegistry();
  HealthRegistry(const HealthRegistry&) = delete;
  HealthRegistry& operator=(const HealthRegistry&) = delete;

  // Starts a build: entries not asked for before commitBuild() are dropped then.
  void beginBuild();
  // The health of `url` in `service`, created UP the first time.
  ServerHealthPtr server(const std::string& service, const std::string& url);
  // The active check of that server for this build (nullopt: none). An unchanged check keeps
  // running untouched; a changed one applies from its next wait; a removed one stops and
  // the server is UP again as far as active checks go.
  void setActiveCheck(const std::string& service, const std::string& url,
                      std::optional<ProbeConfig> probe);
  // Ends a build: stops the checks of servers that are gone and starts the new ones.
  void commitBuild();

  // Live status of a service's servers: URL → "UP" / "DOWN" (Traefik's serverStatus, the
  // value behind traefik_service_server_up). Empty for unknown services.
  std::map<std::string, std::string> serverStatus(const std::string& service) const;
  // Number of running active check loops (tests, diagnostics).
  size_t activeChecks() const;

  struct CheckLoop;  // one server's check loop (internal)

 private:
  struct Entry {
    ServerHealthPtr health;
    std::shared_ptr<CheckLoop> loop;  // null: no active check
    bool used = false;
  };
  void stop(Entry& entry);

  asio::io_context& control_;
  mutable std::mutex mutex_;
  struct Servers {
    std::shared_ptr<const std::string> name;  // shared by the servers' health records
    // url → entry. A key views its own entry's health->url(): a URL is held once.
    std::unordered_map<std::string_view, Entry> byUrl;
  };
  // service → its servers. Hashed, and looked up without copying the names: a build asks for
  // every server of every load balancer (20,000 lookups for 5,000 Kubernetes routes).
  std::unordered_map<std::string, Servers> services_;
};

}  // namespace causeway::upstream
