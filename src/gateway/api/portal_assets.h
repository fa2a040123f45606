// The developer portal's page files (web/portal/, built with Vite at build time), embedded in
// the binary by cmake/dashboard.cmake like the dashboard's: the portal works offline.
#pragma once

#include <cstddef>
#include <string_view>

namespace causeway::gateway::api {

struct PortalAsset {
  std::string_view path;         // relative to the portal's path, e.g. "index.html", "assets/index-x1y2.js"
  std::string_view contentType;
  std::string_view etag;         // quoted strong ETag, from the content's hash
  const unsigned char* data;
  size_t size;
  bool immutable;                // name carries a content hash (Vite's assets/)
};

// The generated table (build/…/generated/gateway/portal_assets.cpp).
extern const PortalAsset kPortalAssets[];
extern const size_t kPortalAssetCount;

// The asset at `path`; nullptr when there is none.
const PortalAsset* findPortalAsset(std::string_view path);

}  // namespace causeway::gateway::api
