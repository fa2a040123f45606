// A router's `tls` section, shared by HTTP and TCP routers (reference §2.1, §2.4).
#pragma once

#include <string>
#include <vector>

#include "config/domain.h"

namespace causeway::config {

struct RouterTls {
  std::string options; // empty → "default"
  std::string certResolver;
  std::vector<Domain> domains;

  static void describe(auto& self, auto& v) {
    v("options", self.options);
    v("certResolver", self.certResolver);
    v("domains", self.domains);
  }
};

} // namespace causeway::config
