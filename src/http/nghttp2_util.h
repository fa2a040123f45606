// nghttp2 helpers shared by the HTTP/2 codecs (downstream connection, upstream client,
// health probe). Pure: no I/O.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace causeway::http {

// A header field viewing `name` and `value` (no copy: both must outlive the submit call).
inline nghttp2_nv makeNv(std::string_view name, std::string_view value) {
  nghttp2_nv nv;
  nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(name.data()));
  nv.namelen = name.size();
  nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(value.data()));
  nv.valuelen = value.size();
  nv.flags = NGHTTP2_NV_FLAG_NONE;
  return nv;
}

// Appends the frames the session has ready to `out`, stopping once `out` holds `limit` bytes
// or more (one write's worth). Returns 0, or nghttp2's (negative) error code.
inline int takeFrames(nghttp2_session* session, std::string& out, size_t limit = SIZE_MAX) {
  while (out.size() < limit) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session, &data);
    if (n < 0) return int(n);
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), size_t(n));
  }
  return 0;
}

}  // namespace causeway::http
