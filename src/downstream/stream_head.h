// The request head of an HTTP/2 or HTTP/3 stream while its fields are decoded (HPACK, QPACK):
// one set of limits and rules for both codecs (docs/security.md, F04, H01, Q06).
//
// Each stream is bounded by maxHeaderBytes and maxHeaderCount (over them: 431, the fields are
// no longer kept), each connection by kConnectionHeaderBudget, and the process by
// requestHeadBudget(), charged beyond a stream's first kFreeHeaderBytes in kHeaderGranule steps
// (over either: the stream is refused, and the client may retry it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/arena.h"
#include "exchange/body.h"
#include "exchange/exchange.h"
#include "io/asio.h"
#include "http/headers.h"
#include "runtime/entry_point.h"

namespace causeway::downstream {

constexpr size_t kConnectionHeaderBudget = 4 << 20;
constexpr size_t kFreeHeaderBytes = 8 << 10;
constexpr size_t kHeaderGranule = 64 << 10;

struct StreamHead {
  StreamHead() : arena(2048) {}
  StreamHead(const StreamHead&) = delete;
  StreamHead& operator=(const StreamHead&) = delete;
  ~StreamHead();
  // Gives back what the head holds (a stream that will never be served).
  void release();

  Arena arena;
  std::string_view method, scheme, authority, path, protocol;
  http::Headers headers;
  size_t headerBytes = 0;
  size_t budgetTaken = 0;  // from requestHeadBudget(), given back with the stream
  bool malformed = false;  // reset (PROTOCOL_ERROR, H3_MESSAGE_ERROR), never served
  bool refused = false;    // over a budget before any work: the stream is refused
  bool tooLarge = false;   // over maxHeaderBytes or maxHeaderCount: answered 431, fields not kept
  bool underscore = false; // a field name with '_' under underscoreHeadersStrategy: reject (400)
  size_t overflowBytes = 0, overflowFields = 0;  // decoded after tooLarge
  std::optional<uint64_t> contentLength;
};

enum class FieldVerdict {
  Taken,      // kept, or dropped by a rule that the head records (tooLarge, refused, ...)
  Bomb,       // far past the limits after tooLarge: stop decoding (reset the stream)
  BadLength,  // a content-length that is not a number
};

// Adds one decoded field (`name` lower-case, as HPACK and QPACK deliver it) to `head`;
// `connectionBytes` is the decoded header bytes the connection's open streams hold.
FieldVerdict addStreamField(StreamHead& head, const runtime::EntryPoint& entryPoint, size_t& connectionBytes,
                            std::string_view name, std::string_view value);

// Fills `r` (method, scheme, headers, authority, path; the version is the caller's) from a
// complete head: :authority wins over a host field, which is dropped (RFC 9113 §8.3.1, RFC 9114
// §4.3.1); an extended CONNECT with :protocol websocket becomes a WebSocket Upgrade
// (stream_tunnel.h) and sets `extendedConnect`; a plain CONNECT is refused. Returns 0, or the
// status to answer with (431, 400, 501).
int prepareStreamRequest(exchange::Request& r, StreamHead& head, const runtime::EntryPoint& entryPoint,
                         std::string_view scheme, std::string& scratch, bool& extendedConnect);

// The request body of one stream (HTTP/2, HTTP/3) as a pulled BodySource: the pieces as the
// DATA frames delivered them. Credit goes back to the peer (Owner::bodyConsumed) only when the
// handler has taken a piece, which is what gives uploads back-pressure. Owner says whether
// more may still arrive (bodyMayArrive) and whether the client abandoned it (bodyAbandoned).
template <class Owner, class Stream>
class StreamRequestBody final : public exchange::BodySource {
 public:
  StreamRequestBody(Owner& owner, std::shared_ptr<Stream> stream) : owner_(owner), stream_(std::move(stream)) {}

  awaitable<exchange::BodyChunk> read() override {
    Stream& s = *stream_;
    if (returned_) {
      size_t n = s.body.front().size();
      s.body.pop_front();
      returned_ = false;
      owner_.bodyConsumed(s, n);
    }
    while (s.body.empty() && !s.endStream && owner_.bodyMayArrive(s)) co_await s.bodyReady.wait();
    if (owner_.bodyAbandoned(s)) co_return exchange::BodyChunk{{}, false, true};
    if (!s.body.empty()) {
      returned_ = true;
      bool last = s.endStream && s.body.size() == 1;
      if (last) finished_ = true;
      co_return exchange::BodyChunk{s.body.front(), last, false};
    }
    if (s.endStream) {
      finished_ = true;
      co_return exchange::BodyChunk{{}, true, false};
    }
    co_return exchange::BodyChunk{{}, false, true};  // reset, timed out, or connection gone
  }
  std::optional<uint64_t> length() const override { return stream_->contentLength; }
  bool finished() const override { return finished_; }

 private:
  Owner& owner_;
  std::shared_ptr<Stream> stream_;
  bool returned_ = false;
  bool finished_ = false;
};

// Fields that belong to an HTTP/1.1 connection, never sent on an HTTP/2 or HTTP/3 stream.
bool isConnectionSpecific(std::string_view name);

// A response head as HTTP/2 and HTTP/3 send it: `:status`, the fields with lower-case names
// (connection-specific ones and Trailer left out), content-length from a body of known length,
// and a Date when the response has none. `body` is the body to send (null: none, for HEAD,
// 204 and 304 too). The views stay valid while this object and the exchange live.
struct StreamResponseHead {
  StreamResponseHead(exchange::Exchange& ex, bool headRequest, std::string_view date);
  struct Field {
    std::string_view name, value;
  };
  std::span<const Field> fields;  // in the exchange's arena: nothing to allocate or free per response
  exchange::BodySource* body = nullptr;

 private:
  char status_[3];
  char length_[20];
};

}  // namespace causeway::downstream
