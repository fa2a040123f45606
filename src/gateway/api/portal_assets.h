// The developer portal's page files (web/portal/, built with Vite at build time), embedded in
// the binary by cmake/dashboard.cmake like the dashboard's: the portal works offline.
#pragma once

#include <cstddef>
#include <string_view>

#include "exchange/embedded_file.h"

namespace causeway::gateway::api {

using PortalAsset = exchange::EmbeddedFile;

// The generated table (build/…/generated/gateway/portal_assets.cpp).
extern const PortalAsset kPortalAssets[];
extern const size_t kPortalAssetCount;

// The asset at `path`; nullptr when there is none.
const PortalAsset* findPortalAsset(std::string_view path);

}  // namespace causeway::gateway::api
