#include "clients/http/http_client.h"

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/url/parse.hpp>

#include "core/strings.h"
#include "http/h1/parser.h"

namespace causeway::clients::http {

namespace h1 = causeway::http::h1;

std::string_view Answer::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (iequals(n, name)) return v;
  return {};
}

bool parseEndpoint(std::string_view url, const config::ClientTls* tls, Endpoint& out,
                   std::string& error) {
  out = Endpoint{};
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    error = "not a URL: " + std::string(url);
    return false;
  }
  std::string scheme = toLower(parsed->scheme());
  if (scheme == "unix") {
    out.unix = true;
    out.socketPath = std::string(parsed->path());
    out.authority = "localhost";
    if (out.socketPath.empty()) {
      error = "a unix URL needs a socket path (unix:///var/run/docker.sock): " + std::string(url);
      return false;
    }
    return true;
  }
  if (scheme != "http" && scheme != "https") {
    error = "expected an http, https or unix URL: " + std::string(url);
    return false;
  }
  out.https = scheme == "https";
  out.host = std::string(parsed->host_address());
  if (out.host.empty()) {
    error = "the URL has no host: " + std::string(url);
    return false;
  }
  out.port = parsed->has_port() ? std::string(parsed->port()) : (out.https ? "443" : "80");
  out.authority = std::string(parsed->encoded_host_and_port());
  out.basePath = std::string(parsed->encoded_path());
  out.target = out.basePath.empty() ? "/" : out.basePath;
  if (parsed->has_query()) out.target += "?" + std::string(parsed->encoded_query());
  while (!out.basePath.empty() && out.basePath.back() == '/') out.basePath.pop_back();
  if (out.https) {
    out.tls.context = tls::makeClientContext(tls ? *tls : config::ClientTls{}, error);
    if (!out.tls.context) return false;
    out.tls.verify = !(tls && tls->insecureSkipVerify);
    out.tls.serverName = out.host;
  }
  return true;
}

bool parseEndpoints(const std::vector<std::string>& addresses, const config::ClientTls* tls,
                    std::vector<Endpoint>& out, std::string& error) {
  out.clear();
  for (const std::string& address : addresses) {
    std::string url = address.find("://") == std::string::npos
                          ? (tls ? "https://" : "http://") + address
                          : address;
    Endpoint endpoint;
    if (!parseEndpoint(url, tls, endpoint, error)) return false;
    out.push_back(std::move(endpoint));
  }
  return true;
}

namespace {

// One connection: TCP (optionally TLS) or a unix socket. Shared with the deadline's handler,
// which closes it.
struct Connection {
  explicit Connection(asio::io_context& io) : socket(io), local(io) {}
  tcp::socket socket;
  asio::local::stream_protocol::socket local;
  std::unique_ptr<tls::TlsStream> tls;
  bool unix = false;
  bool timedOut = false;
  bool idled = false;  // a stream's body sent nothing for its idle time

  void close() {
    error_code ignored;
    socket.close(ignored);
    local.close(ignored);
  }
  awaitable<std::tuple<error_code, size_t>> readSome(asio::mutable_buffer buffer) {
    if (tls) co_return co_await tls->readSome(buffer);
    if (unix) co_return co_await local.async_read_some(buffer, nothrow);
    co_return co_await socket.async_read_some(buffer, nothrow);
  }
  awaitable<error_code> write(std::string_view data) {
    if (tls) {
      auto [ec, n] = co_await tls->write(asio::buffer(data));
      co_return ec;
    }
    if (unix) {
      auto [ec, n] = co_await asio::async_write(local, asio::buffer(data), nothrow);
      co_return ec;
    }
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(data), nothrow);
    co_return ec;
  }
};

awaitable<std::string> dial(asio::io_context& io, const Endpoint& endpoint, Connection& c) {
  if (endpoint.unix) {
    c.unix = true;
    auto [ec] = co_await c.local.async_connect(
        asio::local::stream_protocol::endpoint(endpoint.socketPath), nothrow);
    co_return ec ? "cannot connect to " + endpoint.socketPath + ": " + ec.message() : "";
  }
  tcp::resolver resolver(io);
  std::string host = endpoint.host;
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  auto [resolveError, results] = co_await resolver.async_resolve(host, endpoint.port, nothrow);
  if (resolveError)
    co_return "cannot resolve " + endpoint.host + ": " + resolveError.message();
  auto [connectError, peer] = co_await asio::async_connect(c.socket, results, nothrow);
  if (connectError)
    co_return "cannot connect to " + endpoint.authority + ": " + connectError.message();
  error_code ignored;
  c.socket.set_option(tcp::no_delay(true), ignored);
  c.socket.set_option(asio::socket_base::keep_alive(true), ignored);  // a watch held for hours
  if (endpoint.https) {
    c.tls = std::make_unique<tls::TlsStream>(c.socket, endpoint.tls, endpoint.tls.serverName);
    if (!co_await c.tls->handshake())
      co_return "TLS handshake with " + endpoint.authority + " failed: " + c.tls->error();
  }
  co_return "";
}

std::string serialize(const Endpoint& endpoint, const Request& request) {
  std::string out = request.method + " " + endpoint.basePath +
                    (request.target.empty() || request.target.front() != '/' ? "/" : "") +
                    request.target + " HTTP/1.1\r\nHost: " + endpoint.authority +
                    "\r\nConnection: close\r\nUser-Agent: causeway\r\n";
  bool hasLength = false;
  for (const auto& [name, value] : request.headers) {
    hasLength = hasLength || iequals(name, "Content-Length");
    out += name + ": " + value + "\r\n";
  }
  if (!hasLength && (!request.body.empty() || request.method == "POST" || request.method == "PUT"))
    out += "Content-Length: " + std::to_string(request.body.size()) + "\r\n";
  out += "\r\n";
  out += request.body;
  return out;
}

}  // namespace

void StreamStop::stop() {
  stopped_ = true;
  if (close_) close_();
}

// The request and its answer, for fetch() (body kept) and stream() (body handed on).
struct StreamCall {
  static awaitable<Answer> run(asio::io_context& io, const Endpoint& endpoint,
                               const Request& request, std::chrono::milliseconds timeout,
                               int64_t maxBody, const std::function<bool(std::string_view)>* onData,
                               std::shared_ptr<StreamStop> stop,
                               std::chrono::milliseconds idle = std::chrono::milliseconds(0)) {
    Answer answer;
    auto c = std::make_shared<Connection>(io);
    auto deadline = std::make_shared<asio::steady_timer>(io, timeout);
    deadline->async_wait([c](error_code ec) {
      if (ec) return;  // cancelled: the answer came in time
      c->timedOut = true;
      c->close();
    });
    if (stop) {
      if (stop->stopped_) co_return answer;
      stop->close_ = [c] { c->close(); };
    }
    auto failed = [&](std::string why) -> Answer& {
      answer.status = 0;
      answer.body.clear();
      answer.error = c->timedOut ? "no answer within " + std::to_string(timeout.count()) + " ms"
                     : c->idled ? "nothing received for " + std::to_string(idle.count()) + " ms"
                     : stop && stop->stopped_ ? "stopped"
                                              : std::move(why);
      return answer;
    };
    auto finish = [&] {
      deadline->cancel();
      c->close();
      if (stop) stop->close_ = nullptr;
    };

    std::string why = co_await dial(io, endpoint, *c);
    // close() cannot cancel a DNS lookup, and a connect reopens the socket: a deadline or a
    // stop that came meanwhile is seen here.
    if (c->timedOut || (stop && stop->stopped_)) why = "stopped";
    if (why.empty()) {
      error_code ec = co_await c->write(serialize(endpoint, request));
      if (ec) why = "cannot send the request: " + ec.message();
    }
    if (!why.empty()) {
      failed(why);
      finish();
      co_return answer;
    }

    // The head.
    std::string in;
    std::vector<char> buffer(16 << 10);
    h1::ResponseHead head;
    h1::Limits limits;
    while (true) {
      h1::ParseError parseError;
      auto status = h1::parseResponseHead(in, request.method, limits, head, parseError);
      if (status == h1::ParseStatus::Complete) break;
      if (status == h1::ParseStatus::Error) {
        failed("malformed answer: " + std::string(parseError.reason));
        finish();
        co_return answer;
      }
      auto [readError, n] = co_await c->readSome(asio::buffer(buffer));
      if (readError || n == 0) {
        failed(readError == asio::error::eof ? "the connection closed before an answer"
                                             : "no answer: " + readError.message());
        finish();
        co_return answer;
      }
      in.append(buffer.data(), n);
    }
    answer.status = head.status;
    for (const auto& f : head.headers)
      answer.headers.emplace_back(std::string(f.name), std::string(f.value));
    // A stream may last as long as the server holds it; with `idle`, as long as it sends.
    auto armIdle = [&] {
      if (idle.count() <= 0) return;
      deadline->expires_after(idle);  // cancels the wait in place
      deadline->async_wait([c](error_code ec) {
        if (ec) return;
        c->idled = true;
        c->close();
      });
    };
    if (onData) {
      deadline->cancel();
      armIdle();
    }
    in.erase(0, head.headBytes);

    // The body.
    bool tooLarge = false;
    bool refused = false;  // onData said stop
    uint64_t received = 0;
    auto take = [&](std::string_view data) {
      if (tooLarge || refused) return;
      received += data.size();
      if (onData) {
        refused = !(*onData)(data);
        return;
      }
      if (maxBody >= 0 && received > uint64_t(maxBody)) {
        tooLarge = true;
        return;
      }
      answer.body.append(data);
    };
    Arena arena;
    h1::ChunkedDecoder chunked(arena, limits);
    bool done = head.framing == h1::Framing::None ||
                (head.framing == h1::Framing::ContentLength && head.contentLength == 0);
    std::string error;
    while (!done && !tooLarge && !refused) {
      if (!in.empty()) {
        if (head.framing == h1::Framing::Chunked) {
          auto result = chunked.decode(in, take);
          if (result.status == h1::ChunkedDecoder::Status::Error) {
            error = "malformed chunked answer: " + std::string(result.error.reason);
            break;
          }
          done = result.status == h1::ChunkedDecoder::Status::Done;
        } else if (head.framing == h1::Framing::ContentLength) {
          size_t want = size_t(std::min<uint64_t>(head.contentLength - received, in.size()));
          take(std::string_view(in).substr(0, want));
          done = received >= head.contentLength;
        } else {
          take(in);
        }
        in.clear();
        if (done || tooLarge || refused) break;
      }
      auto [readError, n] = co_await c->readSome(asio::buffer(buffer));
      if (readError || n == 0) {
        if (head.framing == h1::Framing::UntilClose && readError == asio::error::eof) done = true;
        else error = "the answer broke off: " + readError.message();
        break;
      }
      in.assign(buffer.data(), n);
      if (onData) armIdle();
    }
    if (tooLarge) failed("the answer is larger than " + std::to_string(maxBody) + " bytes");
    else if (!done && !refused) failed(error.empty() ? "the answer broke off" : error);
    finish();
    co_return answer;
  }
};

awaitable<Answer> fetch(asio::io_context& io, const Endpoint& endpoint, const Request& request,
                        std::chrono::milliseconds timeout, int64_t maxBody) {
  co_return co_await StreamCall::run(io, endpoint, request, timeout, maxBody, nullptr, nullptr);
}

awaitable<Answer> stream(asio::io_context& io, const Endpoint& endpoint, const Request& request,
                         std::chrono::milliseconds timeout,
                         std::function<bool(std::string_view)> onData,
                         std::shared_ptr<StreamStop> stop, std::chrono::milliseconds idle) {
  co_return co_await StreamCall::run(io, endpoint, request, timeout, -1, &onData, std::move(stop), idle);
}

bool LineSplitter::feed(std::string_view data,
                        const std::function<void(std::string_view)>& onLine) {
  while (!data.empty()) {
    size_t newline = data.find('\n');
    if (newline == std::string_view::npos) {
      partial_.append(data);
      return partial_.size() <= maxLine_;
    }
    std::string_view piece = data.substr(0, newline);
    data.remove_prefix(newline + 1);
    std::string_view line = piece;
    if (!partial_.empty()) {
      partial_.append(piece);
      line = partial_;
    }
    if (line.size() > maxLine_) return false;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) onLine(line);
    partial_.clear();
  }
  return true;
}

}  // namespace causeway::clients::http
