// The runtime view of the dynamic configuration that the API, the dashboard and
// `causeway check` show: every router, service and middleware with its status and errors
// (Traefik's runtime.*Info with AddError).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace causeway::config {
class Node;
}

namespace causeway::upstream {
class ServerHealth;
}  // namespace causeway::upstream

namespace causeway::runtime {

enum class ElementStatus { Enabled, Warning, Disabled };
const char* statusName(ElementStatus status);  // "enabled", "warning", "disabled"

struct ElementState {
  std::string provider;
  ElementStatus status = ElementStatus::Enabled;
  std::vector<std::string> errors;  // "file:line: what went wrong"
  // Some error is about a Traefik option causeway does not implement yet (`causeway check`
  // exits with a distinct status for those; docs/compatibility.md).
  bool unsupported = false;
  void addError(std::string message, bool critical = true) {
    errors.push_back(std::move(message));
    if (critical) status = ElementStatus::Disabled;
    else if (status == ElementStatus::Enabled) status = ElementStatus::Warning;
  }
  void addUnsupported(std::string message, bool critical) {
    addError(std::move(message), critical);
    unsupported = true;
  }
};

struct RouterState : ElementState {
  std::string rule;
  std::string service;
  int64_t priority = 0;
  std::vector<std::string> entryPoints;  // effective ("using")
  std::vector<std::string> middlewares;  // qualified, in order
  bool tls = false;
  bool passthrough = false;  // TCP routers
};

struct ServiceState : ElementState {
  std::string type;                      // "loadbalancer", "weighted", ...
  std::vector<std::string> usedBy;
  // url → "UP"/"DOWN" as built, for services without health records (TCP and UDP); a
  // loadBalancer's comes from `servers`, live.
  std::map<std::string, std::string> serverStatus;
  // loadBalancer servers in order, for their live status (API, dashboard).
  std::vector<std::shared_ptr<const upstream::ServerHealth>> servers;

  // url → "UP"/"DOWN": the servers' live status, else serverStatus.
  std::map<std::string, std::string> currentServerStatus() const;
};

struct MiddlewareState : ElementState {
  std::string type;
  std::vector<std::string> usedBy;
  // Options of middlewares causeway creates itself (@internal), for the API; the others'
  // come from Snapshot::configs.
  std::shared_ptr<const config::Node> internalOptions;
};

// An API management resource (config/api_management.h); its status and errors are its
// conditions in the API and the dashboard.
struct ApiResourceState : ElementState {
  std::string kind;                   // "apis", "apiPlans", … (the apiManagement key)
  std::vector<std::string> usedBy;    // APIs: the api middlewares publishing it; plans, applications: subscriptions
};

struct RuntimeState {
  std::map<std::string, RouterState> routers;          // by qualified name
  std::map<std::string, ServiceState> services;
  std::map<std::string, MiddlewareState> middlewares;
  // The tcp section (docs/tcp-udp.md); serverStatus is keyed by address.
  std::map<std::string, RouterState> tcpRouters;
  std::map<std::string, ServiceState> tcpServices;
  std::map<std::string, MiddlewareState> tcpMiddlewares;
  std::map<std::string, RouterState> udpRouters;
  std::map<std::string, ServiceState> udpServices;
  // API management resources by kind, then qualified name.
  std::map<std::string, std::map<std::string, ApiResourceState>> apiResources;
  std::vector<std::string> globalErrors;               // not tied to one element (e.g. unparsable file)
  // Warnings not tied to one element, with their location: options of the static and dynamic
  // configuration that causeway ignores, sources that were not read. Shown by the API
  // (/api/warnings) and the dashboard.
  struct Notice {
    std::string location;  // "conf/dyn.yml:12:5", "command line --log.level", or ""
    std::string message;
    bool unsupported = false;
  };
  std::vector<Notice> warnings;
  // Each provider as the pipeline sees it: when its configuration last changed (Unix seconds;
  // 0: never read) and why it cannot read its source now ("" when it can). Shown by
  // /api/overview (providerStatus) and the dashboard.
  struct ProviderStatus {
    int64_t lastUpdate = 0;
    std::string lastError;
  };
  std::map<std::string, ProviderStatus> providers;
};

}  // namespace causeway::runtime
