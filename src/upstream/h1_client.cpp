#include "upstream/h1_client.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <sys/socket.h>

#include <cerrno>
#include <charconv>

#include "core/strings.h"
#include "exchange/h1_body_reader.h"
#include "http/h1/chunked.h"
#include "http/h1/head_writer.h"
#include "http/h1/parser.h"
#include "http/hop_by_hop.h"
#include "io/stream_read.h"
#include "upstream/h2_client.h"

namespace causeway::upstream {
namespace {

constexpr size_t kMaxResponseHead = size_t(1) << 20;
constexpr size_t kReadChunk = 16384;
constexpr uint64_t kTopUpLimit = 64 * 1024;  // bodies up to this size are gathered before writing
// A response body whose reads fill the connection's buffer is a stream (io/stream_read.h); the
// buffer goes back to this size when the body pauses and before the connection is pooled.
constexpr size_t kPooledBuffer = 32 * 1024;

using http::h1::Framing;

bool methodExpectsBody(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

namespace {

using http::h1::HeadWriter;

bool isHeaderNamed(const http::HeaderField& f, std::string_view name) {
  return f.name.size() == name.size() && iequals(f.name, name);
}

}  // namespace

void serializeRequestHead(const exchange::Request& r, const exchange::ConnectionInfo& connection,
                          const UpstreamEndpoint& endpoint, const ForwardOptions& options,
                          std::string& out) {
  const bool appendForwardedFor = options.appendXForwardedFor && !connection.notAppendForwardedFor;
  std::string_view host = options.passHostHeader && !r.authority.empty()
                              ? r.authority
                              : endpoint.authority();
  std::string_view base;
  if (options.preservePath && !endpoint.path().empty() && endpoint.path() != "/") {
    base = endpoint.path();
    if (base.back() == '/') base.remove_suffix(1);
  }
  // An upper bound of the head's size; every piece below fits in it.
  size_t bound = r.method.size() + base.size() + r.path.size() + 3 * r.query.size() + host.size() +
                 2 * connection.peerIpText.size() + 256;
  for (const auto& f : r.headers) bound += f.name.size() + f.value.size() + 4;
  out.resize(bound);
  HeadWriter w(out.data());

  w.put(r.method);
  w.put(' ');
  w.put(base);
  w.put(r.path.empty() ? std::string_view("/") : r.path);
  if (r.hasQuery) {
    w.put('?');
    if (r.query.find(';') == std::string_view::npos) {
      w.put(r.query);
    } else {
      // Go's proxy does not forward ';' as a separator: Traefik rewrites it to '&',
      // or encodes it with encodeQuerySemicolons.
      for (char c : r.query) {
        if (c != ';') w.put(c);
        else if (options.encodeQuerySemicolons) w.put("%3B");
        else w.put('&');
      }
    }
  }
  w.put(" HTTP/1.1\r\nHost: ");
  w.put(host);
  w.put("\r\n");

  bool sawForwardedFor = false;
  bool trailers = false;
  auto nominated = [&](std::string_view name) {
    for (size_t i = 0; i < r.nominatedKeptCount; ++i)
      if (iequals(r.nominatedKept[i], name)) return true;
    return false;
  };
  for (const auto& f : r.headers) {
    if (isHeaderNamed(f, "Host") || isHeaderNamed(f, "Content-Length")) continue;
    if (r.nominatedKeptCount > 0 && nominated(f.name)) continue;
    if (http::isHopByHopField(f.name) && !(options.sendProxyAuthorization && isHeaderNamed(f, "Proxy-Authorization"))) {
      if (isHeaderNamed(f, "TE") && listContainsToken(f.value, "trailers")) trailers = true;
      continue;
    }
    if (appendForwardedFor && isHeaderNamed(f, "X-Forwarded-For")) {
      sawForwardedFor = true;
      w.put(f.name);
      w.put(": ");
      w.put(f.value);
      w.put(", ");
      w.put(connection.peerIpText);
      w.put("\r\n");
      continue;
    }
    w.field(f.name, f.value);
  }
  if (appendForwardedFor && !sawForwardedFor && !r.omitForwardedFor)
    w.field("X-Forwarded-For", connection.peerIpText);
  if (trailers) w.field("Te", "trailers");
  if (r.upgrade) {
    w.field("Connection", "Upgrade");
    w.field("Upgrade", r.headers.get("Upgrade"));
  }
  if (r.body) {
    if (auto length = r.body->length()) {
      w.put("Content-Length: ");
      w.number(*length);
      w.put("\r\n");
    } else {
      w.put("Transfer-Encoding: chunked\r\n");
    }
  } else if (methodExpectsBody(r.method)) {
    w.put("Content-Length: 0\r\n");
  }
  w.put("\r\n");
  out.resize(size_t(w.at() - out.data()));
}

// Moves a view into a copy of the buffer it points into. Views that point elsewhere
// (string literals chosen by the parser, such as "/" for an empty absolute-form path) are
// returned unchanged.
namespace {

std::string_view rebase(std::string_view v, std::string_view from, const char* to) {
  if (v.empty() || v.data() < from.data() || v.data() + v.size() > from.data() + from.size()) return v;
  return {to + (v.data() - from.data()), v.size()};
}

// Streams the response body from the upstream connection. Owns the connection: gives it
// back to the pool when destroyed after a complete keep-alive response.
class H1ResponseBody final : public exchange::BodySource {
 public:
  H1ResponseBody(UpstreamPool& pool, const UpstreamEndpoint& endpoint, UpstreamConnectionPtr connection,
                 Framing framing, uint64_t length, bool keepAlive, Arena& arena)
      : pool_(pool),
        endpoint_(endpoint),
        connection_(std::move(connection)),
        keepAlive_(keepAlive && framing != Framing::UntilClose),
        reader_(*this, framing, length, arena) {}

  ~H1ResponseBody() override {
    if (!connection_) return;
    reader_.consumePending();
    connection_->buffer.shrink(kPooledBuffer);  // after a stream's 256 KiB reads
    if (reader_.finished() && keepAlive_ && !reader_.broken() && connection_->buffer.empty())
      pool_.release(endpoint_, std::move(connection_));
  }

  // Not a coroutine: hands back the reader's awaitable.
  awaitable<exchange::BodyChunk> read() override { return reader_.read(); }
  std::optional<uint64_t> length() const override { return reader_.length(); }
  const http::Headers* trailers() const override { return reader_.trailers(); }
  bool finished() const override { return reader_.finished(); }

  // The reader's source (exchange/h1_body_reader.h).
  io::ReadBuffer& buffer() { return connection_->buffer; }
  awaitable<error_code> fill() {
    if (streaming_ && connection_->buffer.empty() && connection_->queuedBytes() < kReadChunk) {
      // The body paused: its wait for more holds the usual buffer, not the stream's.
      streaming_ = false;
      connection_->buffer.shrink(kPooledBuffer);
    }
    auto buffer = connection_->buffer.prepare(streaming_ ? io::kStreamRead : kReadChunk);
    auto [ec, n] = co_await connection_->readSome(buffer);
    if (!ec) {
      connection_->buffer.commit(n);
      if (n == buffer.size()) streaming_ = true;
    }
    co_return ec;
  }
  // Takes what the socket already holds of a small body, without waiting: the head and
  // the whole body then leave in one write instead of a write per read.
  void topUp(uint64_t remaining) {
    io::ReadBuffer& buffer = connection_->buffer;
    if (connection_->tls || buffer.size() >= remaining || remaining > kTopUpLimit) return;
    auto space = buffer.prepare(size_t(remaining) - buffer.size());
    ssize_t n;
    do {
      n = ::recv(connection_->socket.native_handle(), space.data(), space.size(), MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n > 0) buffer.commit(size_t(n));
  }

 private:
  UpstreamPool& pool_;
  const UpstreamEndpoint& endpoint_;
  UpstreamConnectionPtr connection_;
  bool keepAlive_;
  bool streaming_ = false;  // a read filled the buffer: reads of io::kStreamRead until it pauses
  exchange::H1BodyReader<H1ResponseBody> reader_;
};

// Client → upstream until the client ends its side.
awaitable<void> pumpUp(exchange::DuplexStream& from, UpstreamConnection& to) {
  std::unique_ptr<char[]> buffer(new char[kReadChunk]);
  while (true) {
    auto [readError, n] = co_await from.readSome(asio::buffer(buffer.get(), kReadChunk));
    error_code ignored;
    if (readError) {
      if (readError == asio::error::eof) {
        to.socket.shutdown(tcp::socket::shutdown_send, ignored);
      } else {
        // A reset on one side ends both directions.
        from.close();
        to.socket.close(ignored);
      }
      co_return;
    }
    auto [writeError, written] = co_await to.write(asio::buffer(buffer.get(), n));
    if (writeError) {
      from.close();
      to.socket.close(ignored);
      co_return;
    }
  }
}

// Upstream → client until the upstream ends its side.
awaitable<void> pumpDown(UpstreamConnection& from, exchange::DuplexStream& to) {
  std::unique_ptr<char[]> buffer(new char[kReadChunk]);
  while (true) {
    auto [readError, n] = co_await from.readSome(asio::buffer(buffer.get(), kReadChunk));
    error_code ignored;
    if (readError) {
      if (readError == asio::error::eof) {
        to.shutdownSend();
      } else {
        from.socket.close(ignored);
        to.close();
      }
      co_return;
    }
    auto [writeError, written] = co_await to.writeAll(asio::buffer(buffer.get(), n));
    if (writeError) {
      from.socket.close(ignored);
      to.close();
      co_return;
    }
  }
}

// After a 101 the upstream connection becomes a byte tunnel to the client.
class H1UpgradeTunnel final : public exchange::UpgradeTunnel {
 public:
  explicit H1UpgradeTunnel(UpstreamConnectionPtr connection) : connection_(std::move(connection)) {}

  awaitable<void> run(exchange::DuplexStream& downstream, std::string_view pending) override {
    UpstreamConnection& upstream = *connection_;
    if (!pending.empty()) {
      auto [ec, n] = co_await upstream.write(asio::buffer(pending));
      if (ec) co_return;
    }
    if (!connection_->buffer.empty()) {
      auto [ec, n] = co_await downstream.writeAll(asio::buffer(connection_->buffer.data()));
      if (ec) co_return;
      connection_->buffer.consume(n);
    }
    using namespace asio::experimental::awaitable_operators;
    co_await (pumpUp(downstream, upstream) && pumpDown(upstream, downstream));
  }
  void abort() override {
    error_code ignored;
    connection_->socket.close(ignored);
  }

 private:
  UpstreamConnectionPtr connection_;
};

struct Attempt {
  ProxyError error = ProxyError::None;
  bool requestSent = false;
  bool staleRetryable = false;  // a reused connection failed before any response byte
};

// Writes the request head and body. Returns false with `error` set when the upstream
// write failed or the client body broke.
awaitable<bool> sendRequest(exchange::Exchange& ex, UpstreamConnection& c, Attempt& attempt) {
  exchange::BodySource* body = ex.request.body;
  std::string& head = c.writeBuffer;
  if (!body) {
    auto [ec, n] = co_await c.write(asio::buffer(head));
    if (ec) {
      attempt.error = ProxyError::UpstreamClosed;
      co_return false;
    }
    attempt.requestSent = true;
    co_return true;
  }

  bool chunked = !body->length().has_value();
  bool headPending = true;
  std::string framing;
  while (true) {
    exchange::BodyChunk chunk = co_await body->read();
    if (chunk.error) {
      attempt.error = ProxyError::RequestBodyFailed;
      co_return false;
    }
    std::array<asio::const_buffer, 4> buffers;
    size_t count = 0;
    if (headPending) buffers[count++] = asio::buffer(head);
    framing.clear();
    if (chunked && !chunk.data.empty()) {
      http::h1::appendNumber(framing, chunk.data.size(), 16);
      framing.append("\r\n");
      buffers[count++] = asio::buffer(framing);
    }
    if (!chunk.data.empty()) buffers[count++] = asio::buffer(chunk.data);
    std::string tail;
    if (chunked) {
      if (!chunk.data.empty()) tail.append("\r\n");
      if (chunk.last) {
        tail.append("0\r\n");
        if (const http::Headers* trailers = body->trailers())
          for (const auto& f : *trailers)
            if (!http::h1::isForbiddenTrailer(f.name)) http::h1::appendField(tail, f.name, f.value);
        tail.append("\r\n");
      }
      if (!tail.empty()) buffers[count++] = asio::buffer(tail);
    }
    if (count > 0) {
      auto [ec, n] = co_await c.write(std::span<const asio::const_buffer>(buffers.data(), count));
      if (ec) {
        attempt.error = ProxyError::UpstreamClosed;
        co_return false;
      }
      attempt.requestSent = true;
      headPending = false;
    }
    if (chunk.last) co_return true;
  }
}

}  // namespace

namespace {

bool mayResend(const exchange::Request& request) {
  std::string_view m = request.method;
  return m == "GET" || m == "HEAD" || m == "OPTIONS" || m == "TRACE" || request.headers.has("Idempotency-Key") ||
         request.headers.has("X-Idempotency-Key");
}

// The usual case, a bodiless request on a plain connection: writes its head from here,
// without a coroutine of its own. True when that settled the send (`sent` tells how); false
// when sendRequest must do it (a body, TLS, or a partial write).
bool sendHeadNow(const exchange::Exchange& ex, UpstreamConnection& c, Attempt& attempt, bool& sent) {
  if (ex.request.body || c.tls) return false;
  asio::const_buffer headBuffer = asio::buffer(c.writeBuffer);
  io::SendResult now = io::sendNow(c.socket, std::span(&headBuffer, 1));
  if (now.complete) {
    attempt.requestSent = sent = true;
    return true;
  }
  if (now.error) {
    attempt.error = ProxyError::UpstreamClosed;
    sent = false;
    return true;
  }
  c.writeBuffer.erase(0, now.sent);
  return false;
}

enum class HeadStep { Complete, NeedMore, Error };

// Parses the response head from what `c` has buffered. Interim responses (100 Continue,
// 103 Early Hints) are consumed and not forwarded; 101 is final.
HeadStep parseBufferedHead(UpstreamConnection& c, std::string_view method) {
  http::h1::Limits limits;
  limits.maxHeadBytes = kMaxResponseHead;
  limits.maxHeaderCount = 1000;
  http::h1::ParseError parseError;
  http::h1::ResponseHead& head = c.responseHead;
  while (!c.buffer.empty()) {
    auto status = http::h1::parseResponseHead(c.buffer.data(), method, limits, head, parseError);
    if (status == http::h1::ParseStatus::Error) return HeadStep::Error;
    if (status == http::h1::ParseStatus::Incomplete) return HeadStep::NeedMore;
    if (head.status >= 100 && head.status < 200 && head.status != 101) {
      c.buffer.consume(head.headBytes);
      continue;
    }
    return HeadStep::Complete;
  }
  return HeadStep::NeedMore;
}

// Copies the parsed head into the exchange's response (its bytes into the arena, so that
// the connection's buffer can move on), without the hop-by-hop fields.
void adoptResponseHead(exchange::Exchange& ex, UpstreamConnection& c) {
  const http::h1::ResponseHead& head = c.responseHead;
  std::string_view raw = c.buffer.data().substr(0, head.headBytes);
  std::string_view copy = ex.arena.copy(raw);
  const char* to = copy.data();
  exchange::Response& response = ex.response;
  response.status = head.status;
  response.reason = rebase(head.reason, raw, to);
  response.headers.clear();
  for (const auto& f : head.headers) {
    // Trailer stays: the trailers it announces are forwarded.
    if (http::isHopByHopField(f.name) && !iequals(f.name, "Trailer") &&
        !(head.status == 101 && iequals(f.name, "Upgrade")))
      continue;
    response.headers.add(rebase(f.name, raw, to), rebase(f.value, raw, to));
  }
  // Fields named in the response's Connection are hop-by-hop too ("keep-alive" and the
  // other hop-by-hop names are gone already).
  if (head.connectionField)
    http::forEachConnectionToken(head.headers, [&](std::string_view token) {
      if (!iequals(token, "Upgrade") && !iequals(token, "close") && !http::isHopByHopField(token))
        response.headers.remove(token);
    });
  c.buffer.consume(head.headBytes);
  response.body = nullptr;
  response.tunnel = nullptr;
  ex.record.originStatus = head.status;
  ex.record.originEnd = Clock::now();
}

// While it waits for the response head, a client that goes away abandons the connection
// (Exchange::clientGone).
struct WaitingOn {
  WaitingOn(exchange::Exchange& e, UpstreamConnection& c) : ex(e) { ex.waiting = &c; }
  ~WaitingOn() { ex.waiting = nullptr; }
  exchange::Exchange& ex;
};

}  // namespace

awaitable<ForwardResult> forwardHttp1(exchange::Exchange& ex, const UpstreamEndpoint& endpoint,
                                      const ForwardOptions& options) {
  UpstreamPool& pool = ex.worker.pool();
  ForwardResult result;
  if (wantsPrefetch(ex) && !co_await prefetchBody(ex)) {
    result.error = ProxyError::RequestBodyFailed;
    co_return result;
  }
  bool allowReuse = true;
  for (int attemptNumber = 0; attemptNumber < 2; ++attemptNumber) {
    // 1. A connection: pooled, or dialed (with TLS, ALPN may choose h2: hand it back). A
    // pooled one is taken without a coroutine of its own.
    Acquired acquired = allowReuse ? pool.takeIdle(endpoint) : Acquired{};
    if (!acquired.connection) acquired = co_await pool.dial(endpoint);
    if (!acquired.connection) {
      result.error = acquired.timedOut ? ProxyError::DialTimeout : ProxyError::DialFailed;
      co_return result;
    }
    UpstreamConnectionPtr connection = std::move(acquired.connection);
    if (endpoint.https() && !acquired.reused) {
      // ALPN decided the protocol of this server; remember it for the next requests.
      ex.worker.h2Sessions().setProtocol(endpoint.poolId, connection->http2);
      if (connection->http2) {
        result.http2Connection = std::move(connection);
        co_return result;
      }
    }
    UpstreamConnection& c = *connection;
    ++c.requests;

    // 2. The request.
    serializeRequestHead(ex.request, ex.connection, endpoint, options, c.writeBuffer);
    Attempt attempt;
    c.timedOut = false;
    ex.record.originStart = Clock::now();
    bool sent = false;
    if (!sendHeadNow(ex, c, attempt, sent)) sent = co_await sendRequest(ex, c, attempt);
    result.requestSent = result.requestSent || attempt.requestSent;
    if (!sent && attempt.error == ProxyError::RequestBodyFailed) {
      result.error = attempt.error;
      co_return result;
    }
    // Even when the body write failed, the upstream may have answered early (413...).

    // 3. The response head, within responseHeaderTimeout.
    {
      auto timeout = ex.limits.responseHeaderTimeout.count() > 0 ? ex.limits.responseHeaderTimeout
                                                                 : endpoint.transport->responseHeaderTimeout;
      Clock::time_point at = timeout.count() > 0 ? Clock::now() + timeout : Clock::time_point::max();
      c.armAt(std::min(at, ex.limits.deadline));  // a router's exchange timeout bounds it too
    }
    ProxyError error = ex.record.clientGone ? ProxyError::ClientGone : ProxyError::None;
    bool gotBytes = false;
    {
      WaitingOn waiting(ex, c);
      while (error == ProxyError::None) {
        gotBytes = gotBytes || !c.buffer.empty();
        HeadStep step = parseBufferedHead(c, ex.request.method);
        if (step == HeadStep::Complete) break;
        auto buffer = c.buffer.prepare(4096, kMaxResponseHead + 4096);
        if (step == HeadStep::Error || buffer.size() == 0) {
          error = ProxyError::BadResponse;
          break;
        }
        auto [ec, n] = co_await c.readSome(buffer);
        if (ec) {
          error = c.abandoned  ? ProxyError::ClientGone
                  : c.timedOut ? ProxyError::ResponseHeaderTimeout
                               : ProxyError::UpstreamClosed;
          break;
        }
        c.buffer.commit(n);
      }
    }
    c.disarm();
    if (error != ProxyError::None) {
      // A pooled connection the upstream had already closed: try once more on a new one,
      // when nothing of a body could have been consumed and the request may be sent twice,
      // as Go's Transport decides: nothing of it was written, or its method is idempotent
      // (GET, HEAD, OPTIONS, TRACE) or it carries an Idempotency-Key (docs/security.md, R06).
      bool replayable = ex.request.body == nullptr && (!attempt.requestSent || mayResend(ex.request));
      if (error == ProxyError::UpstreamClosed && acquired.reused && !gotBytes && replayable && attemptNumber == 0) {
        allowReuse = false;
        continue;
      }
      result.error = error;
      co_return result;
    }

    // 4. The response: head into the exchange, then a tunnel (101) or a streamed body.
    adoptResponseHead(ex, c);
    exchange::Response& response = ex.response;
    const http::h1::ResponseHead& head = c.responseHead;
    if (head.status == 101) {
      // Only to the protocol the client asked for, as Go's ReverseProxy checks (docs/security.md, S63).
      if (!ex.request.upgrade ||
          !iequals(trim(response.headers.get("Upgrade")), trim(ex.request.headers.get("Upgrade")))) {
        response.headers.clear();
        result.error = ProxyError::BadResponse;
        co_return result;
      }
      response.tunnel = ex.arena.make<H1UpgradeTunnel>(std::move(connection));
      co_return result;
    }
    bool keepAlive = head.keepAlive && !ex.request.upgrade && sent;
    if (head.framing == Framing::None) {
      if (keepAlive && c.buffer.empty()) pool.release(endpoint, std::move(connection));
      co_return result;
    }
    response.body = ex.arena.make<H1ResponseBody>(pool, endpoint, std::move(connection), head.framing,
                                                  head.contentLength, keepAlive, ex.arena);
    co_return result;
  }
  result.error = ProxyError::UpstreamClosed;
  co_return result;
}

}  // namespace causeway::upstream
