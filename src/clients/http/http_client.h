// The control plane's HTTP/1.1 client: what providers use to reach their sources (the HTTP
// provider's endpoint, etcd's JSON gateway, Consul's KV API, the Docker engine's socket).
// Off the data path: one connection per request (`Connection: close`), on the event loop the
// caller gives, never the workers' pools. Answers are parsed by the proxy's own strict
// response parser and chunked decoder, so a source that sends garbage is an error, not a
// misread configuration.
//
// Endpoints are `http://host:port[/base]`, `https://…` (trust roots and client certificate
// from a Traefik `tls` block) and `unix:///path/to.sock` (plain HTTP over a unix socket).
// Every request has a deadline; a streamed answer (a watch) has one for its head only, and
// ends when the server ends it or the caller stops it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/client_tls.h"
#include "io/asio.h"
#include "tls/tls_stream.h"

namespace causeway::clients::http {

struct Endpoint {
  bool unix = false;        // unix:///path
  std::string host, port;   // TCP
  std::string socketPath;   // unix
  std::string authority;    // the Host field
  std::string basePath;     // the URL's path without a trailing slash ("" for "/")
  std::string target;       // the URL's path and query as written ("/" when empty)
  bool https = false;
  tls::TlsClientSettings tls;
};

// Parses `url` (http, https or unix) with the trust settings of `tls` (may be null: the
// system's roots). False with `error` set on a bad URL or TLS setting.
bool parseEndpoint(std::string_view url, const config::ClientTls* tls, Endpoint& out,
                   std::string& error);

// Traefik's `endpoints` of a KV store: each "host:port" (http, or https with `tls`) or a URL.
bool parseEndpoints(const std::vector<std::string>& addresses, const config::ClientTls* tls,
                    std::vector<Endpoint>& out, std::string& error);

struct Request {
  std::string method = "GET";
  std::string target = "/";  // path and query, appended to the endpoint's base path
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct Answer {
  int status = 0;     // 0: no answer (see error)
  std::string error;  // why there is no (complete) answer
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;   // fetch() only
  std::string_view header(std::string_view name) const;
};

// One request; the whole answer within `timeout`, its body at most `maxBody` bytes (< 0: no
// bound). An answer over the bound, broken off or malformed has status 0 and an error.
awaitable<Answer> fetch(asio::io_context& io, const Endpoint& endpoint, const Request& request,
                        std::chrono::milliseconds timeout, int64_t maxBody);

// Stops a streamed answer from outside (the provider is going away, or wants a new watch).
class StreamStop {
 public:
  void stop();
  bool stopped() const { return stopped_; }

 private:
  friend struct StreamCall;
  bool stopped_ = false;
  std::function<void()> close_;
};

// A request whose answer body is a stream (etcd's watch, Docker's events, Consul's blocking
// query held open). The head must arrive within `timeout`; then every piece of the body goes
// to `onData` as it arrives, until the server ends the body (Answer.error empty), the
// connection fails (error set), `onData` returns false, or `stop` is stopped.
// With `idle` (> 0), a body that sends nothing for that long is broken off (a peer gone without
// closing the connection).
awaitable<Answer> stream(asio::io_context& io, const Endpoint& endpoint, const Request& request,
                         std::chrono::milliseconds timeout,
                         std::function<bool(std::string_view)> onData,
                         std::shared_ptr<StreamStop> stop,
                         std::chrono::milliseconds idle = std::chrono::milliseconds(0));

// Splits a byte stream into lines ('\n', a trailing '\r' dropped), for newline-delimited JSON
// streams; a line longer than `maxLine` is an error.
class LineSplitter {
 public:
  explicit LineSplitter(size_t maxLine = 16 << 20) : maxLine_(maxLine) {}
  // Calls onLine for every complete line in `data`; false when a line is too long.
  bool feed(std::string_view data, const std::function<void(std::string_view)>& onLine);

 private:
  std::string partial_;
  size_t maxLine_;
};

}  // namespace causeway::clients::http
