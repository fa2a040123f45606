// The HTTP/2 side of the active health checks (probe.h): one request on a fresh
// HTTP/2 connection (prior knowledge over cleartext for h2c, TLS with ALPN h2 for https),
// used by the HTTP check of h2c:// servers and by `mode: grpc` (grpc.health.v1.Health/Check,
// Traefik's checkHealthGRPC). Runs on the control thread, never on a worker; the connection
// is closed after the exchange. The caller bounds the time (runProbe's timeout).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/asio.h"
#include "upstream/health/probe_config.h"

namespace causeway::upstream::h2probe {

struct Request {
  std::string method = "GET";
  std::string scheme = "http";  // :scheme
  std::string authority;
  std::string path = "/";
  std::vector<std::pair<std::string, std::string>> headers;  // names as configured
  std::string body;
};

struct Response {
  int status = 0;                                             // final :status
  std::vector<std::pair<std::string, std::string>> headers;   // lower-case names
  std::vector<std::pair<std::string, std::string>> trailers;  // lower-case names
  std::string body;
  bool reset = false;      // the stream was reset before its end (exchange returns why)
  uint32_t resetCode = 0;  // the HTTP/2 error code
};

// Sends `request` to host:port and reads the answer: up to the final response head when
// `wholeResponse` is false, to the end of the stream (body and trailers) otherwise.
// `transport` carries the TLS settings; null means cleartext. Returns "" on success.
awaitable<std::string> exchange(asio::any_io_executor executor, const std::string& host,
                                uint16_t port, const Transport* transport, const Request& request,
                                bool wholeResponse, Response& response);

// The gRPC check of `probe` (its URL gives scheme, host and port; http and h2c are
// cleartext, https is TLS with ALPN h2). "" when the server answers SERVING.
awaitable<std::string> checkGrpc(asio::any_io_executor executor, const ProbeConfig& probe);

// --- pure helpers (unit tested) ----------------------------------------------------------

// The ServingStatus (field 1, an enum; absent = 0 UNKNOWN) of a gRPC response body holding
// one length-prefixed HealthCheckResponse. False with `error` set when the body is not one
// uncompressed message or the message is not valid protobuf.
bool decodeHealthCheckResponse(std::string_view body, int& status, std::string& error);
// "SERVING", "NOT_SERVING", ... as Go prints the enum (unknown values as their number).
std::string servingStatusName(int status);
// "Unimplemented", "DeadlineExceeded", ... as Go's codes.Code prints them.
std::string grpcCodeName(int code);
// grpc-message is percent-encoded (gRPC over HTTP/2 spec).
std::string decodeGrpcMessage(std::string_view value);
// The gRPC code grpc-go gives a response whose HTTP status is not 200.
int grpcCodeForHttpStatus(int status);

}  // namespace causeway::upstream::h2probe
