// rest@internal: Traefik's REST provider endpoint (docs/providers.md, "REST"). PUT
// /api/providers/rest with the whole dynamic configuration as JSON (or YAML) hands it to the
// REST provider (provider/rest_provider.h) through `deliver`; any other provider name is 400, as
// in Traefik, a body that does not parse is 400 with the parser's message, and other methods
// are 405. A body over 8 MiB is 413. Element errors (an unknown option, a missing service) are
// reported like any provider's: in the log, the API and the dashboard.
#pragma once

#include <functional>

#include "config/node.h"
#include "exchange/handler.h"

namespace causeway::admin {

class RestHandler final : public exchange::Handler {
 public:
  // `deliver` may be called from any worker; false when the configuration cannot be taken now.
  explicit RestHandler(std::function<bool(config::Node)> deliver) : deliver_(std::move(deliver)) {}
  awaitable<void> handle(exchange::Exchange& ex) const override;

 private:
  std::function<bool(config::Node)> deliver_;
};

}  // namespace causeway::admin
