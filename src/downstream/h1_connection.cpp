#include "downstream/h1_connection.h"

#include <poll.h>

#include <charconv>
#include <cstring>
#include <type_traits>

#include "core/log.h"
#include "core/memory_budget.h"
#include "core/strings.h"
#include "downstream/forwarded_headers.h"
#include "downstream/request_prep.h"
#include "downstream/streams.h"
#include "exchange/h1_body_reader.h"
#include "exchange/local_reply.h"
#include "http/go_text.h"
#include "http/h1/chunked.h"
#include "http/h1/head_writer.h"
#include "http/uri.h"
#include "router/rule.h"
#include "runtime/entry_point.h"
#include "runtime/snapshot.h"
#include "tls/tls_stream.h"

namespace causeway::downstream {
namespace {

using http::h1::Framing;

constexpr size_t kBodyChunk = 16384;
constexpr std::chrono::seconds kClientProbe{1};
// A request head up to this size needs nothing from requestHeadBudget(); beyond it the read
// buffer grows in steps of at least kHeadGranule taken from the budget.
constexpr size_t kFreeHeadBytes = 16 << 10;
constexpr size_t kHeadGranule = 64 << 10;  // how often a waiting exchange checks its client

// Moves a view into a copy of the buffer it points into. Views that point elsewhere
// (string literals chosen by the parser, such as "/" for an empty absolute-form path) are
// returned unchanged.
std::string_view rebase(std::string_view v, std::string_view from, const char* to) {
  if (v.empty() || v.data() < from.data() || v.data() + v.size() > from.data() + from.size()) return v;
  return {to + (v.data() - from.data()), v.size()};
}

void appendStatusLine(http::h1::HeadWriter& w, int minor, int status, std::string_view reason) {
  w.put(minor == 0 ? std::string_view("HTTP/1.0 ") : std::string_view("HTTP/1.1 "));
  w.number(uint64_t(status));
  w.put(' ');
  w.put(reason.empty() ? http::reasonPhrase(status) : reason);
  w.put("\r\n");
}

// Response fields the codec writes itself instead of copying.
enum class OwnField { None, Date, Framing, Connection };

OwnField classifyResponseField(std::string_view name) {
  switch (name.size()) {
  case 4: return iequals(name, "Date") ? OwnField::Date : OwnField::None;
  case 10:
    return iequals(name, "Connection") || iequals(name, "Keep-Alive") ? OwnField::Connection : OwnField::None;
  case 14: return iequals(name, "Content-Length") ? OwnField::Framing : OwnField::None;
  case 17: return iequals(name, "Transfer-Encoding") ? OwnField::Framing : OwnField::None;
  default: return OwnField::None;
  }
}

bool statusHasNoBody(int status) { return (status >= 100 && status < 200) || status == 204 || status == 304; }

bool hasUnderscore(std::string_view name) { return name.find('_') != std::string_view::npos; }

}  // namespace

// The request body as the handler pulls it: bytes come from the connection's buffer
// first, then from the socket. Sends "100 Continue" on the first read when asked to.
template <class Stream>
class Http1Connection<Stream>::RequestBody final : public exchange::BodySource {
 public:
  RequestBody(Http1Connection<Stream>& c, Framing framing, uint64_t length, bool expectContinue)
      : c_(c), expectContinue_(expectContinue), reader_(*this, framing, length, c.arena_) {}
  ~RequestBody() override { reader_.consumePending(); }

  // Not a coroutine unless a 100 Continue is due: hands back the reader's awaitable.
  awaitable<exchange::BodyChunk> read() override {
    if (expectContinue_ && !reader_.finished()) return continueThenRead();
    return reader_.read();
  }
  std::optional<uint64_t> length() const override { return reader_.length(); }
  const http::Headers* trailers() const override { return reader_.trailers(); }
  bool finished() const override { return reader_.finished(); }
  bool broken() const { return reader_.broken(); }
  uint64_t bytes() const { return reader_.bytes(); }

  // The reader's source (exchange/h1_body_reader.h).
  io::ReadBuffer& buffer() { return c_.in_; }
  awaitable<error_code> fill() {
    auto buffer = c_.in_.prepare(kBodyChunk);
    auto [ec, n] = co_await c_.stream_.readSome(buffer);
    if (!ec) c_.in_.commit(n);
    co_return ec;
  }
  void bodyComplete() {
    c_.readingBody_ = false;
    c_.updateDeadline();
  }

 private:
  awaitable<exchange::BodyChunk> continueThenRead() {
    expectContinue_ = false;
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::const_buffer buffer = asio::buffer(kContinue);
    if (!co_await c_.writeAll(std::span<const asio::const_buffer>(&buffer, 1))) co_return reader_.fail();
    co_return co_await reader_.read();
  }

  Http1Connection<Stream>& c_;
  bool expectContinue_;
  exchange::H1BodyReader<RequestBody> reader_;
};

template <class Stream>
Http1Connection<Stream>::Http1Connection(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket& socket,
                                         Stream& stream, exchange::ConnectionInfo& info, io::ReadBuffer initial)
    : worker_(worker), entryPoint_(entryPoint), socket_(socket), stream_(stream), info_(info),
      in_(std::move(initial)), arena_(4096) {
  openedAt_ = Clock::now();
  nextIdleTimeout_ = entryPoint.idleTimeout;
  worker_.track(*this);
  worker_.watchdog().watch(*this);
}

template <class Stream>
Http1Connection<Stream>::~Http1Connection() {
  arena_.reset();
  if (headBudget_) requestHeadBudget().give(headBudget_);
}

template <class Stream>
void Http1Connection<Stream>::giveBackHeadMemory() {
  if (headBudget_ == 0 || in_.size() > kFreeHeadBytes) return;
  in_.shrink(kFreeHeadBytes);
  requestHeadBudget().give(headBudget_);
  headBudget_ = 0;
}

template <class Stream>
void Http1Connection<Stream>::releaseIdleMemory(http::h1::RequestHead& head) {
  releaseNow_ = false;
  if (headBudget_) {  // a large head's memory, kept while a long body followed it
    requestHeadBudget().give(headBudget_);
    headBudget_ = 0;
  }
  in_.release();
  arena_.release();
  out_ = std::string();
  scratch_ = std::string();
  head = http::h1::RequestHead();
  worker_.releasedIdleMemory();
}

template <class Stream>
void Http1Connection<Stream>::drain() {
  draining_ = true;
  if (phase_ == Phase::Idle) {
    error_code ignored;
    socket_.cancel(ignored);
  }
}

template <class Stream>
void Http1Connection<Stream>::onDeadline() {
  const Clock::time_point now = Clock::now();
  if (releaseArmed_) {
    releaseArmed_ = false;
    // (An idle timeout already due, at most a watchdog tick after the release's: a timeout.)
    if (phase_ == Phase::Idle && !draining_ && now < idleUntil_) {
      // Idle long enough: end the read that holds the buffer (readHead releases it), and keep
      // the idle timeout where it was.
      releaseNow_ = true;
      armAt(idleUntil_);
      error_code ignored;
      socket_.cancel(ignored);
      return;
    }
  }
  if (handling_ && !readingBody_ && now < writeDeadline_) {
    // A probe, not a timeout (docs/security.md, H02).
    if (peerClosed()) {
      log::debug("client closed while its request was being handled", {{"peer", info_.peerAddress}});
      clientLeft_ = true;
      probeAt_ = Clock::time_point::max();
      handling_->clientGone();
    } else {
      probeAt_ = now + kClientProbe;
    }
    updateDeadline();
    return;
  }
  // Shut the socket down rather than cancel: the exchange may be waiting on its upstream,
  // with no operation pending here, and must still never write after its deadline.
  timedOut_ = true;
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.cancel(ignored);
}

template <class Stream>
void Http1Connection<Stream>::updateDeadline() {
  Clock::time_point at = writeDeadline_;
  if (readingBody_ && readDeadline_ < at) at = readDeadline_;
  if (handling_ && !readingBody_ && probeAt_ < at) at = probeAt_;
  armAt(at);
}

template <class Stream>
void Http1Connection<Stream>::armSend() {
  // sendTimeout: a client that stops reading holds the connection this long at most (docs/security.md, H10).
  if (entryPoint_.sendTimeout.count() <= 0) return;
  const Clock::time_point at = Clock::now() + entryPoint_.sendTimeout;
  if (at < deadline()) armAt(at);
}

template <class Stream>
bool Http1Connection<Stream>::peerClosed() const {
  // POLLRDHUP: the peer shut down its sending side, seen even with unread bytes queued
  // (a TLS close_notify, pipelined requests).
  pollfd p{socket_.native_handle(), POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

template <class Stream>
awaitable<bool> Http1Connection<Stream>::writeAll(std::span<const asio::const_buffer> buffers) {
  size_t sent = 0;
  if (std::optional<bool> done = writeNow(buffers, sent)) co_return *done;
  co_return co_await writeRest(buffers, sent);
}

template <class Stream>
std::optional<bool> Http1Connection<Stream>::writeNow(std::span<const asio::const_buffer> buffers, size_t& sent) {
  if constexpr (std::is_same_v<Stream, PlainStream>) {
    // A response written whole in one call is never held by Nagle's algorithm; the next
    // write could be (connection.cpp, setNoDelay).
    if (wrote_) stream_.noDelay();
    wrote_ = true;
    // Straight to the socket; Asio only for what it could not take now.
    io::SendResult now = io::sendNow(socket_, buffers);
    if (now.error) return false;
    if (now.complete) return true;
    sent = now.sent;
  }
  return std::nullopt;
}

template <class Stream>
awaitable<bool> Http1Connection<Stream>::writeRest(std::span<const asio::const_buffer> buffers, size_t sent) {
  if constexpr (std::is_same_v<Stream, PlainStream>) {
    io::BufferTail rest(buffers, sent);
    armSend();
    auto [ec, n] = co_await asio::async_write(socket_, rest.span(), nothrow);
    updateDeadline();
    co_return !ec;
  } else {
    armSend();
    auto [ec, n] = co_await stream_.write(buffers);
    updateDeadline();
    co_return !ec;
  }
}

template <class Stream>
awaitable<bool> Http1Connection<Stream>::readHead(http::h1::RequestHead& head) {
  phase_ = Phase::Idle;
  releaseArmed_ = releaseNow_ = false;
  if (in_.empty()) {
    // Go arms ReadTimeout as soon as it reads a connection's first request; idleTimeout
    // only applies between requests of a keep-alive connection.
    bool first = served_ == 0 && entryPoint_.readTimeout.count() > 0;
    std::chrono::nanoseconds wait = first ? entryPoint_.readTimeout : nextIdleTimeout_;
    bool release = false;
    if constexpr (std::is_same_v<Stream, PlainStream>)
      release = served_ > 0 && (wait.count() <= 0 || wait > kIdleRelease);
    if (release) {
      const Clock::time_point now = Clock::now();
      idleUntil_ = wait.count() > 0 ? now + std::chrono::duration_cast<Clock::duration>(wait) : Clock::time_point::max();
      releaseArmed_ = true;
      armAt(now + kIdleRelease);
    } else {
      armIn(wait);
    }
  } else {
    armIn(entryPoint_.readTimeout);
  }
  bool started = !in_.empty();
  bool firstParse = true;
  scanner_.reset();
  while (true) {
    if (!in_.empty()) {
      // Parse on the first bytes (rejects garbage at once), then only when the scanner says
      // the head is complete or over a limit: a slow client cannot make us rescan a
      // growing head for every byte it sends.
      std::string_view data = in_.data();
      if (firstParse || scanner_.ready(data, entryPoint_.limits)) {
        firstParse = false;
        http::h1::ParseError error;
        auto status = http::h1::parseRequestHead(data, entryPoint_.limits, head, error);
        if (status == http::h1::ParseStatus::Complete) co_return true;
        if (status == http::h1::ParseStatus::Error) {
          log::debug("rejected malformed request", {{"peer", info_.peerAddress}, {"status", error.status},
                                                     {"reason", error.reason}});
          co_await writeError(error.status);
          co_return false;
        }
      }
    }
    if (draining_ && in_.empty()) co_return false;
    // Past kFreeHeadBytes the buffer grows only with memory taken from the process-wide
    // budget (docs/security.md, R10): when many clients send huge heads at once, the one that
    // finds it spent gets 431 instead of the process growing without bound.
    const size_t hardLimit = entryPoint_.limits.maxHeadBytes + 4096;
    auto buffer = in_.prepare(2048, std::min(hardLimit, kFreeHeadBytes + headBudget_));
    if (buffer.size() == 0 && kFreeHeadBytes + headBudget_ < hardLimit) {
      size_t more = std::min(std::max(kFreeHeadBytes + headBudget_, kHeadGranule), hardLimit - kFreeHeadBytes - headBudget_);
      if (!requestHeadBudget().tryTake(more)) {
        log::debug("request head memory budget spent; answering 431", {{"peer", info_.peerAddress}});
        co_await writeError(431);
        co_return false;
      }
      headBudget_ += more;
      buffer = in_.prepare(2048, std::min(hardLimit, kFreeHeadBytes + headBudget_));
    }
    if (buffer.size() == 0) {
      co_await writeError(431);
      co_return false;
    }
    auto [ec, n] = co_await stream_.readSome(buffer);
    if (ec) {
      if constexpr (std::is_same_v<Stream, PlainStream>) {
        if (ec == asio::error::operation_aborted && releaseNow_ && !draining_ && !timedOut_ && in_.empty()) {
          releaseIdleMemory(head);
          auto [waitError] = co_await socket_.async_wait(tcp::socket::wait_read, nothrow);
          if (!waitError) continue;
        }
      }
      co_return false;  // closed, reset, timed out or drained: nothing to answer
    }
    releaseNow_ = false;
    in_.commit(n);
    if (!started) {
      started = true;
      releaseArmed_ = false;
      phase_ = Phase::ReadingHead;
      armIn(entryPoint_.readTimeout);
    }
  }
}

template <class Stream>
int Http1Connection<Stream>::buildRequest(exchange::Exchange& ex, const http::h1::RequestHead& head) {
  exchange::Request& r = ex.request;
  // Move the head into the exchange's arena; the read buffer moves on to the body.
  std::string_view raw = in_.data().substr(0, head.headBytes);
  std::string_view copy = arena_.copy(raw);
  std::string_view from = raw;
  const char* to = copy.data();
  r.method = rebase(head.method, from, to);
  r.versionMajor = 1;
  r.versionMinor = head.versionMinor;
  r.headers.clear();
  for (const auto& f : head.headers) {
    if (entryPoint_.underscoreHeaders != runtime::EntryPoint::UnderscoreHeaders::Keep && hasUnderscore(f.name)) {
      if (entryPoint_.underscoreHeaders == runtime::EntryPoint::UnderscoreHeaders::Reject) return 400;
      continue;
    }
    r.headers.add(rebase(f.name, from, to), rebase(f.value, from, to));
  }
  in_.consume(head.headBytes);
  giveBackHeadMemory();
  if (int status = checkRequestFields(r.headers)) return status;

  if (r.method == "CONNECT") return 501;  // Traefik v3.7.9: HTTP/1 CONNECT is not proxied
  const http::Target& target = head.uri;
  r.scheme = info_.tls ? "https" : "http";
  // Routing host: the absolute-form authority when present (docs/security.md, S42), else Host.
  r.authority = rebase(head.host, from, to);
  int status = prepareRequestPath(r, arena_, entryPoint_, scratch_, rebase(target.path, from, to),
                                  rebase(target.query, from, to), target.hasQuery,
                                  target.form == http::TargetForm::Asterisk,
                                  r.authority.empty() ? std::string_view() : head.authority.host);
  if (status) return status;

  // An h2c upgrade is never forwarded (docs/security.md, S62, Traefik GHSA-w4v4-9rw7-5326): the
  // request goes on as plain HTTP/1.1 and the upgrade fields are dropped as hop-by-hop.
  r.upgrade = head.upgrade && !listContainsToken(r.headers.get("Upgrade"), "h2c");
  r.websocket = head.upgrade && iequals(r.headers.get("Upgrade"), "websocket");
  r.body = nullptr;
  if (head.framing == Framing::Chunked ||
      (head.framing == Framing::ContentLength && head.contentLength > 0)) {
    r.body = arena_.make<RequestBody>(*this, head.framing, head.contentLength, head.expectContinue);
    readingBody_ = true;
  }
  return 0;
}

template <class Stream>
awaitable<bool> Http1Connection<Stream>::writeResponse(exchange::Exchange& ex, bool headRequest, bool& close) {
  phase_ = Phase::Writing;
  exchange::Response& response = ex.response;
  const exchange::Request& request = ex.request;
  if (response.status < 100 || response.status > 999) exchange::statusTextReply(ex, 500);
  int status = response.status;
  bool upgraded = status == 101 && response.tunnel != nullptr;
  exchange::BodySource* body = statusHasNoBody(status) ? nullptr : response.body;

  out_.clear();
  std::string_view reason = response.reason.empty() ? http::reasonPhrase(status) : response.reason;
  std::string_view date = worker_.httpDate();
  size_t bound = reason.size() + date.size() + 128;
  for (const auto& f : response.headers) bound += f.name.size() + f.value.size() + 4;
  http::h1::HeadBuffer head(out_, bound);
  http::h1::HeadWriter& w = head.writer();
  appendStatusLine(w, request.versionMinor, status, reason);
  bool hasDate = false;
  bool hasLength = false;
  for (const auto& f : response.headers) {
    switch (classifyResponseField(f.name)) {
    case OwnField::Framing:
      hasLength = hasLength || f.name.size() == 14;
      if (body) continue;
      break;
    case OwnField::Connection: continue;
    case OwnField::Date: hasDate = true; break;
    case OwnField::None: break;
    }
    w.field(f.name, f.value);
  }
  if (!hasDate) w.field("Date", date);

  std::optional<uint64_t> length = body ? body->length() : std::nullopt;
  bool chunked = false;
  if (body) {
    if (length) {
      w.put("Content-Length: ");
      w.number(*length);
      w.put("\r\n");
    } else if (request.versionMinor >= 1) {
      w.put("Transfer-Encoding: chunked\r\n");
      chunked = true;
    } else {
      close = true;  // HTTP/1.0: the body ends with the connection
    }
  } else if (!statusHasNoBody(status) && !hasLength && !headRequest) {
    w.put("Content-Length: 0\r\n");
  }
  if (upgraded) {
    w.put("Connection: Upgrade\r\n\r\n");
  } else if (close) {
    w.put("Connection: close\r\n\r\n");
  } else if (request.versionMinor == 0) {
    w.put("Connection: keep-alive\r\n\r\n");
  } else {
    w.put("\r\n");
  }
  head.finish();

  if (!body || headRequest) {
    asio::const_buffer buffer = asio::buffer(out_);
    if (!co_await writeAll(std::span<const asio::const_buffer>(&buffer, 1))) co_return false;
    if (upgraded) {
      phase_ = Phase::Handling;
      disarm();
      StreamDuplex<Stream> duplex(stream_);
      co_await response.tunnel->run(duplex, in_.data());
      in_.consume(in_.size());
      close = true;
    }
    co_return true;
  }

  bool headPending = true;
  // An event stream's head goes out at once, as Go's ReverseProxy flushes it: its first event may
  // be long in coming, and clients wait for the head (the MCP GET stream, SSE). A stream that
  // breaks before its first byte is then cut rather than answered 502.
  if (istartsWith(response.headers.get("Content-Type"), "text/event-stream")) {
    asio::const_buffer buffer = asio::buffer(out_);
    if (!co_await writeAll(std::span<const asio::const_buffer>(&buffer, 1))) co_return false;
    headPending = false;
  }
  char sizeLine[24];
  while (true) {
    exchange::BodyChunk chunk = co_await body->read();
    if (chunk.error) {
      close = true;
      if (headPending && !ex.record.clientGone) {
        // Nothing has been sent: the broken upstream answer becomes a 502 (docs/security.md, R08).
        exchange::statusTextReply(ex, 502);
        co_return co_await writeResponse(ex, headRequest, close);
      }
      co_return false;  // the response has started: cutting the connection is the only signal
    }
    std::array<asio::const_buffer, 5> buffers;
    size_t count = 0;
    if (headPending) buffers[count++] = asio::buffer(out_);
    if (chunked && !chunk.data.empty()) {
      auto [end, ec] = std::to_chars(sizeLine, sizeLine + 20, chunk.data.size(), 16);
      *end++ = '\r';
      *end++ = '\n';
      buffers[count++] = asio::buffer(sizeLine, size_t(end - sizeLine));
    }
    if (!chunk.data.empty()) buffers[count++] = asio::buffer(chunk.data);
    ex.record.responseBytes += chunk.data.size();
    std::string_view crlf = "\r\n";
    if (chunked && !chunk.data.empty()) buffers[count++] = asio::buffer(crlf);
    if (chunked && chunk.last) {
      scratch_.assign("0\r\n");
      if (const http::Headers* trailers = body->trailers())
        for (const auto& f : *trailers)  // from any upstream (HTTP/2 too): never framing or routing fields
          if (!http::h1::isForbiddenTrailer(f.name)) http::h1::appendField(scratch_, f.name, f.value);
      scratch_.append("\r\n");
      buffers[count++] = asio::buffer(scratch_);
    }
    if (count > 0) {
      const std::span<const asio::const_buffer> pieces(buffers.data(), count);
      size_t sent = 0;
      std::optional<bool> written = writeNow(pieces, sent);
      if (!written) written = co_await writeRest(pieces, sent);
      if (!*written) co_return false;
      headPending = false;
    }
    if (chunk.last) co_return true;
  }
}

template <class Stream>
awaitable<void> Http1Connection<Stream>::writeError(int status) {
  // Go's server answers malformed requests this way, then closes.
  out_.clear();
  std::string_view reason = http::reasonPhrase(status);
  http::h1::HeadBuffer head(out_, 2 * reason.size() + 160);
  http::h1::HeadWriter& w = head.writer();
  appendStatusLine(w, 1, status, reason);
  w.put("Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: ");
  w.number(4 + reason.size());
  w.put("\r\n\r\n");
  w.number(uint64_t(status));
  w.put(' ');
  w.put(reason);
  head.finish();
  armIn(std::chrono::seconds(5));
  asio::const_buffer buffer = asio::buffer(out_);
  co_await writeAll(std::span<const asio::const_buffer>(&buffer, 1));
  co_await lingeringClose();
}

template <class Stream>
awaitable<void> Http1Connection<Stream>::lingeringClose() {
  // Half-close, then read and discard for a moment so that closing with unread input
  // does not reset the connection before the client has read our answer.
  phase_ = Phase::Closing;
  closeNotify();
  error_code ignored;
  socket_.shutdown(tcp::socket::shutdown_send, ignored);
  armIn(std::chrono::seconds(2));
  char discard[4096];
  size_t total = 0;
  while (total < (1 << 20)) {
    auto [ec, n] = co_await socket_.async_read_some(asio::buffer(discard), nothrow);  // raw: discard
    if (ec) break;
    total += n;
  }
  socket_.close(ignored);
}

template <class Stream>
awaitable<void> Http1Connection<Stream>::run() {
  http::h1::RequestHead head;
  while (true) {
    if (!co_await readHead(head)) break;

    exchange::Exchange ex(worker_, arena_, info_);
    ex.record.start = Clock::now();
    ex.record.startWall = std::chrono::system_clock::now();
    phase_ = Phase::Handling;
    timedOut_ = false;
    readDeadline_ = entryPoint_.readTimeout.count() > 0 ? Clock::now() + entryPoint_.readTimeout
                                                         : Clock::time_point::max();
    writeDeadline_ = entryPoint_.writeTimeout.count() > 0 ? Clock::now() + entryPoint_.writeTimeout
                                                           : Clock::time_point::max();
    readingBody_ = false;
    bool keepAlive = head.keepAlive;
    bool headRequest = head.method == "HEAD";
    int rejected = buildRequest(ex, head);
    if (rejected) {
      arena_.reset();
      co_await writeError(rejected);
      break;
    }
    updateDeadline();
    ++served_;

    // Pin the snapshot for the whole exchange, body included: a reload must not free the
    // handlers or endpoints this request uses (the copy touches only this worker's count).
    runtime::SnapshotPtr pinned = worker_.snapshot();
    ex.snapshot = pinned.get();
    applyForwardedHeaders(ex.request, arena_, info_, entryPoint_);
    // The codec's own body: a middleware may replace ex.request.body (forwardAuth replays a
    // buffered copy), but whether the connection can be reused depends on this one.
    auto* body = static_cast<RequestBody*>(ex.request.body);
    worker_.observeRequest(ex);
    handling_ = &ex;
    clientLeft_ = false;
    probeAt_ = ex.record.start + kClientProbe;
    updateDeadline();
    co_await routeAndServe(ex, entryPoint_);
    handling_ = nullptr;
    updateDeadline();  // the probe is over

    bool close = !keepAlive || draining_ || worker_.draining() || ex.response.closeConnection ||
                 (entryPoint_.keepAliveMaxRequests > 0 && served_ >= entryPoint_.keepAliveMaxRequests) ||
                 (entryPoint_.keepAliveMaxTime.count() > 0 &&
                  Clock::now() - openedAt_ >= entryPoint_.keepAliveMaxTime);
    // An unread request body would be parsed as the next request: never reuse then.
    if (body && !body->finished()) close = true;
    if (ex.request.upgrade && ex.response.status == 101) close = true;
    if (clientLeft_) close = true;

    if (ex.limits.deadline < writeDeadline_) {
      writeDeadline_ = ex.limits.deadline;  // the router's exchange timeout bounds the write
      updateDeadline();
    }
    nextIdleTimeout_ = ex.limits.idleTimeout.count() >= 0 ? ex.limits.idleTimeout : entryPoint_.idleTimeout;
    bool written = co_await writeResponse(ex, headRequest, close);
    if (!written) ex.clientGone();  // gives up what still waits on the upstream (a stream's reader)
    if (!ex.background.empty()) {
      ex.endWaits();
      // A request-body pump still runs beside the exchange (HTTP/2 upstream): stop it from
      // waiting on a client that will send no more, then let it finish.
      if (body && !body->finished()) {
        close = true;
        error_code ignored;
        socket_.cancel(ignored);
      }
      co_await ex.background.join();
    }
    ex.record.downstreamStatus = written ? ex.response.status : 0;
    ex.record.clientGone = !written;
    if (body) ex.record.requestBytes = body->bytes();
    worker_.observeComplete(ex);
    arena_.reset();
    if (!written || close) {
      if (written) closeNotify();  // an orderly end, not a broken write
      break;
    }
  }
  if (socket_.is_open()) {
    error_code ignored;
    socket_.close(ignored);  // (a shutdown first would add a system call and change nothing)
  }
}

template class Http1Connection<PlainStream>;
template class Http1Connection<tls::TlsStream>;

}  // namespace causeway::downstream
