// Where an API's OpenAPI document is read (docs/api-management.md): Hub's openApiSpec `url`,
// causeway's `file`, or Hub's `path`, the document served by the API's own service. A `path` is
// resolved against the service of a router that publishes the API (config::ApiCatalog::
// serviceUrls) and read as a `url` from then on, by the api middleware's contract and by the
// developer portal alike.
#pragma once

#include <string>

#include "config/api_management.h"
#include "config/node.h"
#include "exchange/middleware_registry.h"

namespace causeway::gateway::api {

// The URL of the service publishing `published` (an APIVersion or an API, qualified), else that
// of `api`'s; null when no router publishes either through a loadBalancer service.
const std::string* serviceUrlOf(const config::ApiCatalog& catalog, const std::string& published, const std::string& api);

// `spec` (an openApiSpec block) with `path` replaced by the `url` it names on `serviceUrl`.
// False, with an error in `context` at the path's location, when there is a path but no URL.
bool resolveDocumentPath(config::Node& spec, const std::string* serviceUrl, exchange::MiddlewareBuildContext& context);

}  // namespace causeway::gateway::api
