// How much a transfer reads at a time once it is a stream. Each write to a peer wakes it, and on
// a virtual machine the wake-up (an interrupt to another CPU and a VM exit) is most of the cost
// of a write: with 32 KiB writes it was a fifth of the proxy's CPU in a TLS stream
// (docs/benchmarks.md, "TCP forwarding"). So a transfer whose reads fill its usual buffer reads
// kStreamRead at a time, and goes back to its usual buffer when the socket holds less than that
// buffer (the wait for the next bytes does not hold the large one). Used by the TCP routers'
// copy between streams that cannot splice (service/tcp_service.cpp), by HTTP/1.1 response
// bodies (upstream/h1_client.cpp) and by TLS streams' ciphertext (tls/tls_stream.cpp).
#pragma once

#include <cstddef>

#include "io/asio.h"

namespace causeway::io {

inline constexpr size_t kStreamRead = 256 * 1024;

// Bytes `socket` holds, not yet read (0 when it cannot tell).
inline size_t queuedBytes(tcp::socket& socket) {
  error_code ec;
  size_t n = socket.available(ec);
  return ec ? 0 : n;
}

}  // namespace causeway::io
