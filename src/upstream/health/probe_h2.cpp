#include "upstream/health/probe_h2.h"

#include <nghttp2/nghttp2.h>

#include <boost/url/parse.hpp>
#include <charconv>
#include <cstring>
#include <memory>

#include "core/strings.h"
#include "http/nghttp2_util.h"
#include "tls/tls_stream.h"

namespace causeway::upstream::h2probe {
namespace {

constexpr size_t kMaxBody = 64 << 10;         // a health answer is a few bytes
constexpr size_t kMaxHeaderBytes = 64 << 10;  // head and trailers together

// Fields HTTP/2 forbids or that the exchange sets itself (Go's http2 transport drops them).
bool droppedField(std::string_view lower, std::string_view value) {
  if (lower.empty() || lower[0] == ':') return true;
  if (lower == "te") return !iequals(value, "trailers");
  return lower == "host" || lower == "connection" || lower == "proxy-connection" ||
         lower == "keep-alive" || lower == "transfer-encoding" || lower == "upgrade" ||
         lower == "content-length";
}

// The state of the one stream of an exchange, seen by the nghttp2 callbacks.
struct Exchange {
  Response& response;
  bool wholeResponse;
  int32_t streamId = -1;
  std::string_view unsent;  // request body not yet handed to nghttp2
  bool headDone = false;    // final (non-1xx) head received
  bool ended = false;       // END_STREAM received
  bool closed = false;      // the stream is closed
  uint32_t closeCode = 0;   // its error code (RST_STREAM, or the GOAWAY that refused it)
  bool tooLarge = false;
  size_t headerBytes = 0;

  bool done() const { return closed || (!wholeResponse && headDone); }
};

int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
             const uint8_t* value, size_t valuelen, uint8_t, void* user) {
  auto* x = static_cast<Exchange*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->hd.stream_id != x->streamId) return 0;
  x->headerBytes += namelen + valuelen + 32;
  if (x->headerBytes > kMaxHeaderBytes) {
    x->tooLarge = true;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (x->headDone) {
    x->response.trailers.emplace_back(n, v);
  } else if (n == ":status") {
    int status = 0;
    std::from_chars(v.data(), v.data() + v.size(), status);
    x->response.status = status;
  } else if (!n.empty() && n[0] != ':') {
    x->response.headers.emplace_back(n, v);
  }
  return 0;
}

int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* x = static_cast<Exchange*>(user);
  if (frame->hd.stream_id != x->streamId) return 0;
  bool endStream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (frame->hd.type == NGHTTP2_HEADERS && !x->headDone) {
    if (x->response.status >= 100 && x->response.status < 200) {  // interim: wait for the final
      x->response.headers.clear();
      x->response.status = 0;
      return 0;
    }
    x->headDone = true;
  }
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) && endStream)
    x->ended = true;
  return 0;
}

int onDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len,
                void* user) {
  auto* x = static_cast<Exchange*>(user);
  if (id != x->streamId) return 0;
  if (x->response.body.size() + len > kMaxBody) {
    x->tooLarge = true;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  x->response.body.append(reinterpret_cast<const char*>(data), len);
  return 0;
}

int onStreamClose(nghttp2_session*, int32_t id, uint32_t code, void* user) {
  auto* x = static_cast<Exchange*>(user);
  if (id != x->streamId) return 0;
  x->closed = true;
  x->closeCode = code;
  return 0;
}

ssize_t readBody(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                 nghttp2_data_source* source, void*) {
  auto* x = static_cast<Exchange*>(source->ptr);
  size_t n = std::min(length, x->unsent.size());
  std::memcpy(buf, x->unsent.data(), n);
  x->unsent.remove_prefix(n);
  if (x->unsent.empty()) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return ssize_t(n);
}

struct SessionDeleter {
  void operator()(nghttp2_session* s) const { nghttp2_session_del(s); }
};

std::string joinHostPort(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

// Go's codes.Code → the error Traefik's checkHealthGRPC reports for it.
std::string rpcError(int code, std::string_view desc) {
  std::string error = "rpc error: code = " + grpcCodeName(code) + " desc = ";
  error.append(desc);
  if (code == 12) return "gRPC server does not implement the health protocol: " + error;
  if (code == 4) return "gRPC health check timeout: " + error;
  return "gRPC health check failed: " + error;
}

// grpc-go's mapping of a RST_STREAM error code to a status code.
int grpcCodeForReset(uint32_t code) {
  switch (code) {
  case NGHTTP2_REFUSED_STREAM:
    return 14;  // Unavailable
  case NGHTTP2_CANCEL:
    return 1;  // Canceled
  case NGHTTP2_ENHANCE_YOUR_CALM:
    return 8;  // ResourceExhausted
  case NGHTTP2_INADEQUATE_SECURITY:
    return 7;  // PermissionDenied
  default:
    return 13;  // Internal
  }
}

const std::string* field(const std::vector<std::pair<std::string, std::string>>& list,
                         std::string_view name) {
  for (const auto& [n, v] : list)
    if (n == name) return &v;
  return nullptr;
}

bool readVarint(std::string_view data, size_t& pos, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && pos < data.size(); shift += 7) {
    uint8_t byte = uint8_t(data[pos++]);
    value |= uint64_t(byte & 0x7f) << shift;
    if (!(byte & 0x80)) return true;
  }
  return false;
}

}  // namespace

awaitable<std::string> exchange(asio::any_io_executor executor, const std::string& host,
                                uint16_t port, const Transport* transport, const Request& request,
                                bool wholeResponse, Response& response) {
  bool secure = transport != nullptr;
  if (secure && !transport->tls.available()) co_return "no TLS settings for an https health check";
  tcp::socket socket(executor);
  tcp::resolver resolver(executor);
  auto [resolveError, results] =
      co_await resolver.async_resolve(host, std::to_string(port), nothrow);
  if (resolveError) co_return "dial " + host + ": " + resolveError.message();
  auto [connectError, connected] = co_await asio::async_connect(socket, results, nothrow);
  if (connectError)
    co_return "dial tcp " + joinHostPort(host, port) + ": " + connectError.message();
  std::unique_ptr<tls::TlsStream> tls;
  if (secure) {
    tls::TlsClientSettings settings = transport->tls;
    static constexpr unsigned char kH2[] = {2, 'h', '2'};
    settings.alpn.assign(std::begin(kH2), std::end(kH2));
    tls = std::make_unique<tls::TlsStream>(socket, settings, host);
    if (!co_await tls->handshake()) co_return "tls handshake: " + tls->error();
    if (tls->alpn() != "h2") co_return "tls: the server did not negotiate h2 (ALPN)";
  }
  auto write = [&](const std::string& bytes) -> awaitable<error_code> {
    auto [ec, n] = tls ? co_await tls->write(asio::buffer(bytes))
                       : co_await asio::async_write(socket, asio::buffer(bytes), nothrow);
    co_return ec;
  };

  Exchange x{response, wholeResponse, -1, request.body};
  nghttp2_session_callbacks* callbacks = nullptr;
  if (nghttp2_session_callbacks_new(&callbacks) != 0) co_return "http2: out of memory";
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &onStreamClose);
  nghttp2_session* raw = nullptr;
  int rv = nghttp2_session_client_new(&raw, callbacks, &x);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) co_return std::string("http2: ") + nghttp2_strerror(rv);
  std::unique_ptr<nghttp2_session, SessionDeleter> session(raw);
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  nghttp2_submit_settings(raw, NGHTTP2_FLAG_NONE, settings, std::size(settings));

  // Header names go lower-case in HTTP/2; the storage outlives nghttp2_submit_request.
  std::vector<std::pair<std::string, std::string>> fields;
  fields.reserve(request.headers.size() + 1);
  for (const auto& [name, value] : request.headers) {
    std::string lower = toLower(name);
    if (!droppedField(lower, value)) fields.emplace_back(std::move(lower), value);
  }
  const std::string& method = request.method;
  if (request.body.empty() && (method == "POST" || method == "PUT" || method == "PATCH"))
    fields.emplace_back("content-length", "0");
  std::vector<nghttp2_nv> nv = {http::makeNv(":method", method), http::makeNv(":scheme", request.scheme),
                                http::makeNv(":authority", request.authority),
                                http::makeNv(":path", request.path.empty()
                                                    ? std::string_view("/")
                                                    : std::string_view(request.path))};
  for (const auto& [name, value] : fields)
    nv.push_back(http::makeNv(name, value));
  nghttp2_data_provider provider;
  provider.source.ptr = &x;
  provider.read_callback = &readBody;
  x.streamId = nghttp2_submit_request(raw, nullptr, nv.data(), nv.size(),
                                      request.body.empty() ? nullptr : &provider, nullptr);
  if (x.streamId < 0) co_return std::string("http2: ") + nghttp2_strerror(x.streamId);

  std::string out;
  char in[16384];
  std::string error;
  while (error.empty()) {
    out.clear();
    if (int failed = http::takeFrames(raw, out)) {
      error = std::string("http2: ") + nghttp2_strerror(failed);
      break;
    }
    if (!out.empty())
      if (error_code ec = co_await write(out)) {
        error = "write request: " + ec.message();
        break;
      }
    if (x.done() || (!nghttp2_session_want_read(raw) && !nghttp2_session_want_write(raw))) break;
    auto [readError, n] = tls ? co_await tls->readSome(asio::buffer(in))
                              : co_await socket.async_read_some(asio::buffer(in), nothrow);
    if (readError) {
      error = readError == asio::error::eof ? std::string("unexpected EOF")
                                            : "read response: " + readError.message();
      break;
    }
    ssize_t consumed = nghttp2_session_mem_recv(raw, reinterpret_cast<const uint8_t*>(in), n);
    if (consumed < 0)
      error = x.tooLarge ? std::string("response too large")
                         : std::string("http2: ") + nghttp2_strerror(int(consumed));
  }
  if (error.empty() && !x.done()) error = "http2: the connection closed before the response";
  if (error.empty() && x.closed && !x.ended && !(x.headDone && !wholeResponse)) {
    error = std::string("stream terminated by RST_STREAM with error code: ") +
            nghttp2_http2_strerror(x.closeCode);
    response.reset = true;
    response.resetCode = x.closeCode;
  }

  // Close politely (GOAWAY, best effort), then the socket.
  if (!response.reset && error.empty()) {
    nghttp2_session_terminate_session(raw, NGHTTP2_NO_ERROR);
    out.clear();
    http::takeFrames(raw, out);
    if (!out.empty()) co_await write(out);
  }
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  co_return error;
}

awaitable<std::string> checkGrpc(asio::any_io_executor executor, const ProbeConfig& probe) {
  auto parsed = boost::urls::parse_uri(probe.url);
  if (!parsed) co_return "failed to parse server URL: \"" + probe.url + "\"";
  std::string scheme = toLower(std::string(parsed->scheme()));
  std::string host = parsed->host_address();
  bool secure = scheme == "https";
  uint16_t port = parsed->has_port() ? parsed->port_number() : (secure ? 443 : 80);
  std::string address = joinHostPort(host, port);
  if (scheme != "http" && scheme != "h2c" && !secure)
    co_return "fail to connect to " + address + ": unsupported scheme \"" + scheme + "\"";
  if (secure && (!probe.transport || !probe.transport->tls.available()))
    co_return "fail to connect to " + address + ": no TLS settings";

  Request request;
  request.method = "POST";
  request.scheme = secure ? "https" : "http";
  request.authority = probe.hostname.empty() ? address : probe.hostname;
  request.path = "/grpc.health.v1.Health/Check";
  request.headers = {{"content-type", "application/grpc"}, {"te", "trailers"}};
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(probe.timeout).count();
  request.headers.emplace_back("grpc-timeout", ms < 100000000
                                                   ? std::to_string(std::max<int64_t>(ms, 1)) + "m"
                                                   : std::to_string(ms / 1000) + "S");
  for (const auto& [name, value] : probe.headers) {  // sent as metadata
    std::string lower = toLower(name);
    if (lower == "content-type" || lower == "te" || lower == "grpc-timeout") continue;
    request.headers.emplace_back(std::move(lower), value);
  }
  request.body.assign(5, '\0');  // one uncompressed, empty HealthCheckRequest{service: ""}

  Response response;
  std::string error = co_await exchange(
      executor, host, port, secure ? probe.transport.get() : nullptr, request, true, response);
  if (!error.empty()) {
    if (response.reset) co_return rpcError(grpcCodeForReset(response.resetCode), error);
    co_return rpcError(14, "connection error: desc = \"transport: " + error + "\"");
  }
  if (response.status != 200)
    co_return rpcError(grpcCodeForHttpStatus(response.status),
                       "unexpected HTTP status code received from server: " +
                           std::to_string(response.status));
  const std::string* contentType = field(response.headers, "content-type");
  std::string_view type = contentType ? std::string_view(*contentType) : std::string_view();
  bool grpcType = type.starts_with("application/grpc") &&
                  (type.size() == 16 || type[16] == '+' || type[16] == ';');
  if (!grpcType)
    co_return rpcError(2,
                       "transport: received unexpected content-type \"" + std::string(type) + "\"");
  // Trailers, or the head alone for a trailers-only answer.
  const std::string* status = field(response.trailers, "grpc-status");
  const std::string* message = field(response.trailers, "grpc-message");
  if (!status) {
    status = field(response.headers, "grpc-status");
    message = field(response.headers, "grpc-message");
  }
  if (!status) co_return rpcError(13, "server closed the stream without sending trailers");
  int code = -1;
  auto [end, ec] = std::from_chars(status->data(), status->data() + status->size(), code);
  if (ec != std::errc() || end != status->data() + status->size() || code < 0)
    co_return rpcError(13, "transport: malformed grpc-status: " + *status);
  if (code != 0) co_return rpcError(code, message ? decodeGrpcMessage(*message) : std::string());
  std::string decodeError;
  int serving = 0;
  if (!decodeHealthCheckResponse(response.body, serving, decodeError))
    co_return rpcError(13, decodeError);
  if (serving != 1) co_return "received gRPC status code: " + servingStatusName(serving);
  co_return std::string();
}

bool decodeHealthCheckResponse(std::string_view body, int& status, std::string& error) {
  if (body.empty()) {
    error = "grpc: the server sent no response message";
    return false;
  }
  if (body.size() < 5) {
    error = "grpc: truncated message header";
    return false;
  }
  if (body[0] != 0) {
    error = body[0] == 1 ? "grpc: compressed message without a negotiated encoding"
                         : "grpc: invalid message flag " + std::to_string(uint8_t(body[0]));
    return false;
  }
  uint32_t length = (uint32_t(uint8_t(body[1])) << 24) | (uint32_t(uint8_t(body[2])) << 16) |
                    (uint32_t(uint8_t(body[3])) << 8) | uint32_t(uint8_t(body[4]));
  std::string_view message = body.substr(5);
  if (message.size() < length) {
    error = "grpc: truncated message";
    return false;
  }
  if (message.size() > length) {
    error = "grpc: more than one response message";
    return false;
  }
  status = 0;
  size_t pos = 0;
  while (pos < message.size()) {
    uint64_t key = 0;
    if (!readVarint(message, pos, key) || (key >> 3) == 0) {
      error = "grpc: failed to unmarshal the response: invalid field";
      return false;
    }
    uint64_t value = 0;
    switch (key & 7) {
    case 0:  // varint
      if (!readVarint(message, pos, value)) {
        error = "grpc: failed to unmarshal the response: truncated varint";
        return false;
      }
      if ((key >> 3) == 1) status = int(int32_t(uint32_t(value)));  // enums are int32
      break;
    case 1:  // fixed64
    case 5:  // fixed32
    {
      size_t size = (key & 7) == 1 ? 8 : 4;
      if (message.size() - pos < size) {
        error = "grpc: failed to unmarshal the response: truncated field";
        return false;
      }
      pos += size;
      break;
    }
    case 2:  // length-delimited
      if (!readVarint(message, pos, value) || value > message.size() - pos) {
        error = "grpc: failed to unmarshal the response: truncated field";
        return false;
      }
      pos += size_t(value);
      break;
    default:
      error = "grpc: failed to unmarshal the response: unsupported wire type " +
              std::to_string(key & 7);
      return false;
    }
  }
  return true;
}

std::string servingStatusName(int status) {
  switch (status) {
  case 0:
    return "UNKNOWN";
  case 1:
    return "SERVING";
  case 2:
    return "NOT_SERVING";
  case 3:
    return "SERVICE_UNKNOWN";
  default:
    return std::to_string(status);
  }
}

std::string grpcCodeName(int code) {
  static constexpr const char* kNames[] = {
      "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
      "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
      "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
      "DataLoss", "Unauthenticated"};
  if (code >= 0 && code < int(std::size(kNames))) return kNames[code];
  return "Code(" + std::to_string(code) + ")";
}

std::string decodeGrpcMessage(std::string_view value) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '%' && i + 2 < value.size() && hex(value[i + 1]) >= 0 &&
        hex(value[i + 2]) >= 0) {
      out += char(hex(value[i + 1]) * 16 + hex(value[i + 2]));
      i += 2;
    } else {
      out += value[i];
    }
  }
  return out;
}

int grpcCodeForHttpStatus(int status) {
  switch (status) {
  case 400:
    return 13;  // Internal
  case 401:
    return 16;  // Unauthenticated
  case 403:
    return 7;  // PermissionDenied
  case 404:
    return 12;  // Unimplemented
  case 429:
  case 502:
  case 503:
  case 504:
    return 14;  // Unavailable
  default:
    return 2;  // Unknown
  }
}

}  // namespace causeway::upstream::h2probe
