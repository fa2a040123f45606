// `causeway whoami`: a small HTTP/1.1 upstream in the spirit of traefik/whoami, used by
// the quickstart, the end-to-end tests and the benchmarks.
//
//   /              request line, headers, client address and the server's name
//   /data?size=N   N bytes (streamed; any size)
//   /echo          WebSocket echo (RFC 6455)
//   /health        200, or the status last POSTed to /health
//   /bench         "1" (smallest possible response)
//   any path       ?wait=DURATION delays the answer (e.g. wait=500ms);
//                  ?status=N answers with status N;
//                  a request body is read and its length reported ("Body-Length: N")
#pragma once

#include <cstdint>
#include <string>

namespace causeway::whoami {

struct Options {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string name;
  unsigned threads = 1;
};

// Serves until SIGINT/SIGTERM. Returns the process exit code.
int run(const Options& options);

}  // namespace causeway::whoami
