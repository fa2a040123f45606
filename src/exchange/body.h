// Message bodies as pulled streams: the consumer asks for the next piece when it is ready
// for it, which gives back-pressure for free (nothing is read from a socket faster than
// the other side drains it). HTTP/1 chunking and HTTP/2 frames end in the codec; what a
// middleware sees is only data pieces and, at the end, trailers.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/headers.h"
#include "core/arena.h"
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
  // The whole body, when it is already in memory and unread (it stays valid as long as the
  // source); nullopt otherwise. Lets a reader that needs it whole skip a copy.
  virtual std::optional<std::string_view> whole() const { return std::nullopt; }
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
  std::optional<std::string_view> whole() const override {
    return done_ ? std::nullopt : std::optional<std::string_view>(data_);
  }

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

// Bytes already taken from a body (held for a decision or kept for a replay), then the rest
// of that body. `prefix` must outlive the body (arena or the caller's storage); `rest` may be
// null or finished, and then the prefix is the whole body. `length` is the total (prefix +
// rest) when known, e.g. the client's Content-Length; trailers are the rest's.
class PrefixedBody final : public BodySource {
 public:
  PrefixedBody(std::string_view prefix, BodySource* rest, std::optional<uint64_t> length)
      : prefix_(prefix), rest_(rest), length_(length) {}
  awaitable<BodyChunk> read() override;
  std::optional<uint64_t> length() const override { return length_; }
  const http::Headers* trailers() const override { return rest_ ? rest_->trailers() : nullptr; }
  bool finished() const override { return finished_; }

 private:
  std::string_view prefix_;
  BodySource* rest_;
  std::optional<uint64_t> length_;
  bool prefixSent_ = false;
  bool finished_ = false;
};

// A body whose read() always reports a broken stream (the downstream codec then cuts the
// connection, as Go does when a proxied body breaks after the head was committed).
class BrokenBody final : public BodySource {
 public:
  awaitable<BodyChunk> read() override { co_return BodyChunk{{}, false, true}; }
  bool finished() const override { return false; }
};

enum class ReadResult { Complete, TooLarge, Failed };
// Reads `body` to its end into `out`. Stops with TooLarge once `out` would hold more than
// `limit` bytes (limit < 0: no limit), keeping every byte read so far so that the body can
// still be replayed (PrefixedBody over `out` and the rest); Failed when the body broke off.
awaitable<ReadResult> readBody(BodySource& body, std::string& out, int64_t limit);

// What follows `readBody`'s bytes when they are replayed (PrefixedBody): nothing when the body
// was read to its end, the rest of it when the limit stopped the read, and a broken body when
// it broke off (so that whoever reads the replay sees the break).
BodySource* restOf(Arena& arena, ReadResult read, BodySource* body);

// Reads and discards at most `limit` bytes of `body` so that an upstream connection can go
// back to its pool; stops at the end, at an error, or at the limit (the body's owner then
// closes the connection). Null bodies are fine.
awaitable<void> drainBody(BodySource* body, size_t limit);

}  // namespace causeway::exchange
