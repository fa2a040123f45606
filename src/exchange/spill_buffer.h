// A bounded-memory copy of a message body (Traefik's buffering via mailgun/multibuf): the
// first `memLimit` bytes stay in memory, the rest goes to an anonymous temporary file
// (O_TMPFILE, or mkstemp + unlink), so memory stays bounded whatever the body size. The
// file disappears when the buffer is destroyed (its descriptor is the only reference).
//
// File I/O is plain pread/pwrite on the worker thread: the file lives in the page cache
// and each call moves at most one 64 KiB piece.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "exchange/body.h"

namespace causeway::exchange {

class SpillBuffer {
 public:
  explicit SpillBuffer(size_t memLimit) : memLimit_(memLimit) {}
  ~SpillBuffer();
  SpillBuffer(const SpillBuffer&) = delete;
  SpillBuffer& operator=(const SpillBuffer&) = delete;

  // Appends bytes; false when the temporary file cannot be created or written.
  bool append(std::string_view data);
  uint64_t size() const { return memory_.size() + fileSize_; }
  bool spilled() const { return fd_ >= 0; }
  // Copies up to `n` bytes at `offset` into `out`; returns the count (0 at the end), -1 on error.
  int64_t readAt(uint64_t offset, char* out, size_t n) const;

 private:
  size_t memLimit_;
  std::string memory_;
  int fd_ = -1;
  uint64_t fileSize_ = 0;
};

// Replays a SpillBuffer from the start (one instance per replay; the buffer must outlive it).
// Its length is known, so the body is forwarded with Content-Length.
class SpillBody final : public BodySource {
 public:
  explicit SpillBody(const SpillBuffer& buffer, const http::Headers* trailers = nullptr)
      : buffer_(buffer), trailers_(trailers) {}
  awaitable<BodyChunk> read() override;
  std::optional<uint64_t> length() const override { return buffer_.size(); }
  const http::Headers* trailers() const override { return finished_ ? trailers_ : nullptr; }
  bool finished() const override { return finished_; }

 private:
  static constexpr size_t kPiece = 64 * 1024;
  const SpillBuffer& buffer_;
  const http::Headers* trailers_;
  uint64_t offset_ = 0;
  std::unique_ptr<char[]> piece_;
  bool finished_ = false;
};

}  // namespace causeway::exchange
