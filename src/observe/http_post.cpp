#include "observe/http_post.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/strings.h"
#include "http/nghttp2_util.h"
#include "tls/tls_stream.h"

namespace causeway::observe {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::string openSslError() {
  unsigned long code = ERR_get_error();
  if (!code) return "TLS error";
  char text[256];
  ERR_error_string_n(code, text, sizeof text);
  ERR_clear_error();
  return text;
}

int remainingMillis(SteadyClock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
  return left > 0 ? int(left) : 0;
}

bool waitFor(int fd, short events, SteadyClock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int n = ::poll(&p, 1, remainingMillis(deadline));
    if (n > 0) return true;
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

int connectTo(const HttpEndpoint& e, SteadyClock::time_point deadline, std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* list = nullptr;
  int rc = ::getaddrinfo(e.host.c_str(), e.port.c_str(), &hints, &list);
  if (rc != 0) {
    error = "resolving " + e.host + ": " + gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  for (addrinfo* a = list; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      int err = errno;
      if (err != EINPROGRESS || !waitFor(fd, POLLOUT, deadline)) {
        error = err == EINPROGRESS ? "connect timeout" : std::strerror(err);
        ::close(fd);
        fd = -1;
        continue;
      }
      int soError = 0;
      socklen_t length = sizeof soError;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length);
      if (soError != 0) {
        error = std::strerror(soError);
        ::close(fd);
        fd = -1;
        continue;
      }
    }
  }
  freeaddrinfo(list);
  if (fd >= 0) {
    // Blocking from here, with socket timeouts as the deadline.
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    int left = std::max(remainingMillis(deadline), 1);
    timeval tv{left / 1000, (left % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  } else if (error.empty()) {
    error = "no address for " + e.host;
  }
  return fd;
}

class Connection {
 public:
  Connection(int fd, SSL* ssl) : fd_(fd), ssl_(ssl) {}
  ~Connection() {
    if (ssl_) {
      SSL_shutdown(ssl_);
      SSL_free(ssl_);
    }
    if (fd_ >= 0) ::close(fd_);
  }
  bool writeAll(std::string_view data) {
    while (!data.empty()) {
      long n = ssl_ ? SSL_write(ssl_, data.data(), int(std::min<size_t>(data.size(), 1 << 30)))
                    : ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) {
        if (!ssl_ && n < 0 && errno == EINTR) continue;
        return false;
      }
      data.remove_prefix(size_t(n));
    }
    return true;
  }
  long readSome(char* buffer, size_t size) {
    while (true) {
      long n = ssl_ ? SSL_read(ssl_, buffer, int(size)) : ::recv(fd_, buffer, size, 0);
      if (n < 0 && !ssl_ && errno == EINTR) continue;
      return n;
    }
  }

 private:
  int fd_;
  SSL* ssl_;
};

bool isIpLiteral(const std::string& host) {
  in6_addr v6;
  in_addr v4;
  return inet_pton(AF_INET, host.c_str(), &v4) == 1 || inet_pton(AF_INET6, host.c_str(), &v6) == 1;
}

}  // namespace

bool parseHttpEndpoint(std::string_view url, std::string_view defaultPath, HttpEndpoint& out, std::string& error) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) {
    error = "invalid collector endpoint \"" + std::string(url) + "\": expected http://host:port or https://...";
    return false;
  }
  std::string_view s = url.substr(0, scheme);
  if (iequals(s, "https")) out.tls = true;
  else if (!iequals(s, "http")) {
    error = "invalid collector endpoint \"" + std::string(url) + "\": unsupported scheme";
    return false;
  }
  std::string_view rest = url.substr(scheme + 3);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  out.path = slash == std::string_view::npos ? std::string() : std::string(rest.substr(slash));
  if (out.path.empty() || out.path == "/") out.path = std::string(defaultPath);
  if (authority.empty()) {
    error = "invalid collector endpoint \"" + std::string(url) + "\": no host";
    return false;
  }
  out.authority = std::string(authority);
  std::string_view host = authority, port;
  if (authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      error = "invalid collector endpoint \"" + std::string(url) + "\"";
      return false;
    }
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port = authority.substr(close + 2);
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  out.host = std::string(host);
  out.port = port.empty() ? (out.tls ? "443" : "80") : std::string(port);
  return true;
}

bool parseGrpcEndpoint(std::string_view endpoint, bool insecure, OtlpSignal signal, HttpEndpoint& out,
                       std::string& error) {
  std::string url(endpoint);
  if (url.find("://") == std::string::npos) url = (insecure ? "http://" : "https://") + url;
  if (!parseHttpEndpoint(url, "/", out, error)) return false;
  if (insecure) out.tls = false;
  out.path = signal == OtlpSignal::Traces    ? "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
             : signal == OtlpSignal::Metrics ? "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export"
                                             : "/opentelemetry.proto.collector.logs.v1.LogsService/Export";
  return true;
}

HttpPost::HttpPost(HttpEndpoint endpoint, const config::ClientTls* tls, std::map<std::string, std::string> headers)
    : endpoint_(std::move(endpoint)), headers_(std::move(headers)) {
  if (!endpoint_.tls) return;
  ctx_ = tls::makeClientContext(tls ? *tls : config::ClientTls{}, setupError_);
  if (!ctx_) return;
  // gRPC needs HTTP/2; HTTP/1.1 stays acceptable for OTLP/HTTP.
  static const unsigned char alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx_.get(), alpn, sizeof alpn);
  bool verify = !(tls && tls->insecureSkipVerify);
  SSL_CTX_set_verify(ctx_.get(), verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
}

HttpPost::~HttpPost() = default;

bool HttpPost::ready(std::string& error) const {
  if (setupError_.empty()) return true;
  error = setupError_;
  return false;
}

int HttpPost::post(std::string_view contentType, std::string_view body, std::chrono::milliseconds timeout,
                   std::string& error) {
  if (!setupError_.empty()) {
    error = setupError_;
    return 0;
  }
  const auto deadline = SteadyClock::now() + timeout;
  int fd = connectTo(endpoint_, deadline, error);
  if (fd < 0) return 0;
  SSL* ssl = nullptr;
  if (ctx_) {
    ssl = SSL_new(ctx_.get());
    SSL_set_fd(ssl, fd);
    if (isIpLiteral(endpoint_.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), endpoint_.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, endpoint_.host.c_str());
      SSL_set1_host(ssl, endpoint_.host.c_str());
    }
    if (SSL_connect(ssl) != 1) {
      error = "TLS handshake with " + endpoint_.authority + ": " + openSslError();
      SSL_free(ssl);
      ::close(fd);
      return 0;
    }
  }
  if (grpc_) return grpcCall(fd, ssl, body, error);
  Connection connection(fd, ssl);
  std::string head;
  head.reserve(256);
  head.append("POST ").append(endpoint_.path).append(" HTTP/1.1\r\nHost: ").append(endpoint_.authority);
  head.append("\r\nUser-Agent: causeway\r\nContent-Type: ").append(contentType);
  head.append("\r\nContent-Length: ").append(std::to_string(body.size()));
  head.append("\r\nConnection: close\r\n");
  for (const auto& [name, value] : headers_) head.append(name).append(": ").append(value).append("\r\n");
  head.append("\r\n");
  if (!connection.writeAll(head) || !connection.writeAll(body)) {
    error = "sending to " + endpoint_.authority + " failed";
    return 0;
  }
  std::string response;
  char buffer[4096];
  while (response.find("\r\n") == std::string::npos && response.size() < 65536) {
    long n = connection.readSome(buffer, sizeof buffer);
    if (n <= 0) break;
    response.append(buffer, size_t(n));
  }
  // Read the rest (the server closes: Connection: close), so closing does not reset it.
  while (response.size() < 65536) {
    long n = connection.readSome(buffer, sizeof buffer);
    if (n <= 0) break;
    response.append(buffer, size_t(n));
  }
  // "HTTP/1.1 200 OK"
  size_t space = response.find(' ');
  if (response.compare(0, 5, "HTTP/") != 0 || space == std::string::npos || response.size() < space + 4) {
    error = "no HTTP response from " + endpoint_.authority;
    return 0;
  }
  auto status = parseDecimal(std::string_view(response).substr(space + 1, 3));
  if (!status) {
    error = "malformed response from " + endpoint_.authority;
    return 0;
  }
  return int(*status);
}

}  // namespace causeway::observe

namespace causeway::observe {
namespace {

// One unary gRPC call on a fresh HTTP/2 connection, driven by an nghttp2 client session over the
// blocking socket (socket timeouts are the deadline).
struct GrpcExchange {
  std::string request;  // the length-prefixed message
  size_t sent = 0;
  int httpStatus = 0;
  int grpcStatus = -1;
  std::string grpcMessage;
  bool closed = false;
  uint32_t resetCode = 0;

  static ssize_t read(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                      nghttp2_data_source* source, void*) {
    auto* x = static_cast<GrpcExchange*>(source->ptr);
    size_t n = std::min(length, x->request.size() - x->sent);
    std::memcpy(buf, x->request.data() + x->sent, n);
    x->sent += n;
    if (x->sent == x->request.size()) *flags |= NGHTTP2_DATA_FLAG_EOF;
    return ssize_t(n);
  }
  static int onHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* self) {
    auto* x = static_cast<GrpcExchange*>(self);
    std::string_view n(reinterpret_cast<const char*>(name), namelen);
    std::string_view v(reinterpret_cast<const char*>(value), valuelen);
    if (n == ":status") x->httpStatus = int(parseDecimal(v).value_or(0));
    else if (n == "grpc-status") x->grpcStatus = int(parseDecimal(v).value_or(2));
    else if (n == "grpc-message") x->grpcMessage = std::string(v);
    return 0;
  }
  static int onClose(nghttp2_session*, int32_t, uint32_t error, void* self) {
    auto* x = static_cast<GrpcExchange*>(self);
    x->closed = true;
    x->resetCode = error;
    return 0;
  }
};

}  // namespace

int HttpPost::grpcCall(int fd, SSL* ssl, std::string_view json, std::string& error) {
  Connection connection(fd, ssl);
  if (ssl) {
    const unsigned char* chosen = nullptr;
    unsigned length = 0;
    SSL_get0_alpn_selected(ssl, &chosen, &length);
    if (std::string_view(reinterpret_cast<const char*>(chosen), length) != "h2") {
      error = endpoint_.authority + " did not agree to HTTP/2 (ALPN)";
      return 0;
    }
  }
  GrpcExchange x;
  std::string message;
  if (!otlpJsonToProtobuf(json, signal_, message, error)) return 0;
  x.request.push_back('\0');  // not compressed
  for (int shift = 24; shift >= 0; shift -= 8) x.request.push_back(char(message.size() >> shift));
  x.request += message;

  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &GrpcExchange::onHeader);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &GrpcExchange::onClose);
  nghttp2_session* session = nullptr;
  nghttp2_session_client_new(&session, callbacks, &x);
  nghttp2_session_callbacks_del(callbacks);
  struct Free {
    nghttp2_session* s;
    ~Free() { nghttp2_session_del(s); }
  } free{session};

  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  const std::string scheme = ssl ? "https" : "http";
  std::vector<nghttp2_nv> nv = {
      http::makeNv(":method", "POST"),         http::makeNv(":scheme", scheme),
      http::makeNv(":path", endpoint_.path),   http::makeNv(":authority", endpoint_.authority),
      http::makeNv("content-type", "application/grpc"), http::makeNv("te", "trailers"),
      http::makeNv("user-agent", "causeway")};
  std::vector<std::string> names;
  names.reserve(headers_.size());
  for (const auto& [name, value] : headers_) {
    names.push_back(toLower(name));
    nv.push_back(http::makeNv(names.back(), value));
  }
  nghttp2_data_provider provider;
  provider.source.ptr = &x;
  provider.read_callback = &GrpcExchange::read;
  if (nghttp2_submit_request(session, nullptr, nv.data(), nv.size(), &provider, nullptr) < 0) {
    error = "cannot build the gRPC request";
    return 0;
  }
  std::string out;
  char buffer[16384];
  while (!x.closed) {
    out.clear();
    http::takeFrames(session, out);
    if (!out.empty() && !connection.writeAll(out)) {
      error = "sending to " + endpoint_.authority + " failed";
      return 0;
    }
    if (x.closed) break;
    long n = connection.readSome(buffer, sizeof buffer);
    if (n <= 0) {
      error = "no gRPC answer from " + endpoint_.authority;
      return 0;
    }
    if (nghttp2_session_mem_recv(session, reinterpret_cast<const uint8_t*>(buffer), size_t(n)) < 0) {
      error = "malformed HTTP/2 from " + endpoint_.authority;
      return 0;
    }
  }
  out.clear();
  http::takeFrames(session, out);  // the last acknowledgements
  if (!out.empty()) connection.writeAll(out);
  if (x.grpcStatus == 0 && x.httpStatus == 200) return 200;
  error = x.grpcStatus >= 0 ? "grpc-status " + std::to_string(x.grpcStatus) + ": " + x.grpcMessage
                            : "HTTP/2 status " + std::to_string(x.httpStatus) +
                                  (x.resetCode ? ", stream reset " + std::to_string(x.resetCode) : "");
  return 0;
}

}  // namespace causeway::observe
