#include "runtime/runtime_state.h"

#include "upstream/health/state.h"

namespace causeway::runtime {

const char* statusName(ElementStatus status) {
  switch (status) {
    case ElementStatus::Enabled: return "enabled";
    case ElementStatus::Warning: return "warning";
    case ElementStatus::Disabled: return "disabled";
  }
  return "unknown";
}

std::map<std::string, std::string> ServiceState::currentServerStatus() const {
  if (servers.empty()) return serverStatus;
  std::map<std::string, std::string> status;
  for (const auto& server : servers)
    if (server) status[server->url()] = server->up() ? "UP" : "DOWN";
  return status;
}

}  // namespace causeway::runtime
