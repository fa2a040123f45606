// A small blocking HTTP/1.1 client for the exporters' background threads (never a worker):
// POSTs a body to a fixed endpoint over TCP, or TLS with OpenSSL, with a deadline on the whole
// exchange. One connection per request (exports are batched, so they are few).
#pragma once

#include <openssl/ssl.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "config/observability_config.h"
#include "observe/otlp_protobuf.h"

namespace causeway::observe {

struct HttpEndpoint {
  bool tls = false;
  std::string host;       // without brackets
  std::string port;       // "4318"
  std::string authority;  // Host field: "collector:4318"
  std::string path;       // "/v1/traces"
};

// "http[s]://host[:port][/path]"; an empty path becomes `defaultPath`.
bool parseHttpEndpoint(std::string_view url, std::string_view defaultPath, HttpEndpoint& out, std::string& error);
// An OTLP/gRPC endpoint ("host:port", or with an http:// or https:// scheme) for `signal`: TLS
// unless `insecure` or the scheme is http; the path is the signal's Export method.
bool parseGrpcEndpoint(std::string_view endpoint, bool insecure, OtlpSignal signal, HttpEndpoint& out,
                       std::string& error);

class HttpPost {
 public:
  // `tls` (may be null) configures trust and a client certificate for https endpoints.
  HttpPost(HttpEndpoint endpoint, const config::ClientTls* tls, std::map<std::string, std::string> headers);
  ~HttpPost();
  HttpPost(const HttpPost&) = delete;
  HttpPost& operator=(const HttpPost&) = delete;

  // From now on post() sends an OTLP/gRPC unary call (HTTP/2, ALPN h2 over TLS) with the JSON
  // body transcoded to protobuf; it returns 200 when grpc-status is 0.
  void useGrpc(OtlpSignal signal) { grpc_ = true, signal_ = signal; }
  // False with the reason when the TLS settings cannot be loaded.
  bool ready(std::string& error) const;
  // Sends the request and reads the status; 0 with `error` on failure.
  int post(std::string_view contentType, std::string_view body, std::chrono::milliseconds timeout,
           std::string& error);
  const HttpEndpoint& endpoint() const { return endpoint_; }

 private:
  int grpcCall(int fd, SSL* ssl, std::string_view body, std::string& error);

  HttpEndpoint endpoint_;
  std::map<std::string, std::string> headers_;
  bool grpc_ = false;
  OtlpSignal signal_ = OtlpSignal::Traces;
  std::shared_ptr<SSL_CTX> ctx_;
  std::string setupError_;
};

}  // namespace causeway::observe
