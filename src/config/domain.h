// A certificate domain, shared by entry point and router TLS settings and TLS stores.
#pragma once

#include <string>
#include <vector>

namespace causeway::config {

struct Domain {
  std::string main;              // main domain name (may be a wildcard)
  std::vector<std::string> sans; // subject alternative names

  static void describe(auto& self, auto& v) {
    v("main", self.main);
    v("sans", self.sans);
  }
};

} // namespace causeway::config
