// Builds a Snapshot from the merged dynamic configuration of every provider (design:
// "merge (name@provider) → build Snapshot"). Runs on the control thread, never on a
// worker. Each element is validated on its own: one with an error is disabled, its error
// kept in RuntimeState, and everything else runs.
//
// Reload cost follows the change, not the configuration: compiled rules, services and
// middleware factories are cached by content fingerprint and reused while unchanged; only
// the route tables are re-sorted (O(n log n), no regex compilation).
#pragma once

#include <cstdint>

#include "control/build_inputs.h"
#include "runtime/snapshot.h"

namespace causeway::control {

class SnapshotBuilder {
 public:
  runtime::SnapshotPtr build(const BuildInputs& inputs);
  // The ACME state every TLS store carries from now on (docs/acme.md).
  void setAcme(std::shared_ptr<const tls::AcmeState> acme) { caches_.tls.setAcme(std::move(acme)); }

 private:
  BuildCaches caches_;
  uint64_t generation_ = 0;
};

}  // namespace causeway::control
