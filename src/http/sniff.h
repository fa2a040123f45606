// Go's http.DetectContentType (the WHATWG MIME sniffing subset Go implements): looks at most
// at the first 512 bytes and always returns a type, "application/octet-stream" when nothing
// more specific matches. Pure.
#pragma once

#include <string_view>

namespace causeway::http {

inline constexpr size_t kSniffLength = 512;

std::string_view detectContentType(std::string_view data);

}  // namespace causeway::http
