#include "runtime/snapshot.h"

namespace causeway::runtime {

bool EntryPointRoutes::httpsHostMatches(std::string_view serverName) const {
  if (serverName.empty()) return false;
  size_t dot = serverName.find('.');
  for (const std::string& host : httpsHosts) {
    if (host == serverName) return true;
    // "*.example.com" covers exactly one label before "example.com".
    if (host.starts_with("*.") && dot != std::string_view::npos && dot > 0 && serverName.substr(dot) == host.substr(1))
      return true;
  }
  return false;
}

}  // namespace causeway::runtime
