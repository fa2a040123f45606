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
  void addError(std::string message, bool critical = true) {
    errors.push_back(std::move(message));
    if (critical) status = ElementStatus::Disabled;
    else if (status == ElementStatus::Enabled) status = ElementStatus::Warning;
  }
};

struct RouterState : ElementState {
  std::string rule;
  std::string service;
  int64_t priority = 0;
  std::vector<std::string> entryPoints;  // effective ("using")
  std::vector<std::string> middlewares;  // qualified, in order
  bool tls = false;
};

struct ServiceState : ElementState {
  std::string type;                      // "loadbalancer", "weighted", ...
  std::vector<std::string> usedBy;
  std::map<std::string, std::string> serverStatus;  // url → "UP"/"DOWN" when built
  // loadBalancer servers in order, for their live status (API, dashboard).
  std::vector<std::shared_ptr<const upstream::ServerHealth>> servers;
};

struct MiddlewareState : ElementState {
  std::string type;
  std::vector<std::string> usedBy;
  // Options of middlewares causeway creates itself (@internal), for the API; the others'
  // come from Snapshot::configs.
  std::shared_ptr<const config::Node> internalOptions;
};

struct RuntimeState {
  std::map<std::string, RouterState> routers;          // by qualified name
  std::map<std::string, ServiceState> services;
  std::map<std::string, MiddlewareState> middlewares;
  std::vector<std::string> globalErrors;               // not tied to one element (e.g. unparsable file)
};

}  // namespace causeway::runtime
