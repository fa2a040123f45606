// The developer portal (portal.cpp): apiportal@internal, made by the snapshot build through the
// internal middleware type `apiPortal`, and the export of what its users wrote, which the REST
// API serves at /api/apimanagement/portal/export (docs/api-management.md).
#pragma once

#include "exchange/handler.h"

namespace causeway::gateway::api {

// GET: the portal store's applications, keys (SHA-256 only) and subscriptions as
// ManagedApplication and ManagedSubscription resources in YAML, for a file provider's file.
class PortalExport final : public exchange::Handler {
 public:
  awaitable<void> handle(exchange::Exchange& ex) const override;
};

}  // namespace causeway::gateway::api
