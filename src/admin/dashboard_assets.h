// The web dashboard's files (web/, built with Vite at build time), embedded in the binary by
// cmake/dashboard.cmake: no file is read at run time and nothing is fetched by the browser
// from anywhere else, so the dashboard works offline.
#pragma once

#include <cstddef>
#include <string_view>

#include "exchange/embedded_file.h"

namespace causeway::admin {

using DashboardAsset = exchange::EmbeddedFile;

// The generated table (build/…/generated/admin/dashboard_assets.cpp).
extern const DashboardAsset kDashboardAssets[];
extern const size_t kDashboardAssetCount;

// The asset at `path` ("" means index.html); nullptr when there is none.
const DashboardAsset* findDashboardAsset(std::string_view path);

}  // namespace causeway::admin
