// Files built into the binary (the dashboard's and the developer portal's pages, built with Vite
// at build time and written as byte arrays by cmake/embed_dashboard.cmake), and how they are
// served: no file is read at run time, so those pages work offline.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace causeway::exchange {

struct Exchange;

struct EmbeddedFile {
  std::string_view path;         // relative to the page's root, e.g. "index.html", "assets/index-x1y2.js"
  std::string_view contentType;  // "text/html; charset=utf-8", ...
  std::string_view etag;         // quoted strong ETag, from the content's hash
  const unsigned char* data;
  size_t size;
  bool immutable;                // the name carries a content hash (Vite's assets/): cached for long
};

// The file at `path` among `files`; nullptr when there is none.
const EmbeddedFile* findEmbeddedFile(std::span<const EmbeddedFile> files, std::string_view path);

// Answers with `file`: 200 with its content, type, ETag and caching (immutable files for a year,
// the others revalidated so that a new build is seen), or 304 when If-None-Match names it.
// Adds to the response's headers (a middleware's cookies set before stay).
void serveEmbeddedFile(Exchange& ex, const EmbeddedFile& file);

}  // namespace causeway::exchange
