// Message bodies as pulled streams: the consumer asks for the next piece when it is ready
// for it, which gives back-pressure for free (nothing is read from a socket faster than
// the other side drains it). HTTP/1 chunking and HTTP/2 frames end in the codec; what a
// middleware sees is only data pieces and, at the end, trailers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/headers.h"
#include "io/asio.h"

namespace causeway::exchange {

struct BodyChunk {
  std::string_view data;  // valid until the next read() on the same source
  bool last = false;      // the final piece (may be empty); trailers() is valid after it
  bool error = false;     // the stream broke (reset, bad framing, timeout): abort the message
};

class BodySource {
 public:
  virtual ~BodySource() = default;
  // Returns the next piece. Must not be called again after `last` or `error`.
  virtual awaitable<BodyChunk> read() = 0;
  // The total length when known before reading (Content-Length), else nullopt.
  virtual std::optional<uint64_t> length() const { return std::nullopt; }
  // Trailer fields, once `last` has been returned; nullptr when there are none.
  virtual const http::Headers* trailers() const { return nullptr; }
  // True once the body has been read to its end.
  virtual bool finished() const = 0;
};

// A body held in memory (local replies, small synthesized bodies). The view must outlive
// the source (arena or static storage).
class MemoryBody final : public BodySource {
 public:
  explicit MemoryBody(std::string_view data) : data_(data) {}
  awaitable<BodyChunk> read() override {
    done_ = true;
    co_return BodyChunk{data_, true, false};
  }
  std::optional<uint64_t> length() const override { return data_.size(); }
  bool finished() const override { return done_; }

 private:
  std::string_view data_;
  bool done_ = false;
};

// A body that owns its bytes.
class OwnedBody final : public BodySource {
 public:
  explicit OwnedBody(std::string data) : data_(std::move(data)) {}
  awaitable<BodyChunk> read() override {
    done_ = true;
    co_return BodyChunk{data_, true, false};
  }
  std::optional<uint64_t> length() const override { return data_.size(); }
  bool finished() const override { return done_; }

 private:
  std::string data_;
  bool done_ = false;
};

// Reads a whole body into `out`, up to `limit` bytes. Returns false when the body broke
// off or is larger than `limit` (then `tooLarge` is set and `out` holds the first bytes).
awaitable<bool> readAll(BodySource& body, std::string& out, size_t limit, bool& tooLarge);

}  // namespace causeway::exchange
