// Which certificates the routers of a published configuration want from the ACME provider
// (docs/acme.md): per router with a certResolver (its own tls.certResolver, else its
// entryPoint's http.tls.certResolver), one certificate per tls.domains entry (main + sans),
// else one for the literal Host() names of its rule (HostSNI for TCP routers), as Traefik
// asks. Wildcard names need DNS-01 and are left out.
#pragma once

#include <vector>

#include "config/static_config.h"
#include "provider/acme/acme_provider.h"
#include "runtime/snapshot.h"

namespace causeway::app {

std::vector<provider::CertificateRequest> certificateRequests(const runtime::Snapshot& snapshot,
                                                              const config::StaticConfig& config);

}  // namespace causeway::app
