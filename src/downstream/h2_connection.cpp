#include "downstream/h2_connection.h"

#include <nghttp2/nghttp2.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <deque>
#include <list>
#include <memory>
#include <unordered_map>

#include "core/bytes.h"
#include "core/log.h"
#include "core/strings.h"
#include "downstream/forwarded_headers.h"
#include "downstream/request_prep.h"
#include "downstream/stream_head.h"
#include "downstream/stream_tunnel.h"
#include "downstream/streams.h"
#include "exchange/local_reply.h"
#include "http/go_text.h"
#include "http/h1/chunked.h"
#include "http/hop_by_hop.h"
#include "http/nghttp2_util.h"
#include "io/failures.h"
#include "io/serial_writer.h"
#include "io/signal.h"
#include "io/watchdog.h"
#include "runtime/entry_point.h"
#include "runtime/snapshot.h"
#include "runtime/worker.h"
#include "tls/tls_stream.h"

namespace causeway::downstream {
namespace {

// Decoded header lists (HPACK amplification, docs/security.md R10) are bounded as
// stream_head.h says (over a budget: RST_STREAM REFUSED_STREAM, the client may retry).
constexpr int32_t kStreamWindow = 256 * 1024;
constexpr int32_t kConnectionWindow = 4 << 20;
constexpr size_t kWriteBatch = 64 * 1024;  // frames gathered into one write
// A response's last piece up to this size is copied into its stream, whose handler then ends
// without waiting for the writer (Http2Connection::ownsTail).
constexpr size_t kOwnedTail = 16 * 1024;
constexpr std::chrono::seconds kCloseLinger{2};  // for the last frames once reading has stopped
// After a GOAWAY that ends the session (an error, or nothing left to serve), the peer gets this
// long to read it before the socket closes, as Go's goAwayTimeout (docs/security.md, F08, F11).
constexpr std::chrono::seconds kGoAwayLinger{1};
// Streams this server resets because of the peer's errors share one budget per connection,
// as nghttp2 budgets the peer's own resets (1000, then 33 per second): MadeYouReset
// (CVE-2025-8671; docs/security.md, F02) makes the server reset streams with invalid frames instead.
constexpr double kResetBurst = 1000;
constexpr double kResetsPerSecond = 33;
// Window dribbling (docs/security.md, F09): DATA waits for a window of at least
// kMinDataFrame bytes (or all that is left, or half the peer's initial window when that is
// smaller: usefulWindow), so a peer that opens its window a byte at a time does not get
// one-byte frames, and WINDOW_UPDATEs smaller than that spend a budget that the DATA frames
// sent replenish.
constexpr size_t kMinDataFrame = 1024;
constexpr double kTinyUpdateBurst = 1000;
// Streams that may wait for a handler beyond the concurrent-stream limit, per unit of it (Go
// queues up to 4× the limit before it answers ENHANCE_YOUR_CALM).
constexpr size_t kWaitingFactor = 4;
constexpr double kTinyUpdatesPerSecond = 10;


}  // namespace

template <class Stream>
class Http2Connection final : public runtime::DownstreamConnection, public io::Watched {
 public:
  Http2Connection(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket& socket, Stream& stream,
                  exchange::ConnectionInfo& info)
      : worker_(worker), entryPoint_(entryPoint), socket_(socket), stream_(stream), info_(info),
        handlersDone_(socket.get_executor()), writeWanted_(socket.get_executor()) {
    info_.http2 = true;
    worker_.track(*this);
    worker_.watchdog().watch(*this);
  }

  ~Http2Connection() override {
    if (session_) nghttp2_session_del(session_);
  }

  awaitable<void> run(io::ReadBuffer initial);

  void drain() override {
    if (!session_ || goingAway_) return;
    goingAway_ = true;
    nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    requestFlush();
    if (streams_.empty()) closeWhenFlushed();
  }

  // The watchdog's one deadline per connection is the earliest of: the idle timeout (no
  // stream open) and each open stream's read and write deadlines, which expire that stream
  // only, as Go's HTTP/2 server applies readTimeout and writeTimeout per stream.
  void onDeadline() override;

 private:
  struct H2Stream;
  using RequestBody = StreamRequestBody<Http2Connection, H2Stream>;
  friend RequestBody;
  // For RequestBody: credit for a piece the handler is done with (a closed stream has no
  // window left to credit, the connection still has one); whether more may come.
  void bodyConsumed(H2Stream& s, size_t n);
  bool bodyMayArrive(const H2Stream& s) const;
  bool bodyAbandoned(const H2Stream&) const { return false; }

  // Closes once the writer has sent what is queued (the GOAWAY, a last response's frames).
  void closeWhenFlushed() {
    closeWhenFlushed_ = true;
    requestFlush();
  }

  // `orderly`: the session ended in good order (its GOAWAY is written): TLS sends close_notify.
  void closeSocket(bool orderly = false) {
    if (orderly && !dead_) {
      if constexpr (requires(Stream& s) { s.closeNotify(); }) stream_.closeNotify();
    }
    dead_ = true;
    error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.cancel(ignored);
  }

  awaitable<void> flush();
  awaitable<void> writerLoop();
  // Frames were queued: the writer sends everything queued during this turn in one write.
  void requestFlush() { writeWanted_.notify(); }
  awaitable<void> serveStream(std::shared_ptr<H2Stream> stream);
  awaitable<void> sendResponse(H2Stream& stream, exchange::Exchange& ex, bool headRequest);
  void startStream(std::shared_ptr<H2Stream> stream);

  // nghttp2 callbacks.
  static int onBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t flags, void* self);
  static int onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static int onDataChunk(nghttp2_session*, uint8_t flags, int32_t id, const uint8_t* data, size_t len,
                         void* self);
  static int onStreamClose(nghttp2_session*, int32_t id, uint32_t error, void* self);
  static int onFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* self);
  static ssize_t readResponse(nghttp2_session*, int32_t id, uint8_t* buf, size_t length, uint32_t* flags,
                              nghttp2_data_source* source, void* self);

  // Adds SETTINGS_MAX_CONCURRENT_STREAMS to the server's first SETTINGS frame, the frame at
  // out[first]. nghttp2 is never told the limit: it would answer one stream too many with a
  // connection error (GOAWAY PROTOCOL_ERROR) and lose every response in flight, where
  // onBeginHeaders refuses only the excess stream, as Go does.
  void announceStreamLimit(std::string& out, size_t first);
  // A WINDOW_UPDATE: budgets tiny ones, resumes streams waiting for a useful window.
  void onWindowUpdate(const nghttp2_frame& frame);
  bool windowAllows(const H2Stream& stream) const;
  size_t usefulWindow(size_t pending) const;
  // Connection credit for the request body bytes a stream's handler never consumed (it answered
  // without reading, stopped at the last piece, or never ran): nghttp2 gives none back itself.
  void creditUnread(H2Stream& stream);
  // Whether a last response piece of `size` bytes is copied into the stream instead of
  // waiting, with the handler, for the writer to frame it: when it is small, has no trailers
  // to follow, and the request is complete (a client still sending a body is reset with
  // NO_ERROR once the handler ends, and that RST_STREAM must not overtake the DATA). The
  // exchange is then logged as sent once the piece is handed over, as an HTTP/1.1 response
  // is once it is in the socket's buffer: a client that resets the stream or keeps its window
  // shut afterwards does not change its access-log line.
  bool ownsTail(const H2Stream& s, size_t size) const {
    return size <= kOwnedTail && s.endStream && s.trailerNv.empty();
  }
  // Re-arms the watchdog for the earliest deadline (after streams start or end).
  void armDeadline();
  // After a response: the connection goes away after keepAliveMaxTime.
  void countServed();

  // A header block's fields and frames all name the same stream: the last one found is
  // checked before the map.
  H2Stream* find(int32_t id) {
    if (lastFound_ && lastFound_->id == id) return lastFound_;
    auto it = streams_.find(id);
    if (it == streams_.end()) return nullptr;
    lastFound_ = it->second.get();
    return lastFound_;
  }

  runtime::Worker& worker_;
  const runtime::EntryPoint& entryPoint_;
  tcp::socket& socket_;
  Stream& stream_;
  exchange::ConnectionInfo& info_;
  nghttp2_session* session_ = nullptr;
  std::unordered_map<int32_t, std::shared_ptr<H2Stream>> streams_;
  H2Stream* lastFound_ = nullptr;  // find()'s cache: a stream of streams_, cleared when it leaves
  std::vector<std::shared_ptr<H2Stream>> ready_;  // complete request heads not started yet
  std::deque<std::shared_ptr<H2Stream>> waiting_;  // started once fewer handlers run (onBeginHeaders)
  size_t waitingLive_ = 0;  // of waiting_, those still open (a closed one is skipped when its turn comes)
  io::SerialWriter writer_;
  bool dead_ = false;
  bool goingAway_ = false;
  size_t headerBytes_ = 0;  // decoded header bytes held by open streams
  size_t handlers_ = 0;     // stream coroutines running
  io::Signal handlersDone_;
  io::Signal writeWanted_;       // frames are waiting: the writer coroutine sends them in one batch
  bool writerRunning_ = false;
  bool closeWhenFlushed_ = false;
  bool terminating_ = false;  // the session is over (GOAWAY sent, nothing left): close after kGoAwayLinger
  double resetTokens_ = kResetBurst;  // server-sent resets left (see kResetBurst)
  double tinyUpdateTokens_ = kTinyUpdateBurst;  // small WINDOW_UPDATEs left (see kMinDataFrame)
  Clock::time_point tinyUpdateRefill_ = Clock::now();
  size_t windowWaiters_ = 0;  // streams with windowWait set
  Clock::time_point sendDeadline_ = Clock::time_point::max();  // while a write waits (sendTimeout)
  Clock::time_point resetRefill_ = Clock::now();
  // The earliest stream deadline set since the last scan; may belong to a stream that has
  // finished (onDeadline then rescans), so the read loop never walks the streams.
  Clock::time_point nextStreamDeadline_ = Clock::time_point::max();
  uint64_t accepted_ = 0;                 // streams taken (keepAliveMaxRequests)
  bool limitAnnounced_ = false;           // SETTINGS_MAX_CONCURRENT_STREAMS is on the wire
  Clock::time_point openedAt_ = Clock::now();  // keepAliveMaxTime
};

// Per-stream state. Owned by the connection's map while nghttp2 has the stream open, and by
// its handler coroutine while that runs.
template <class Stream>
struct Http2Connection<Stream>::H2Stream : StreamHead {
  H2Stream(int32_t streamId, asio::any_io_executor executor)
      : id(streamId), bodyReady(executor), sendReady(executor) {}
  int32_t id;
  // Request body: pieces delivered by DATA frames, consumed by the handler. A list, not a
  // deque: libstdc++'s deque allocates when it is made, and most streams have no body.
  std::list<std::string> body;
  uint64_t bodyBytes = 0;
  size_t bodyConsumedPending = 0;  // bytes read by the handler not yet credited to the window
  bool endStream = false;          // the client finished sending
  bool closed = false;             // nghttp2 closed the stream (done or reset)
  bool waiting = false;            // in waiting_ (a handler slot), counted in waitingLive_
  bool credited = false;           // creditUnread done
  bool readTimedOut = false;       // readTimeout passed before the client finished its body
  exchange::Exchange* exchange = nullptr;    // while the handler runs: told when the client resets
  uint32_t closeError = 0;
  // Per-stream deadlines (max: none): the body must be complete by readDeadline, the whole
  // exchange done by writeDeadline.
  Clock::time_point readDeadline = Clock::time_point::max();
  Clock::time_point writeDeadline = Clock::time_point::max();
  Clock::time_point stallDeadline = Clock::time_point::max();  // the current piece's sendTimeout
  io::Signal bodyReady;
  // Response body: the current piece and whether it is the last.
  std::string_view pending;
  // A small last piece copied here (sendResponse), so that the handler need not wait for
  // the writer to frame it: the stream outlives its handler until nghttp2 closes it.
  std::string ownedTail;
  bool responseLast = false;
  bool responseError = false;
  bool windowWait = false;  // DATA deferred until the peer's window is worth a frame
  const http::Headers* trailers = nullptr;
  io::Signal sendReady;
  std::vector<nghttp2_nv> trailerNv;
  std::vector<std::string> trailerNames;
};

template <class Stream>
int Http2Connection<Stream>::onBeginHeaders(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  auto* c = static_cast<Http2Connection*>(self);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto stream = std::make_shared<H2Stream>(frame->hd.stream_id, c->socket_.get_executor());
  // Over the stream limit only this stream is refused (RFC 9113 §5.1.2; nghttp2 would end the
  // connection, so it never learns the limit, see announceStreamLimit). At most `limit`
  // handlers run at once, streams that ended or were reset while their handlers finish
  // included, so resets cannot multiply upstream work (Rapid Reset): a stream beyond them
  // waits for a handler to finish, as Go queues it, and a client that keeps exactly `limit`
  // streams in flight is never refused. At most kWaitingFactor × limit streams wait; past
  // them, as past the open-stream limit, the stream is refused (docs/security.md, F01, F10).
  const size_t limit = c->entryPoint_.http2MaxConcurrentStreams;
  if (c->goingAway_ || c->streams_.size() >= limit ||
      c->handlers_ + c->ready_.size() + c->waitingLive_ >= (1 + kWaitingFactor) * limit) {
    stream->refused = true;
  } else if (c->entryPoint_.keepAliveMaxRequests > 0 && ++c->accepted_ >= c->entryPoint_.keepAliveMaxRequests) {
    // The last request this connection takes: GOAWAY names it, later streams are refused
    // and the client retries them on a new connection (exactly keepAliveMaxRequests served).
    if (c->accepted_ == c->entryPoint_.keepAliveMaxRequests) {
      c->goingAway_ = true;
      nghttp2_submit_goaway(session, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR, nullptr, 0);
      c->requestFlush();
    }
  }
  c->lastFound_ = stream.get();  // its fields come next
  c->streams_[frame->hd.stream_id] = std::move(stream);
  return 0;
}

template <class Stream>
int Http2Connection<Stream>::onHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t,
                                      void* self) {
  auto* c = static_cast<Http2Connection*>(self);
  H2Stream* s = c->find(frame->hd.stream_id);
  // Request trailers are not forwarded; the fields of a stream that will not be served are
  // decoded (HPACK state) but not kept.
  if (!s || s->refused || frame->headers.cat == NGHTTP2_HCAT_HEADERS) return 0;
  switch (addStreamField(*s, c->entryPoint_, c->headerBytes_, std::string_view(reinterpret_cast<const char*>(name), namelen),
                         std::string_view(reinterpret_cast<const char*>(value), valuelen))) {
  case FieldVerdict::Taken: return 0;
  case FieldVerdict::Bomb:
  case FieldVerdict::BadLength: return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;  // the stream is reset
  }
  return 0;
}

template <class Stream>
void Http2Connection<Stream>::onWindowUpdate(const nghttp2_frame& frame) {
  // Each DATA frame sent earns two tokens (onFrameSend): a client acknowledging small frames
  // one by one (an event stream) keeps its budget; one that sends updates for data it never
  // received spends it.
  if (frame.hd.type == NGHTTP2_WINDOW_UPDATE && frame.window_update.window_size_increment < int32_t(kMinDataFrame)) {
    const Clock::time_point now = Clock::now();
    tinyUpdateTokens_ = std::min(kTinyUpdateBurst, tinyUpdateTokens_ + std::chrono::duration<double>(now - tinyUpdateRefill_).count() *
                                                                       kTinyUpdatesPerSecond);
    tinyUpdateRefill_ = now;
    if (tinyUpdateTokens_ < 1) {
      log::debug("HTTP/2 peer sends too many tiny WINDOW_UPDATEs; closing", {{"peer", info_.peerAddress}});
      nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
      return;
    }
    tinyUpdateTokens_ -= 1;
  }
  if (windowWaiters_ == 0) return;
  auto wake = [&](H2Stream& stream) {
    if (!stream.windowWait || !windowAllows(stream)) return;
    stream.windowWait = false;
    --windowWaiters_;
    nghttp2_session_resume_data(session_, stream.id);
    requestFlush();
  };
  if (frame.hd.type == NGHTTP2_WINDOW_UPDATE && frame.hd.stream_id != 0) {
    if (H2Stream* stream = find(frame.hd.stream_id)) wake(*stream);
    return;
  }
  for (auto& [id, stream] : streams_) wake(*stream);
}

template <class Stream>
bool Http2Connection<Stream>::windowAllows(const H2Stream& stream) const {
  int32_t window = std::min(nghttp2_session_get_stream_remote_window_size(session_, stream.id),
                            nghttp2_session_get_remote_window_size(session_));
  return window > 0 && size_t(window) >= usefulWindow(stream.pending.size());
}

template <class Stream>
size_t Http2Connection<Stream>::usefulWindow(size_t pending) const {
  // A peer with a small initial window gets frames of half of it: a receiver gives credit
  // back once about half its window is consumed, and may keep the rest of what it consumed
  // (a frame read in pieces) until more arrives, so waiting for its whole window could wait
  // forever (nghttp2 with a 1,023-byte window settled at 959).
  const uint32_t initial = nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE);
  return std::max<size_t>(1, std::min({kMinDataFrame, pending, size_t(initial) / 2}));
}

template <class Stream>
int Http2Connection<Stream>::onFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* self) {
  auto* c = static_cast<Http2Connection*>(self);
  if (frame->hd.type == NGHTTP2_WINDOW_UPDATE || (frame->hd.type == NGHTTP2_SETTINGS && c->windowWaiters_)) {
    c->onWindowUpdate(*frame);  // a SETTINGS frame may raise every stream's window too
    if (frame->hd.type == NGHTTP2_WINDOW_UPDATE) return 0;
  }
  H2Stream* s = c->find(frame->hd.stream_id);
  if (!s) return 0;
  bool endStream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (frame->hd.type == NGHTTP2_HEADERS) {
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
      if (s->malformed) {
        nghttp2_submit_rst_stream(c->session_, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_PROTOCOL_ERROR);
        return 0;
      }
      if (s->refused) {
        nghttp2_submit_rst_stream(c->session_, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
        return 0;
      }
      if (endStream) s->endStream = true;
      // Per-stream deadlines; the clock is read only when one applies (a bodiless request
      // with the default writeTimeout of 0 has none).
      const bool reads = !s->endStream && c->entryPoint_.readTimeout.count() > 0;
      const bool writes = c->entryPoint_.writeTimeout.count() > 0;
      if (reads || writes) {
        const Clock::time_point now = Clock::now();
        if (reads) s->readDeadline = now + c->entryPoint_.readTimeout;
        if (writes) s->writeDeadline = now + c->entryPoint_.writeTimeout;
        c->nextStreamDeadline_ = std::min({c->nextStreamDeadline_, s->readDeadline, s->writeDeadline});
      }
      c->ready_.push_back(c->streams_[frame->hd.stream_id]);
    } else if (endStream) {
      s->endStream = true;  // trailers end the body
      s->bodyReady.notify();
    }
  } else if (frame->hd.type == NGHTTP2_DATA && endStream) {
    s->endStream = true;
    s->bodyReady.notify();
  }
  return 0;
}

template <class Stream>
int Http2Connection<Stream>::onDataChunk(nghttp2_session* session, uint8_t, int32_t id, const uint8_t* data,
                                         size_t len, void* self) {
  auto* c = static_cast<Http2Connection*>(self);
  H2Stream* s = c->find(id);
  if (!s || s->closed || s->credited) {
    nghttp2_session_consume(session, id, len);  // nobody reads it: keep the connection window open
    return 0;
  }
  s->body.emplace_back(reinterpret_cast<const char*>(data), len);
  s->bodyBytes += len;
  s->bodyReady.notify();
  return 0;
}

template <class Stream>
int Http2Connection<Stream>::onStreamClose(nghttp2_session*, int32_t id, uint32_t error, void* self) {
  auto* c = static_cast<Http2Connection*>(self);
  auto it = c->streams_.find(id);
  if (it == c->streams_.end()) return 0;
  H2Stream& s = *it->second;
  s.closed = true;
  s.closeError = error;
  if (s.windowWait) {
    s.windowWait = false;
    --c->windowWaiters_;
  }
  if (error != NGHTTP2_NO_ERROR && s.exchange) s.exchange->clientGone();  // gives up the upstream wait
  c->headerBytes_ -= std::min(c->headerBytes_, s.headerBytes);
  if (s.waiting) {
    // Reset while it waited for a handler: it will never run, so its fields, its body and its
    // share of the head budget go now (its place in the queue is skipped when its turn comes).
    s.waiting = false;
    --c->waitingLive_;
    c->creditUnread(s);
    s.release();
  }
  s.bodyReady.notify();
  s.sendReady.notify();
  if (c->lastFound_ == &s) c->lastFound_ = nullptr;
  c->streams_.erase(it);
  if (c->goingAway_ && c->streams_.empty()) c->closeWhenFlushed();  // called while framing: write first
  else if (c->streams_.empty() && !c->dead_) c->armDeadline();  // idle from now, even while a read waits
  return 0;
}

template <class Stream>
int Http2Connection<Stream>::onFrameSend(nghttp2_session* session, const nghttp2_frame* frame, void* self) {
  auto* c = static_cast<Http2Connection*>(self);
  if (frame->hd.type == NGHTTP2_DATA) {
    c->tinyUpdateTokens_ = std::min(kTinyUpdateBurst, c->tinyUpdateTokens_ + 2);
    return 0;
  }
  if (frame->hd.type != NGHTTP2_RST_STREAM) return 0;
  uint32_t code = frame->rst_stream.error_code;
  // Our own answers do not count: NO_ERROR (an unread body), REFUSED_STREAM (over the stream
  // limit, no work done), INTERNAL_ERROR (writeTimeout or an upstream failure).
  if (code == NGHTTP2_NO_ERROR || code == NGHTTP2_REFUSED_STREAM || code == NGHTTP2_INTERNAL_ERROR) return 0;
  const Clock::time_point now = Clock::now();
  c->resetTokens_ = std::min(kResetBurst, c->resetTokens_ + std::chrono::duration<double>(now - c->resetRefill_).count() *
                                                                kResetsPerSecond);
  c->resetRefill_ = now;
  if (c->resetTokens_ >= 1) {
    c->resetTokens_ -= 1;
    return 0;
  }
  log::debug("HTTP/2 peer made too many streams fail; closing", {{"peer", c->info_.peerAddress}});
  nghttp2_session_terminate_session(session, NGHTTP2_ENHANCE_YOUR_CALM);
  return 0;
}

template <class Stream>
void Http2Connection<Stream>::announceStreamLimit(std::string& out, size_t first) {
  if (out.size() < first + 9) return;  // nothing written yet
  limitAnnounced_ = true;
  auto* frame = reinterpret_cast<unsigned char*>(out.data() + first);
  const size_t length = size_t(frame[0]) << 16 | size_t(frame[1]) << 8 | frame[2];
  if (frame[3] != NGHTTP2_SETTINGS || (frame[4] & NGHTTP2_FLAG_ACK)) {
    log::error("HTTP/2: the first frame is not the server's SETTINGS; stream limit not announced");
    return;
  }
  const uint32_t limit = entryPoint_.http2MaxConcurrentStreams;
  const size_t grown = length + 6;
  frame[0] = uint8_t(grown >> 16);
  frame[1] = uint8_t(grown >> 8);
  frame[2] = uint8_t(grown);
  const char entry[6] = {0, char(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS), char(limit >> 24), char(limit >> 16),
                         char(limit >> 8), char(limit)};
  out.insert(first + 9, entry, sizeof entry);
}

template <class Stream>
void Http2Connection<Stream>::armDeadline() {
  if (terminating_) return;  // the linger deadline stands
  if (streams_.empty()) {
    nextStreamDeadline_ = Clock::time_point::max();
    armIn(entryPoint_.idleTimeout);
    if (sendDeadline_ < deadline()) armAt(sendDeadline_);
    return;
  }
  armAt(std::min(nextStreamDeadline_, sendDeadline_));
}

template <class Stream>
void Http2Connection<Stream>::onDeadline() {
  if (sendDeadline_ != Clock::time_point::max() && Clock::now() >= sendDeadline_) {
    log::debug("HTTP/2 peer stopped reading (sendTimeout); closing", {{"peer", info_.peerAddress}});
    closeSocket();
    return;
  }
  if (streams_.empty() || dead_ || terminating_) {
    closeSocket(streams_.empty());  // idle timeout, the linger after a final GOAWAY, or after reading stopped
    return;
  }
  const Clock::time_point now = Clock::now();
  bool reset = false;
  Clock::time_point next = Clock::time_point::max();
  for (const auto& [id, streamPtr] : streams_) {
    H2Stream& stream = *streamPtr;
    if (!stream.endStream && !stream.readTimedOut && now >= stream.readDeadline) {
      // The body fails for the handler (Go: os.ErrDeadlineExceeded), which answers.
      stream.readTimedOut = true;
      stream.bodyReady.notify();
    }
    if (!stream.responseError && (now >= stream.writeDeadline || now >= stream.stallDeadline)) {
      // writeTimeout, or sendTimeout: a piece of the response made no progress that long
      // (the client's window stayed shut; docs/security.md, H10).
      stream.responseError = true;
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, NGHTTP2_INTERNAL_ERROR);
      reset = true;
    }
    if (!stream.endStream && !stream.readTimedOut) next = std::min(next, stream.readDeadline);
    if (!stream.responseError) next = std::min({next, stream.writeDeadline, stream.stallDeadline});
  }
  if (reset) requestFlush();
  nextStreamDeadline_ = next;
  armDeadline();
}

template <class Stream>
void Http2Connection<Stream>::countServed() {
  // keepAliveMaxRequests is counted as streams are accepted (onBeginHeaders).
  if (entryPoint_.keepAliveMaxTime.count() > 0 && Clock::now() - openedAt_ >= entryPoint_.keepAliveMaxTime)
    drain();  // GOAWAY, as Go does for a handler's "Connection: close"
}

template <class Stream>
ssize_t Http2Connection<Stream>::readResponse(nghttp2_session* session, int32_t id, uint8_t* buf, size_t length,
                                              uint32_t* flags, nghttp2_data_source* source, void* self) {
  auto* s = static_cast<H2Stream*>(source->ptr);
  if (s->responseError) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  if (s->pending.empty()) {
    if (!s->responseLast) {
      s->sendReady.notify();
      return NGHTTP2_ERR_DEFERRED;
    }
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    if (!s->trailerNv.empty()) {
      *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      nghttp2_submit_trailer(session, id, s->trailerNv.data(), s->trailerNv.size());
    }
    s->sendReady.notify();  // all framed: the handler goes on (a body it did not read is stopped)
    return 0;
  }
  auto* c = static_cast<Http2Connection*>(self);
  if (length < c->usefulWindow(s->pending.size())) {
    // A window too small to be worth a frame: wait for WINDOW_UPDATEs (onWindowUpdate).
    if (!s->windowWait) {
      s->windowWait = true;
      ++c->windowWaiters_;
    }
    return NGHTTP2_ERR_DEFERRED;
  }
  size_t n = std::min(length, s->pending.size());
  std::memcpy(buf, s->pending.data(), n);
  s->pending.remove_prefix(n);
  if (s->pending.empty()) s->stallDeadline = Clock::time_point::max();
  if (s->pending.empty()) {
    if (s->responseLast) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!s->trailerNv.empty()) {
        *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        nghttp2_submit_trailer(session, id, s->trailerNv.data(), s->trailerNv.size());
      }
    }
    // The pump may fetch the next piece, or, after the last, the handler goes on: the bytes
    // are in nghttp2's frame, so a client still sending a body the handler did not read is
    // stopped now (RST_STREAM NO_ERROR) instead of when its window runs out.
    s->sendReady.notify();
  }
  return ssize_t(n);
}

template <class Stream>
awaitable<void> Http2Connection<Stream>::flush() {
  bool ok = co_await writer_.flush(
      [this](std::string& out) {
        if (dead_) return;
        size_t first = out.size();
        http::takeFrames(session_, out, kWriteBatch);
        if (!limitAnnounced_) announceStreamLimit(out, first);
      },
      [this](asio::const_buffer buffer) {
        // sendTimeout: a peer that stops reading holds the connection this long at most (docs/security.md, H10).
        if (entryPoint_.sendTimeout.count() > 0) {
          sendDeadline_ = Clock::now() + entryPoint_.sendTimeout;
          if (sendDeadline_ < deadline()) armAt(sendDeadline_);
        }
        return stream_.write(buffer);
      });
  if (sendDeadline_ != Clock::time_point::max()) {
    sendDeadline_ = Clock::time_point::max();
    if (!dead_) armDeadline();
  }
  if (!ok) closeSocket();
  if (closeWhenFlushed_ && !dead_ && !nghttp2_session_want_write(session_)) {
    closeSocket(true);
  } else if (!dead_ && !terminating_ && !nghttp2_session_want_read(session_) &&
             !nghttp2_session_want_write(session_)) {
    // nghttp2 ended the session (a GOAWAY for a protocol error or a flood is written): the
    // read loop may wait on a peer that sends nothing more, so the watchdog closes it.
    terminating_ = true;
    armIn(kGoAwayLinger);
  }
}

template <class Stream>
void Http2Connection<Stream>::bodyConsumed(H2Stream& s, size_t n) {
  if (!session_ || dead_) return;
  if (!s.closed) nghttp2_session_consume(session_, s.id, n);
  else nghttp2_session_consume_connection(session_, n);
  requestFlush();
}

template <class Stream>
bool Http2Connection<Stream>::bodyMayArrive(const H2Stream& s) const {
  return !s.closed && !s.readTimedOut && !dead_;
}

template <class Stream>
void Http2Connection<Stream>::creditUnread(H2Stream& s) {
  if (s.credited) return;
  s.credited = true;
  size_t unread = 0;
  for (const std::string& piece : s.body) unread += piece.size();
  s.body.clear();
  if (unread && session_ && !dead_) {
    nghttp2_session_consume_connection(session_, unread);
    requestFlush();
  }
}

template <class Stream>
void Http2Connection<Stream>::startStream(std::shared_ptr<H2Stream> stream) {
  if (stream->closed) {  // reset before its turn: never served
    creditUnread(*stream);
    return;
  }
  if (handlers_ >= entryPoint_.http2MaxConcurrentStreams) {
    stream->waiting = true;
    ++waitingLive_;
    waiting_.push_back(std::move(stream));  // until a handler finishes (onBeginHeaders)
    return;
  }
  ++handlers_;
  asio::co_spawn(socket_.get_executor(), serveStream(std::move(stream)), [this](std::exception_ptr e) {
    io::logFailure(e, "HTTP/2 stream failed");
    --handlers_;
    // The oldest waiting stream that is still open takes the handler's place.
    while (!dead_ && !waiting_.empty() && handlers_ < entryPoint_.http2MaxConcurrentStreams) {
      std::shared_ptr<H2Stream> next = std::move(waiting_.front());
      waiting_.pop_front();
      if (next->waiting) {
        next->waiting = false;
        --waitingLive_;
      }
      if (!next->closed) startStream(std::move(next));
    }
    if (handlers_ == 0) handlersDone_.notify();
  });
}

template <class Stream>
awaitable<void> Http2Connection<Stream>::serveStream(std::shared_ptr<H2Stream> streamPtr) {
  H2Stream& s = *streamPtr;
  // A stream reset in the same read as its HEADERS never reaches a handler.
  if (s.closed) co_return;
  exchange::Exchange ex(worker_, s.arena, info_);
  s.exchange = &ex;
  struct Detach {
    H2Stream& s;
    ~Detach() { s.exchange = nullptr; }
  } detach{s};
  ex.record.start = Clock::now();
  ex.record.startWall = std::chrono::system_clock::now();
  runtime::SnapshotPtr pinned = worker_.snapshot();
  ex.snapshot = pinned.get();
  exchange::Request& r = ex.request;
  r.versionMajor = 2;
  r.versionMinor = 0;
  std::string scratch;
  bool extendedConnect = false;
  int status = prepareStreamRequest(r, s, entryPoint_, info_.tls ? "https" : "http", scratch, extendedConnect);
  exchange::UpgradeTunnel* openTunnel = nullptr;  // the tunnel running on this stream, if any
  TunnelPipe* tunnelPipe = nullptr;
  RequestBody* body = nullptr;
  if (!s.endStream || !s.body.empty()) {
    body = s.arena.template make<RequestBody>(*this, streamPtr);
    r.body = body;
  }
  // A tunnel's DATA frames are not a request body: they go through the tunnel, if one opens.
  exchange::BodySource* tunnelIn = extendedConnect ? std::exchange(r.body, nullptr) : nullptr;
  if (status) {
    exchange::errorReply(ex, status, http::reasonPhrase(status));
  } else {
    applyForwardedHeaders(r, s.arena, info_, entryPoint_);
    worker_.observeRequest(ex);
    co_await routeAndServe(ex, entryPoint_);
    if (extendedConnect && !s.closed && !dead_) {
      StreamTunnel opened = openStreamTunnel(ex, tunnelIn, s.arena, socket_.get_executor());
      if (opened.tunnel) {
        // A tunnel lives as long as its ends want, as an HTTP/1.1 one after the 101: the
        // request's read and write timeouts no longer apply (sendTimeout still does, per piece).
        s.readDeadline = s.writeDeadline = Clock::time_point::max();
        s.readTimedOut = false;  // a readTimeout that passed before the 101 is lifted too
        openTunnel = opened.tunnel;
        tunnelPipe = opened.pipe;
      }
    }
  }
  if (!s.closed && !dead_) co_await sendResponse(s, ex, r.method == "HEAD");
  if (openTunnel && !s.closed && !dead_ && !s.endStream) {
    // Our side of the tunnel ended: the client gets a moment to end its own (its close frame
    // answered, its END_STREAM) before the reset below, which would overtake our END_STREAM.
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer linger(socket_.get_executor(), kCloseLinger);
    co_await (ex.background.join() || linger.async_wait(nothrow));
  }
  if (!dead_) countServed();
  // A body the handler did not read: stop the client (NO_ERROR reset after our answer).
  if (!s.closed && !dead_ && !s.endStream) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_NO_ERROR);
    requestFlush();
  }
  if (openTunnel && !ex.background.empty()) {
    // The stream is over but the tunnel still runs (the client reset it or left, the answer
    // stalled, or the client kept its side open past the linger): both of its ends are closed,
    // so that neither pump waits on a peer that will not come back.
    tunnelPipe->close();
    openTunnel->abort();
  }
  if (!ex.background.empty()) {
    ex.endWaits();
    s.closed = s.closed || dead_;
    s.bodyReady.notify();
    co_await ex.background.join();
  }
  ex.record.downstreamStatus = s.closeError == 0 && !dead_ ? ex.response.status : 0;
  ex.record.clientGone = s.closeError != 0 || dead_;
  ex.record.requestBytes = s.bodyBytes;
  worker_.observeComplete(ex);
  creditUnread(s);
  s.arena.reset();
}

template <class Stream>
awaitable<void> Http2Connection<Stream>::sendResponse(H2Stream& s, exchange::Exchange& ex, bool headRequest) {
  StreamResponseHead head(ex, headRequest, worker_.httpDate());
  exchange::BodySource* body = head.body;
  // nghttp2 copies the fields into its frame: the array can be the arena's.
  auto* nv = static_cast<nghttp2_nv*>(ex.arena.allocate(sizeof(nghttp2_nv) * head.fields.size(), alignof(nghttp2_nv)));
  for (size_t i = 0; i < head.fields.size(); ++i) nv[i] = http::makeNv(head.fields[i].name, head.fields[i].value);

  if (!body) {
    nghttp2_submit_response(session_, s.id, nv, head.fields.size(), nullptr);
    requestFlush();
    co_return;
  }
  nghttp2_data_provider provider;
  provider.source.ptr = &s;
  provider.read_callback = &Http2Connection::readResponse;
  nghttp2_submit_response(session_, s.id, nv, head.fields.size(), &provider);
  requestFlush();
  // Pump: fetch the next piece only when the previous one has gone into frames.
  bool held = false;  // the last piece is the stream's own copy (ownsTail)
  while (!held && !s.closed && !dead_) {
    if (!s.pending.empty()) {
      co_await s.sendReady.wait();
      continue;
    }
    if (s.responseLast) break;
    exchange::BodyChunk chunk = co_await body->read();
    if (s.closed || dead_) break;
    if (chunk.error) {
      s.responseError = true;
      nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
      requestFlush();
      break;
    }
    s.pending = chunk.data;
    if (entryPoint_.sendTimeout.count() > 0 && !chunk.data.empty()) {
      // This piece must be framed within sendTimeout (readResponse clears the deadline).
      s.stallDeadline = Clock::now() + entryPoint_.sendTimeout;
      if (s.stallDeadline < nextStreamDeadline_) {
        nextStreamDeadline_ = s.stallDeadline;
        armDeadline();
      }
    }
    ex.record.responseBytes += chunk.data.size();
    if (chunk.last) {
      s.responseLast = true;
      if (const http::Headers* trailers = body->trailers()) {
        for (const auto& f : *trailers) {
          if (isConnectionSpecific(f.name) || http::h1::isForbiddenTrailer(f.name)) continue;
          s.trailerNames.push_back(toLower(f.name));
        }
        size_t i = 0;
        for (const auto& f : *trailers) {
          if (isConnectionSpecific(f.name) || http::h1::isForbiddenTrailer(f.name)) continue;
          s.trailerNv.push_back(http::makeNv(s.trailerNames[i++], f.value));
        }
      }
      if (ownsTail(s, chunk.data.size())) {
        s.ownedTail.assign(chunk.data);
        s.pending = s.ownedTail;
        held = true;
      }
    }
    nghttp2_session_resume_data(session_, s.id);
    requestFlush();
  }
  // Wait until the last piece is in nghttp2's frames (readResponse copies it and notifies),
  // unless the stream holds it: the writer then sends it after the handler has ended.
  while (!held && !s.closed && !dead_ && (!s.pending.empty() || !s.responseLast)) co_await s.sendReady.wait();
}

template <class Stream>
awaitable<void> Http2Connection<Stream>::writerLoop() {
  while (!dead_) {
    co_await flush();
    if (dead_) break;
    co_await writeWanted_.wait();
  }
  writerRunning_ = false;
  handlersDone_.notify();
}

template <class Stream>
awaitable<void> Http2Connection<Stream>::run(io::ReadBuffer initial) {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, &Http2Connection::onBeginHeaders);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, &Http2Connection::onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, &Http2Connection::onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, &Http2Connection::onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, &Http2Connection::onStreamClose);
  nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, &Http2Connection::onFrameSend);
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_deflate_dynamic_table_size(option, entryPoint_.http2MaxEncoderHeaderTableSize);
  // CVE-2023-44487 (Rapid Reset) and CVE-2024-28182 (CONTINUATION flood) mitigations.
  nghttp2_option_set_stream_reset_rate_limit(option, 1000, 33);
  nghttp2_option_set_max_continuations(option, 8);
  nghttp2_option_set_max_outbound_ack(option, 1000);
  nghttp2_option_set_max_settings(option, 32);
  // nghttp2 keeps closed streams for the RFC 7540 priority tree, as many as the local
  // SETTINGS_MAX_CONCURRENT_STREAMS, which it is never told (announceStreamLimit): without this
  // every stream of a long connection would be kept (about 250 bytes each). Priorities are
  // not used (RFC 9113 deprecated them).
  nghttp2_option_set_no_closed_streams(option, 1);
  nghttp2_session_server_new2(&session_, callbacks, this, option);
  nghttp2_option_del(option);
  nghttp2_session_callbacks_del(callbacks);

  // SETTINGS_MAX_CONCURRENT_STREAMS is added on the wire only (announceStreamLimit).
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, uint32_t(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, uint32_t(std::min<size_t>(entryPoint_.limits.maxHeadBytes, UINT32_MAX))},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, entryPoint_.http2MaxDecoderHeaderTableSize},
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},  // RFC 8441: WebSocket over a stream
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);

  io::ReadBuffer in = std::move(initial);
  auto process = [&]() -> bool {
    if (in.empty()) return true;
    ssize_t consumed = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(in.data().data()),
                                                in.size());
    if (consumed < 0) {
      log::debug("HTTP/2 connection error", {{"peer", info_.peerAddress}, {"error", nghttp2_strerror(int(consumed))}});
      return false;
    }
    in.consume(size_t(consumed));
    for (auto& stream : ready_) startStream(std::move(stream));
    ready_.clear();
    return true;
  };

  writerRunning_ = true;  // before the spawn: run() must not return while the writer may run
  asio::co_spawn(socket_.get_executor(), writerLoop(), asio::detached);
  bool ok = process();
  requestFlush();
  while (ok && !dead_) {
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) break;
    armDeadline();
    auto [ec, n] = co_await stream_.readSome(in.prepare(16384, 1 << 20));
    if (ec) break;
    in.commit(n);
    ok = process();
    requestFlush();
  }
  dead_ = true;
  waiting_.clear();  // never started: nothing references them
  // The writer may still be sending (a GOAWAY after a protocol error or a flood) to a peer
  // that does not read: give it a moment, then the watchdog closes the socket.
  armIn(kCloseLinger);
  // Stream coroutines reference this connection: let them finish before it goes away.
  for (auto& [id, stream] : streams_) {
    stream->closed = true;
    if (stream->exchange) stream->exchange->clientGone();
    stream->bodyReady.notify();
    stream->sendReady.notify();
  }
  writeWanted_.notify();
  while (handlers_ > 0 || writerRunning_) co_await handlersDone_.wait();
  disarm();
}

template <class Stream>
awaitable<void> serveHttp2(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket& socket, Stream& stream,
                           exchange::ConnectionInfo& info, io::ReadBuffer initial) {
  Http2Connection<Stream> connection(worker, entryPoint, socket, stream, info);
  co_await connection.run(std::move(initial));
}

template awaitable<void> serveHttp2<PlainStream>(runtime::Worker&, const runtime::EntryPoint&, tcp::socket&, PlainStream&,
                                                 exchange::ConnectionInfo&, io::ReadBuffer);
template awaitable<void> serveHttp2<tls::TlsStream>(runtime::Worker&, const runtime::EntryPoint&, tcp::socket&, tls::TlsStream&,
                                               exchange::ConnectionInfo&, io::ReadBuffer);

}  // namespace causeway::downstream
