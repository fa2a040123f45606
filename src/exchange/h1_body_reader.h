// An HTTP/1.1 message body (Content-Length, chunked, or until the connection closes) decoded
// from a connection's read buffer into BodyChunks: the one reader under both HTTP/1.1
// codecs, the request body of a downstream connection (downstream/h1_connection.cpp) and
// the response body of an upstream one (upstream/h1_client.cpp).
//
// `Source` is the connection: `io::ReadBuffer& buffer()` holds the bytes received and not
// consumed, and `awaitable<error_code> fill()` reads more into it. Optional hooks, called
// when the Source has them: `topUp(remaining)` before a fixed-length read (gather what the
// socket already holds), and `bodyComplete()` once the last piece is returned.
//
// A returned chunk views the buffer until the next read(), which consumes it; the owner
// calls consumePending() when it is done with the body before that. Single-threaded.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/arena.h"
#include "exchange/body.h"
#include "http/h1/chunked.h"
#include "http/h1/types.h"
#include "io/asio.h"
#include "io/read_buffer.h"

namespace causeway::exchange {

template <class Source>
class H1BodyReader {
 public:
  using Framing = http::h1::Framing;

  H1BodyReader(Source& source, Framing framing, uint64_t length, Arena& arena)
      : source_(source), framing_(framing), remaining_(length), length_(length), decoder_(arena) {}

  // Not a coroutine: hands back the framing's reader (one coroutine frame per read, not two).
  // The previous chunk is consumed here, when read() is called, not when the awaitable first
  // runs: call it only once done with that chunk.
  awaitable<BodyChunk> read() {
    consumePending();
    if (!finished_) {
      switch (framing_) {
        case Framing::ContentLength: return readFixed();
        case Framing::Chunked: return readChunked();
        case Framing::UntilClose: return readUntilClose();
        case Framing::None: break;
      }
    }
    return readNothing();
  }

  void consumePending() {
    source_.buffer().consume(pendingConsume_);
    pendingConsume_ = 0;
  }

  Framing framing() const { return framing_; }
  std::optional<uint64_t> length() const {
    if (framing_ == Framing::ContentLength) return length_;
    return std::nullopt;
  }
  const http::Headers* trailers() const {
    return framing_ == Framing::Chunked && finished_ ? &decoder_.trailers() : nullptr;
  }
  bool finished() const { return finished_; }
  bool broken() const { return broken_; }
  uint64_t bytes() const { return bytes_; }  // body bytes returned so far

  // Marks the body broken (the owner's own step failed) and returns the error chunk.
  BodyChunk fail() {
    broken_ = true;
    return BodyChunk{{}, false, true};
  }

 private:
  BodyChunk complete(std::string_view data) {
    finished_ = true;
    if constexpr (requires(Source& s) { s.bodyComplete(); }) source_.bodyComplete();
    return BodyChunk{data, true, false};
  }

  // A body that has ended (or never had bytes: Framing::None).
  awaitable<BodyChunk> readNothing() {
    if (finished_) co_return BodyChunk{{}, true, false};
    co_return complete({});
  }

  awaitable<BodyChunk> readFixed() {
    if (remaining_ == 0) co_return complete({});
    if constexpr (requires(Source& s, uint64_t n) { s.topUp(n); }) source_.topUp(remaining_);
    if (source_.buffer().empty()) {
      error_code ec = co_await source_.fill();
      if (ec) co_return fail();
    }
    std::string_view data = source_.buffer().data();
    size_t n = size_t(std::min<uint64_t>(data.size(), remaining_));
    remaining_ -= n;
    pendingConsume_ = n;
    bytes_ += n;
    if (remaining_ == 0) co_return complete(data.substr(0, n));
    co_return BodyChunk{data.substr(0, n), false, false};
  }

  awaitable<BodyChunk> readChunked() {
    if (runIndex_ < runs_.size()) co_return nextRun();
    runs_.clear();
    runIndex_ = 0;
    if (done_) co_return complete({});
    io::ReadBuffer& buffer = source_.buffer();
    while (true) {
      if (!buffer.empty()) {
        auto result = decoder_.decode(buffer.data(), [this](std::string_view run) { runs_.push_back(run); });
        if (result.status == http::h1::ChunkedDecoder::Status::Error) co_return fail();
        pendingConsume_ = result.consumed;
        if (result.status == http::h1::ChunkedDecoder::Status::Done) done_ = true;
        if (!runs_.empty()) co_return nextRun();
        if (done_) co_return complete({});
        consumePending();
      }
      error_code ec = co_await source_.fill();
      if (ec) co_return fail();
    }
  }

  BodyChunk nextRun() {
    std::string_view run = runs_[runIndex_++];
    bytes_ += run.size();
    if (done_ && runIndex_ == runs_.size()) return complete(run);
    return BodyChunk{run, false, false};
  }

  awaitable<BodyChunk> readUntilClose() {
    io::ReadBuffer& buffer = source_.buffer();
    if (buffer.empty()) {
      error_code ec = co_await source_.fill();
      if (ec == asio::error::eof) co_return complete({});
      if (ec) co_return fail();
    }
    std::string_view data = buffer.data();
    pendingConsume_ = data.size();
    bytes_ += data.size();
    co_return BodyChunk{data, false, false};
  }

  Source& source_;
  Framing framing_;
  uint64_t remaining_;
  uint64_t length_;
  bool finished_ = false;
  bool broken_ = false;
  bool done_ = false;  // the chunked decoder saw the last chunk
  size_t pendingConsume_ = 0;
  uint64_t bytes_ = 0;
  http::h1::ChunkedDecoder decoder_;
  std::vector<std::string_view> runs_;
  size_t runIndex_ = 0;
};

}  // namespace causeway::exchange
