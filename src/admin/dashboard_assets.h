// The web dashboard's files (web/, built with Vite at build time), embedded in the binary by
// cmake/dashboard.cmake: no file is read at run time and nothing is fetched by the browser
// from anywhere else, so the dashboard works offline.
#pragma once

#include <cstddef>
#include <string_view>

namespace causeway::admin {

struct DashboardAsset {
  std::string_view path;         // relative to /dashboard/, e.g. "index.html", "assets/index-x1y2.js"
  std::string_view contentType;  // "text/html; charset=utf-8", ...
  std::string_view etag;         // quoted strong ETag, from the content's hash
  const unsigned char* data;
  size_t size;
  bool immutable;                // name carries a content hash (Vite's assets/): cache for long
};

// The generated table (build/…/generated/admin/dashboard_assets.cpp).
extern const DashboardAsset kDashboardAssets[];
extern const size_t kDashboardAssetCount;

// The asset at `path` ("" means index.html); nullptr when there is none.
const DashboardAsset* findDashboardAsset(std::string_view path);

}  // namespace causeway::admin
