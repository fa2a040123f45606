// Client TLS towards a peer causeway calls itself (Traefik's types.ClientTLS): an OTLP
// collector, a Redis server, a forwardAuth server. `ca`, `cert` and `key` each hold a file
// path or the PEM text itself.
#pragma once

#include <optional>
#include <string>

namespace causeway::config {

struct ClientTls {
  std::string ca;    // trust roots (none: the system's)
  std::string cert;  // client certificate, with `key`
  std::string key;
  bool insecureSkipVerify = false;
  std::optional<bool> caOptional;  // deprecated in Traefik; accepted and ignored

  static void describe(auto& self, auto& v) {
    v("ca", self.ca);
    v("cert", self.cert);
    v("key", self.key);
    v("insecureSkipVerify", self.insecureSkipVerify);
    v("caOptional", self.caOptional);
  }
};

}  // namespace causeway::config
