// Chunked transfer coding (RFC 9112 §7.1): an incremental strict decoder for request and
// response bodies, and the writers used to re-encode a body when forwarding it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/arena.h"
#include "http/h1/types.h"
#include "http/headers.h"

namespace causeway::http::h1 {

// Incremental decoder of one chunked body. Feed it the bytes that follow the head, in pieces
// of any size; it calls onData(std::string_view) for every run of body bytes (views into the
// input, never empty) and never buffers body data. One decoder per connection direction;
// reset() it before the next message. Not thread-safe.
//
// Strictness (docs/security.md, S16–S23):
//  - chunk-size = 1*HEXDIG, at most 16 digits: no "0x", sign, leading whitespace, '_' (S16, S17);
//  - the size line, the CRLF after chunk data, the last chunk and the trailer lines must end
//    in CRLF exactly: a bare LF (S18) or a bare CR (S19) is an error;
//  - a byte other than CR right after chunk-size bytes of data is an error (S20);
//  - chunk extensions (BWS ";" BWS token [BWS "=" BWS (token / quoted-string)])* are
//    validated and dropped (S21); the size line including extensions is capped at
//    Limits::maxChunkLine bytes (S22);
//  - trailer fields follow the header field-line rules; fields that must never come from a
//    trailer (isForbiddenTrailer: framing, routing, authentication, connection control,
//    S23) are dropped; the others are copied into the Arena given at construction and
//    exposed by trailers(). The section is capped at Limits::maxTrailerBytes and
//    Limits::maxHeaderCount fields (431).
// Error statuses are 400 (431 for trailer limits); a response decoder's caller maps every
// error to 502.
class ChunkedDecoder {
 public:
  enum class Status { NeedMore, Done, Error };
  struct Result {
    size_t consumed = 0;  // bytes of `input` used; on Done, the body ends input.substr(consumed)
    Status status = Status::NeedMore;  // NeedMore: all of input consumed, feed more
    ParseError error;                  // valid when status == Error
  };

  // The arena receives trailer copies and must outlive trailers() use; reset it per message.
  explicit ChunkedDecoder(Arena& arena, const Limits& limits = Limits{});

  // Decodes from the start of `input`. After Done or Error, further calls consume nothing and
  // repeat that status until reset().
  template <class OnData> Result decode(std::string_view input, OnData&& onData);

  const Headers& trailers() const { return trailers_; }
  uint64_t bodyBytes() const { return bodyBytes_; }  // decoded data bytes so far
  bool done() const { return state_ == State::Done; }
  void reset();

 private:
  enum class State : uint8_t {
    SizeFirst,         // first hex digit of a chunk-size
    Size,              // more hex digits, ';', BWS or CR
    SizeBws,           // whitespace after the size: only ';' may follow
    ExtNameStart,      // after ';': BWS then an extension name
    ExtName,           //
    ExtAfterName,      // BWS after a name: only '=' may follow
    ExtValueStart,     // after '=': BWS then token or quoted-string
    ExtToken,          //
    ExtQuoted,         //
    ExtQuotedEscape,   // after '\' in a quoted-string
    ExtAfterValue,     // after a value: ';' or CR
    ExtAfterValueBws,  // whitespace after a value: only ';' may follow
    SizeLf,            // LF of the size line
    Data,              // chunk data (handled by decode())
    DataCr,            // CR after chunk data
    DataLf,            // LF after chunk data
    TrailerLineStart,  // CR of the final CRLF, or the first byte of a trailer field line
    TrailerLine,       // inside a trailer field line (buffered in line_)
    TrailerLf,         // LF of a trailer field line
    FinalLf,           // LF of the final CRLF
    Done,
    Failed,
  };
  enum class Step { Data, NeedMore, Done, Error };

  // Consumes framing bytes from `input` (chunk data excluded) until chunk data is due, the
  // body is complete, input runs out or an error occurs. Sets consumed.
  Step advance(std::string_view input, size_t& consumed);
  Step failWith(int status, std::string_view reason);
  bool finishTrailerLine();  // validates and stores line_; false after failWith()

  Arena& arena_;
  size_t maxChunkLine_;
  size_t maxTrailerBytes_;
  size_t maxTrailerCount_;
  State state_ = State::SizeFirst;
  unsigned sizeDigits_ = 0;
  uint64_t remaining_ = 0;  // chunk-size, then data bytes left in the current chunk
  size_t lineBytes_ = 0;    // bytes of the current size line
  size_t trailerBytes_ = 0;
  size_t trailerCount_ = 0;
  uint64_t bodyBytes_ = 0;
  std::string line_;  // the trailer field line being read (trailers only: off the hot path)
  Headers trailers_;
  ParseError error_;
};

template <class OnData>
ChunkedDecoder::Result ChunkedDecoder::decode(std::string_view input, OnData&& onData) {
  size_t pos = 0;
  while (true) {
    if (state_ == State::Data) {
      if (pos == input.size()) return {pos, Status::NeedMore, {}};
      uint64_t available = input.size() - pos;
      size_t n = size_t(remaining_ < available ? remaining_ : available);
      onData(input.substr(pos, n));
      pos += n;
      remaining_ -= n;
      bodyBytes_ += n;
      if (remaining_ != 0) return {pos, Status::NeedMore, {}};
      state_ = State::DataCr;
    }
    size_t used = 0;
    Step step = advance(input.substr(pos), used);
    pos += used;
    switch (step) {
    case Step::Data:
      continue;
    case Step::NeedMore:
      return {pos, Status::NeedMore, {}};
    case Step::Done:
      return {pos, Status::Done, {}};
    case Step::Error:
      return {pos, Status::Error, error_};
    }
  }
}

// True for fields that must not be taken from a trailer section (RFC 9110 §6.5.1, S23):
// Go's net/http list (Authorization, Cache-Control, Connection, Content-Encoding,
// Content-Length, Content-Range, Content-Type, Expect, Host, Keep-Alive, Max-Forwards, Pragma,
// Proxy-Authenticate, Proxy-Authorization, Proxy-Connection, Range, Realm, TE, Trailer,
// Transfer-Encoding, WWW-Authenticate) plus Cookie, Set-Cookie, Upgrade, HTTP2-Settings and the
// forwarding headers the gateway manages (Forwarded, X-Forwarded-*, X-Real-Ip).
bool isForbiddenTrailer(std::string_view name);

// Appends a chunk header for `size` data bytes: lower-case hex size and CRLF ("1a\r\n").
// The caller appends the data and then "\r\n". `size` must not be 0 (that is the last chunk).
void appendChunkHeader(std::string& out, size_t size);

// Appends the last chunk, the trailer fields and the final CRLF: "0\r\n" [name ": " value
// "\r\n"]... "\r\n". Fields for which isForbiddenTrailer() is true are skipped. The caller
// guarantees names are tokens and values contain no CR/LF/NUL (true for anything that came
// through the h1/h2 parsers).
void appendLastChunk(std::string& out, const Headers& trailers);

}  // namespace causeway::http::h1
