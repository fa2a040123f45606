#include "upstream/h2_client.h"

#include <nghttp2/nghttp2.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <charconv>
#include <deque>
#include <optional>

#include "core/log.h"
#include "core/strings.h"
#include "http/hop_by_hop.h"
#include "http/nghttp2_util.h"
#include "io/serial_writer.h"
#include "io/signal.h"
#include "upstream/connection_pool.h"

namespace causeway::upstream {
namespace {

constexpr int32_t kWindow = 1 << 20;
constexpr size_t kWriteBatch = 64 * 1024;  // frames gathered into one write

bool isLowerCase(std::string_view s) {
  for (char c : s)
    if (c >= 'A' && c <= 'Z') return false;
  return true;
}

}  // namespace

// One request/response on an upstream HTTP/2 connection.
struct H2UpstreamStream {
  H2UpstreamStream(std::shared_ptr<H2UpstreamSession> s, asio::any_io_executor executor)
      : session(std::move(s)), headReady(executor), dataReady(executor), sendReady(executor) {}
  std::shared_ptr<H2UpstreamSession> session;
  int32_t id = -1;
  // Response.
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::vector<std::pair<std::string, std::string>> trailers;
  bool headDone = false;
  bool ended = false;  // END_STREAM from the upstream
  bool reset = false;  // closed before the end (RST_STREAM or connection lost)
  std::deque<std::string> data;
  io::Signal headReady;
  io::Signal dataReady;
  // Request body.
  std::string_view pending;
  bool requestLast = false;
  bool requestError = false;
  io::Signal sendReady;
};

class H2UpstreamSession : public std::enable_shared_from_this<H2UpstreamSession> {
 public:
  explicit H2UpstreamSession(UpstreamConnectionPtr connection) : connection_(std::move(connection)) {}
  ~H2UpstreamSession() {
    if (session_) nghttp2_session_del(session_);
  }

  bool start();
  bool usable() const {
    if (dead_ || goingAway_ || !session_) return false;
    uint32_t limit = nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    return streams_.size() < std::min<uint32_t>(limit, 1000);
  }
  bool dead() const { return dead_; }
  nghttp2_session* session() { return session_; }
  asio::any_io_executor executor() { return connection_->socket.get_executor(); }

  int32_t submit(const std::shared_ptr<H2UpstreamStream>& stream, const std::vector<nghttp2_nv>& nv, bool withBody);
  // Frames were queued: the writer coroutine sends everything queued this turn in one write.
  void requestFlush() {
    if (writeWanted_) writeWanted_->notify();
  }
  void cancel(H2UpstreamStream& stream, uint32_t code) {
    if (!dead_ && stream.id > 0 && !stream.ended && !stream.reset)
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, code);
  }

 private:
  awaitable<void> readLoop();
  awaitable<void> writerLoop();
  awaitable<void> flush();
  void fail();
  H2UpstreamStream* find(int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* self);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int onDataChunk(nghttp2_session*, uint8_t, int32_t id, const uint8_t* data, size_t len, void* self);
  static int onStreamClose(nghttp2_session*, int32_t id, uint32_t error, void* self);
  static ssize_t readRequest(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                             nghttp2_data_source* source, void*);

  UpstreamConnectionPtr connection_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, std::shared_ptr<H2UpstreamStream>> streams_;
  io::SerialWriter writer_;
  bool dead_ = false;
  bool goingAway_ = false;
  std::optional<io::Signal> writeWanted_;
};

int H2UpstreamSession::onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                                const uint8_t* value, size_t valuelen, uint8_t, void* self) {
  auto* s = static_cast<H2UpstreamSession*>(self)->find(frame->hd.stream_id);
  if (!s) return 0;
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (s->headDone) {
    s->trailers.emplace_back(n, v);
    return 0;
  }
  if (n == ":status") {
    int status = 0;
    std::from_chars(v.data(), v.data() + v.size(), status);
    s->status = status;
    return 0;
  }
  if (!n.empty() && n[0] == ':') return 0;
  s->headers.emplace_back(n, v);
  return 0;
}

int H2UpstreamSession::onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto* session = static_cast<H2UpstreamSession*>(self);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    session->goingAway_ = true;
    return 0;
  }
  auto* s = session->find(frame->hd.stream_id);
  if (!s) return 0;
  bool endStream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (frame->hd.type == NGHTTP2_HEADERS && !s->headDone) {
    if (s->status >= 100 && s->status < 200) {
      s->headers.clear();  // interim response: wait for the final one
      s->status = 0;
      return 0;
    }
    s->headDone = true;
    if (endStream) s->ended = true;
    s->headReady.notify();
    s->dataReady.notify();
  } else if (endStream) {
    s->ended = true;
    s->dataReady.notify();
  }
  return 0;
}

int H2UpstreamSession::onDataChunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data, size_t len,
                                   void* self) {
  auto* s = static_cast<H2UpstreamSession*>(self)->find(id);
  if (!s) {
    nghttp2_session_consume(session, id, len);
    return 0;
  }
  s->data.emplace_back(reinterpret_cast<const char*>(data), len);
  s->dataReady.notify();
  return 0;
}

int H2UpstreamSession::onStreamClose(nghttp2_session*, int32_t id, uint32_t error, void* self) {
  auto* session = static_cast<H2UpstreamSession*>(self);
  auto it = session->streams_.find(id);
  if (it == session->streams_.end()) return 0;
  H2UpstreamStream& s = *it->second;
  if (!s.ended) s.reset = true;
  s.headReady.notify();
  s.dataReady.notify();
  s.sendReady.notify();
  session->streams_.erase(it);
  return 0;
}

ssize_t H2UpstreamSession::readRequest(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                                       nghttp2_data_source* source, void*) {
  auto* s = static_cast<H2UpstreamStream*>(source->ptr);
  if (s->requestError) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  if (s->pending.empty()) {
    if (s->requestLast) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    s->sendReady.notify();
    return NGHTTP2_ERR_DEFERRED;
  }
  size_t n = std::min(length, s->pending.size());
  std::memcpy(buf, s->pending.data(), n);
  s->pending.remove_prefix(n);
  if (s->pending.empty()) {
    if (s->requestLast) *flags |= NGHTTP2_DATA_FLAG_EOF;
    else s->sendReady.notify();
  }
  return ssize_t(n);
}

bool H2UpstreamSession::start() {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &H2UpstreamSession::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &H2UpstreamSession::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &H2UpstreamSession::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &H2UpstreamSession::onStreamClose);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_peer_max_concurrent_streams(option, 100);
  nghttp2_option_set_no_closed_streams(option, 1);  // no RFC 7540 priority tree (kept closed streams)
  int rv = nghttp2_session_client_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) return false;
  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                       {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, uint32_t(kWindow)}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 4 * kWindow);
  writeWanted_.emplace(executor());
  asio::co_spawn(executor(), [self = shared_from_this()]() -> awaitable<void> { co_await self->readLoop(); },
                 asio::detached);
  asio::co_spawn(executor(), [self = shared_from_this()]() -> awaitable<void> { co_await self->writerLoop(); },
                 asio::detached);
  return true;
}

int32_t H2UpstreamSession::submit(const std::shared_ptr<H2UpstreamStream>& stream, const std::vector<nghttp2_nv>& nv,
                                  bool withBody) {
  nghttp2_data_provider provider;
  provider.source.ptr = stream.get();
  provider.read_callback = &H2UpstreamSession::readRequest;
  int32_t id = nghttp2_submit_request(session_, nullptr, nv.data(), nv.size(), withBody ? &provider : nullptr,
                                      stream.get());
  if (id > 0) {
    stream->id = id;
    streams_[id] = stream;
  }
  return id;
}

awaitable<void> H2UpstreamSession::flush() {
  auto self = shared_from_this();
  bool ok = co_await writer_.flush(
      [this](std::string& out) {
        if (!dead_) http::takeFrames(session_, out, kWriteBatch);
      },
      [this](asio::const_buffer buffer) { return connection_->write(buffer); });
  if (!ok) fail();
}

awaitable<void> H2UpstreamSession::writerLoop() {
  auto self = shared_from_this();
  while (!dead_) {
    co_await flush();
    if (dead_) break;
    co_await writeWanted_->wait();
  }
}

void H2UpstreamSession::fail() {
  if (dead_) return;
  dead_ = true;
  if (writeWanted_) writeWanted_->notify();
  error_code ignored;
  connection_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  connection_->socket.cancel(ignored);
  for (auto& [id, stream] : streams_) {
    if (!stream->ended) stream->reset = true;
    stream->headReady.notify();
    stream->dataReady.notify();
    stream->sendReady.notify();
  }
  streams_.clear();
}

awaitable<void> H2UpstreamSession::readLoop() {
  auto self = shared_from_this();
  requestFlush();
  io::ReadBuffer& in = connection_->buffer;
  while (!dead_) {
    if (!in.empty()) {
      ssize_t consumed = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(in.data().data()),
                                                  in.size());
      if (consumed < 0) break;
      in.consume(size_t(consumed));
      requestFlush();
      if (goingAway_ && streams_.empty()) break;
    }
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) break;
    auto [ec, n] = co_await connection_->readSome(in.prepare(16384, 1 << 20));
    if (ec) break;
    in.commit(n);
  }
  fail();
}

namespace {

// The response body of one upstream stream. Window credit goes back as the downstream side
// takes each piece (back-pressure end to end).
class H2ResponseBody final : public exchange::BodySource {
 public:
  explicit H2ResponseBody(std::shared_ptr<H2UpstreamStream> stream) : stream_(std::move(stream)) {}
  ~H2ResponseBody() override {
    H2UpstreamStream& s = *stream_;
    if (!s.ended && !s.reset && !s.session->dead()) {
      s.session->cancel(s, NGHTTP2_CANCEL);
      s.session->requestFlush();
    }
  }

  awaitable<exchange::BodyChunk> read() override {
    H2UpstreamStream& s = *stream_;
    if (returned_) {
      size_t n = s.data.front().size();
      s.data.pop_front();
      returned_ = false;
      if (!s.session->dead()) {
        nghttp2_session_consume(s.session->session(), s.id, n);
        s.session->requestFlush();
      }
    }
    while (s.data.empty() && !s.ended && !s.reset) co_await s.dataReady.wait();
    if (!s.data.empty()) {
      returned_ = true;
      bool last = s.ended && s.data.size() == 1;
      if (last) complete();
      co_return exchange::BodyChunk{s.data.front(), last, false};
    }
    if (s.ended) {
      complete();
      co_return exchange::BodyChunk{{}, true, false};
    }
    co_return exchange::BodyChunk{{}, false, true};
  }
  std::optional<uint64_t> length() const override { return length_; }
  const http::Headers* trailers() const override { return finished_ && !trailers_.empty() ? &trailers_ : nullptr; }
  bool finished() const override { return finished_; }
  void setLength(std::optional<uint64_t> length) { length_ = length; }

 private:
  void complete() {
    finished_ = true;
    for (const auto& [name, value] : stream_->trailers) trailers_.add(name, value);
  }
  std::shared_ptr<H2UpstreamStream> stream_;
  bool returned_ = false;
  bool finished_ = false;
  std::optional<uint64_t> length_;
  http::Headers trailers_;
};

awaitable<void> pumpRequestBody(std::shared_ptr<H2UpstreamStream> stream, exchange::BodySource* body) {
  H2UpstreamStream& s = *stream;
  auto session = s.session;
  while (!s.reset && !session->dead()) {
    exchange::BodyChunk chunk = co_await body->read();
    if (s.reset || session->dead()) break;
    if (chunk.error) {
      s.requestError = true;
      session->cancel(s, NGHTTP2_CANCEL);
      session->requestFlush();
      break;
    }
    s.pending = chunk.data;
    s.requestLast = chunk.last;
    nghttp2_session_resume_data(session->session(), s.id);
    session->requestFlush();
    while (!s.pending.empty() && !s.reset && !session->dead()) co_await s.sendReady.wait();
    if (chunk.last) break;
  }
}

}  // namespace

std::shared_ptr<H2UpstreamSession> H2SessionPool::find(const UpstreamEndpoint& endpoint) {
  auto it = sessions_.find(endpoint.poolId);
  if (it == sessions_.end()) return nullptr;
  auto& list = it->second;
  std::erase_if(list, [](const std::shared_ptr<H2UpstreamSession>& s) { return s->dead(); });
  for (auto& session : list)
    if (session->usable()) return session;
  return nullptr;
}

void H2SessionPool::add(const UpstreamEndpoint& endpoint, std::shared_ptr<H2UpstreamSession> session) {
  sessions_[endpoint.poolId].push_back(std::move(session));
}

std::shared_ptr<H2SessionPool::PendingDial> H2SessionPool::dialing(uint64_t poolId) const {
  auto it = dialing_.find(poolId);
  return it == dialing_.end() ? nullptr : it->second;
}

std::shared_ptr<H2SessionPool::PendingDial> H2SessionPool::beginDial(uint64_t poolId,
                                                                     asio::any_io_executor executor) {
  auto dial = std::make_shared<PendingDial>(std::move(executor));
  dialing_[poolId] = dial;
  return dial;
}

void H2SessionPool::endDial(uint64_t poolId, ProxyError error) {
  auto it = dialing_.find(poolId);
  if (it == dialing_.end()) return;
  it->second->finished = true;
  it->second->error = error;
  it->second->done.cancel();
  dialing_.erase(it);
}

std::optional<bool> H2SessionPool::protocolOf(uint64_t poolId) const {
  auto it = protocols_.find(poolId);
  if (it == protocols_.end()) return std::nullopt;
  return it->second;
}

void H2SessionPool::closeAll() { sessions_.clear(); }

awaitable<ForwardResult> forwardHttp2(exchange::Exchange& ex, const UpstreamEndpoint& endpoint, const ForwardOptions& options,
                                      UpstreamConnectionPtr connection) {
  ForwardResult result;
  H2SessionPool& pool = ex.worker.h2Sessions();
  std::shared_ptr<H2UpstreamSession> session;
  if (connection) {
    session = std::make_shared<H2UpstreamSession>(std::move(connection));
    if (!session->start()) {
      result.error = ProxyError::UpstreamClosed;
      co_return result;
    }
    pool.add(endpoint, session);
  } else {
    session = pool.find(endpoint);
    // Wait for a dial already under way; its session usually has room for this stream too.
    while (!session) {
      std::shared_ptr<H2SessionPool::PendingDial> dial = pool.dialing(endpoint.poolId);
      if (!dial) break;
      while (!dial->finished) co_await dial->done.async_wait(nothrow);
      if (dial->error != ProxyError::None) {
        result.error = dial->error;
        co_return result;
      }
      session = pool.find(endpoint);
    }
    if (!session) {
      pool.beginDial(endpoint.poolId, ex.worker.io().get_executor());
      // Waiters are released however this frame ends.
      struct EndDial {
        H2SessionPool& pool;
        uint64_t poolId;
        ProxyError& error;
        ~EndDial() { pool.endDial(poolId, error); }
      } endDial{pool, endpoint.poolId, result.error};
      Acquired acquired = co_await ex.worker.pool().dial(endpoint);
      if (!acquired.connection) {
        result.error = acquired.timedOut ? ProxyError::DialTimeout : ProxyError::DialFailed;
        co_return result;
      }
      session = std::make_shared<H2UpstreamSession>(std::move(acquired.connection));
      if (!session->start()) {
        result.error = ProxyError::UpstreamClosed;
        co_return result;
      }
      pool.add(endpoint, session);
    }
  }

  // The request head, lower-case as HTTP/2 requires.
  const exchange::Request& r = ex.request;
  std::string_view path = r.path.empty() ? std::string_view("/") : r.path;
  if (options.preservePath && !endpoint.path().empty() && endpoint.path() != "/") {
    std::string_view base = endpoint.path();
    if (base.back() == '/') base.remove_suffix(1);
    path = ex.arena.concat({base, path});
  }
  if (r.hasQuery) path = ex.arena.concat({path, "?", r.query});
  std::string_view authority =
      options.passHostHeader && !r.authority.empty() ? r.authority : endpoint.authority();
  std::vector<nghttp2_nv> nv;
  nv.reserve(r.headers.size() + 8);
  nv.push_back(http::makeNv(":method", r.method));
  nv.push_back(http::makeNv(":scheme", endpoint.https() ? "https" : "http"));
  nv.push_back(http::makeNv(":authority", authority));
  nv.push_back(http::makeNv(":path", path));
  bool sawForwardedFor = false;
  const bool appendForwardedFor = options.appendXForwardedFor && !ex.connection.notAppendForwardedFor;
  for (const auto& f : r.headers) {
    if (iequals(f.name, "Host") || iequals(f.name, "Content-Length")) continue;
    if (http::isHopByHopField(f.name)) {
      if (iequals(f.name, "TE") && listContainsToken(f.value, "trailers")) nv.push_back(http::makeNv("te", "trailers"));
      continue;
    }
    std::string_view name = isLowerCase(f.name) ? f.name : ex.arena.copy(toLower(f.name));
    if (appendForwardedFor && name == "x-forwarded-for") {
      sawForwardedFor = true;
      nv.push_back(http::makeNv(name, ex.arena.concat({f.value, ", ", ex.connection.peerIpText})));
      continue;
    }
    nv.push_back(http::makeNv(name, f.value));
  }
  if (appendForwardedFor && !sawForwardedFor && !r.omitForwardedFor)
    nv.push_back(http::makeNv("x-forwarded-for", ex.connection.peerIpText));
  if (r.body) {
    if (auto length = r.body->length()) nv.push_back(http::makeNv("content-length", ex.arena.copy(std::to_string(*length))));
  }

  auto stream = std::make_shared<H2UpstreamStream>(session, session->executor());
  if (session->submit(stream, nv, r.body != nullptr) <= 0) {
    result.error = ProxyError::UpstreamClosed;
    co_return result;
  }
  result.requestSent = true;
  ex.record.originStart = Clock::now();
  if (r.body) ex.background.spawn(session->executor(), pumpRequestBody(stream, r.body));
  session->requestFlush();

  // Wait for the response head (responseHeaderTimeout when set).
  auto timeout = ex.limits.responseHeaderTimeout.count() > 0 ? ex.limits.responseHeaderTimeout
                                                             : endpoint.transport->responseHeaderTimeout;
  Clock::time_point headDeadline = timeout.count() > 0 ? Clock::now() + timeout : Clock::time_point::max();
  headDeadline = std::min(headDeadline, ex.limits.deadline);  // a router's exchange timeout bounds it too
  if (headDeadline != Clock::time_point::max()) {
    asio::steady_timer timer(session->executor(), headDeadline);
    using namespace asio::experimental::awaitable_operators;
    while (!stream->headDone && !stream->reset) {
      auto which = co_await (stream->headReady.wait() || timer.async_wait(asio::use_awaitable));
      if (which.index() == 1) {
        session->cancel(*stream, NGHTTP2_CANCEL);
        session->requestFlush();
        result.error = ProxyError::ResponseHeaderTimeout;
        co_return result;
      }
    }
  } else {
    while (!stream->headDone && !stream->reset) co_await stream->headReady.wait();
  }
  if (!stream->headDone) {
    result.error = ProxyError::UpstreamClosed;
    co_return result;
  }

  exchange::Response& response = ex.response;
  response.status = stream->status;
  response.reason = {};
  response.headers.clear();
  std::optional<uint64_t> length;
  for (const auto& [name, value] : stream->headers) {
    if (name == "content-length") length = parseDecimal(value);
    response.headers.add(ex.arena.copy(name), ex.arena.copy(value));
  }
  response.tunnel = nullptr;
  ex.record.originStatus = stream->status;
  ex.record.originEnd = Clock::now();
  if (stream->ended && stream->data.empty()) {
    response.body = nullptr;  // headers only (or a gRPC trailers-only answer)
    co_return result;
  }
  auto* body = ex.arena.make<H2ResponseBody>(stream);
  body->setLength(length);
  response.body = body;
  co_return result;
}

}  // namespace causeway::upstream
