#include "upstream/health/probe.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include "config/duration.h"
#include "core/strings.h"
#include "http/go_text.h"
#include "http/h1/response_parser.h"
#include "tls/tls_stream.h"
#include "upstream/health/probe_h2.h"

namespace causeway::upstream {
namespace {

constexpr size_t kMaxHead = 64 << 10;
constexpr int kMaxRedirects = 10;  // Go's http.Client default

struct Answer {
  int status = 0;
  std::string location;
};

// One request/response on a fresh connection. Returns "" on success.
awaitable<std::string> exchangeOnce(asio::any_io_executor executor, const std::string& url,
                                    const std::string& method, const std::string& hostname,
                                    const std::vector<std::pair<std::string, std::string>>& headers,
                                    const Transport* transport, Answer& answer) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) co_return "invalid health check URL \"" + url + "\"";
  std::string scheme = toLower(std::string(parsed->scheme()));
  if (scheme != "http" && scheme != "https" && scheme != "h2c")
    co_return "unsupported protocol scheme \"" + scheme + "\"";
  bool secure = scheme == "https";
  if (secure && (!transport || !transport->tls.available()))
    co_return "no TLS settings for an https health check";
  std::string host = parsed->host_address();
  uint16_t port = parsed->has_port() ? parsed->port_number() : (secure ? 443 : 80);
  if (scheme == "h2c") {  // the server speaks only HTTP/2: prior knowledge, cleartext
    h2probe::Request request;
    request.method = method;
    request.scheme = "http";
    request.authority = hostname.empty() ? std::string(parsed->encoded_host_and_port()) : hostname;
    request.path = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
    if (parsed->has_query()) request.path += "?" + std::string(parsed->encoded_query());
    request.headers = headers;
    h2probe::Response response;
    std::string error =
        co_await h2probe::exchange(executor, host, port, nullptr, request, false, response);
    if (!error.empty()) co_return error;
    answer.status = response.status;
    for (const auto& [name, value] : response.headers)
      if (name == "location") answer.location = value;
    co_return std::string();
  }

  tcp::socket socket(executor);
  tcp::resolver resolver(executor);
  auto [resolveError, results] =
      co_await resolver.async_resolve(host, std::to_string(port), nothrow);
  if (resolveError) co_return "dial " + host + ": " + resolveError.message();
  auto [connectError, connected] = co_await asio::async_connect(socket, results, nothrow);
  if (connectError)
    co_return "dial tcp " + host + ":" + std::to_string(port) + ": " + connectError.message();
  std::unique_ptr<tls::TlsStream> tls;
  if (secure) {
    tls::TlsClientSettings settings = transport->tls;
    static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    settings.alpn.assign(std::begin(kHttp11), std::end(kHttp11));  // this client speaks HTTP/1.1
    tls = std::make_unique<tls::TlsStream>(socket, settings, host);
    if (!co_await tls->handshake()) co_return "tls handshake: " + tls->error();
  }

  std::string request = method + " ";
  std::string_view path = parsed->encoded_path();
  request.append(path.empty() ? std::string_view("/") : path);
  if (parsed->has_query()) {
    request += '?';
    request.append(parsed->encoded_query());
  }
  request += " HTTP/1.1\r\nHost: ";
  request.append(hostname.empty() ? std::string_view(parsed->encoded_host_and_port())
                                  : std::string_view(hostname));
  request += "\r\n";
  for (const auto& [name, value] : headers) {
    if (iequals(name, "Host")) continue;  // Go takes the Host from the URL or `hostname`
    request += name + ": " + value + "\r\n";
  }
  if (method == "POST" || method == "PUT" || method == "PATCH") request += "Content-Length: 0\r\n";
  request += "\r\n";
  auto [writeError, written] =
      tls ? co_await tls->write(asio::buffer(request))
          : co_await asio::async_write(socket, asio::buffer(request), nothrow);
  if (writeError) co_return "write request: " + writeError.message();

  std::string buffer;
  char chunk[4096];
  http::h1::Limits limits;
  limits.maxHeadBytes = kMaxHead;
  limits.maxHeaderCount = 1000;
  while (true) {
    auto [readError, n] = tls ? co_await tls->readSome(asio::buffer(chunk))
                              : co_await socket.async_read_some(asio::buffer(chunk), nothrow);
    if (readError) co_return "read response: " + readError.message();
    buffer.append(chunk, n);
    http::h1::ResponseHead head;
    http::h1::ParseError parseError;
    auto status = http::h1::parseResponseHead(buffer, method, limits, head, parseError);
    if (status == http::h1::ParseStatus::Error) co_return "malformed HTTP response";
    if (status == http::h1::ParseStatus::Incomplete) continue;
    if (head.status >= 100 && head.status < 200) {  // interim answers (100, 103) are skipped
      buffer.erase(0, head.headBytes);
      continue;
    }
    answer.status = head.status;
    answer.location = std::string(head.headers.get("Location"));
    break;
  }
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  co_return std::string();
}

awaitable<std::string> probeWithRedirects(asio::any_io_executor executor,
                                          const ProbeConfig& probe) {
  std::string url = probe.url;
  std::string method = probe.method.empty() ? "GET" : probe.method;
  std::string hostname = probe.hostname;
  for (int redirects = 0;; ++redirects) {
    Answer answer;
    std::string error = co_await exchangeOnce(executor, url, method, hostname, probe.headers,
                                              probe.transport.get(), answer);
    if (!error.empty()) co_return error;
    bool redirect = answer.status == 301 || answer.status == 302 || answer.status == 303 ||
                    answer.status == 307 || answer.status == 308;
    if (probe.followRedirects && redirect && !answer.location.empty()) {
      if (redirects == kMaxRedirects) co_return "stopped after 10 redirects";
      auto base = boost::urls::parse_uri(url);
      auto reference = boost::urls::parse_uri_reference(answer.location);
      if (!base || !reference)
        co_return "failed to parse Location header \"" + answer.location + "\"";
      boost::urls::url next;
      if (!boost::urls::resolve(*base, *reference, next))
        co_return "failed to resolve Location \"" + answer.location + "\"";
      // A custom Host survives only redirects to a relative location (Go, issue 22233).
      if (reference->has_scheme()) hostname.clear();
      if (answer.status <= 303 && method != "GET" && method != "HEAD") method = "GET";
      url = std::string(next.buffer());
      continue;
    }
    if (probe.status == 0 && (answer.status < 200 || answer.status >= 400))
      co_return "received error status code: " + std::to_string(answer.status);
    if (probe.status != 0 && probe.status != answer.status)
      co_return "received error status code: " + std::to_string(answer.status) +
          " expected status code: " + std::to_string(probe.status);
    co_return std::string();
  }
}

// A TCP service's check: connect (and shake hands), send, compare the first bytes back.
awaitable<std::string> checkTcp(const ProbeConfig& probe) {
  std::string error;
  std::unique_ptr<TcpUpstream> connection = co_await dialTcp(probe.tcpServer, *probe.tcpTransport, {}, nullptr, error);
  if (!connection) co_return error;
  if (!probe.send.empty()) {
    asio::const_buffer payload(probe.send.data(), probe.send.size());
    auto [ec, n] = co_await connection->writeAll(payload);
    if (ec) co_return "sending the health check payload: " + ec.message();
  }
  if (!probe.expect.empty()) {
    std::string received(probe.expect.size(), '\0');
    size_t have = 0;
    while (have < received.size()) {
      asio::mutable_buffer space(received.data() + have, received.size() - have);
      auto [ec, n] = co_await connection->readSome(space);
      if (ec) co_return "reading the health check response: " + ec.message();
      have += n;
    }
    if (received != probe.expect) co_return "unexpected health check response";
  }
  co_return std::string();
}

}  // namespace

awaitable<std::string> runProbe(asio::any_io_executor executor, const ProbeConfig& probe) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(executor, probe.timeout);
  // A named awaitable: GCC 12 mishandles a conditional expression inside co_await.
  awaitable<std::string> check = probe.tcp    ? checkTcp(probe)
                                 : probe.grpc ? h2probe::checkGrpc(executor, probe)
                                              : probeWithRedirects(executor, probe);
  auto result = co_await (std::move(check) || timer.async_wait(nothrow));
  if (result.index() == 1 && probe.grpc)
    co_return "gRPC health check timeout: rpc error: code = DeadlineExceeded desc = context "
              "deadline exceeded";
  if (result.index() == 1) co_return "timeout after " + config::Duration(probe.timeout).toString();
  co_return std::get<0>(std::move(result));
}

}  // namespace causeway::upstream
