// Decides, in time linear in the bytes received, when a growing buffer holds enough of a head
// for parseRequestHead()/parseResponseHead() to give a final answer. The parsers are
// stateless and start from the first byte on every call, so calling them after every read
// would cost O(n²) for a head that trickles in (1 MiB sent one byte per packet would be
// 10^12 byte visits). A connection keeps one HeadScanner per head:
//
//   append bytes to the buffer;
//   if (firstRead || scanner.ready(buffer, limits)) status = parseRequestHead(buffer, ...);
//   // Incomplete: keep reading (rare after ready()); Complete/Error: scanner.reset()
//
// Parsing on the first read as well rejects garbage (a TLS ClientHello on a cleartext port,
// a bad method) at once instead of waiting for a line end or a limit.
#pragma once

#include <cstddef>
#include <string_view>

#include "http/h1/types.h"

namespace causeway::http::h1 {

class HeadScanner {
 public:
  // `input` starts at the first byte of the head and extends the input of the previous call
  // (same start, more bytes). True when the blank line ending the head has arrived, or when a
  // limit is already exceeded (the parser reports 414/431): request line over
  // limits.maxRequestLine, more than limits.maxHeaderCount field lines, more than
  // limits.maxHeadBytes bytes, too many empty lines before the start line.
  bool ready(std::string_view input, const Limits& limits);
  // Forget everything: call before scanning the next head (its buffer start moved).
  void reset() { *this = HeadScanner{}; }

 private:
  size_t scanned_ = 0;     // bytes of input already looked at
  size_t lineStart_ = 0;   // offset of the line being read
  size_t emptyLines_ = 0;  // empty lines before the start line
  size_t fieldLines_ = 0;
  bool startLineSeen_ = false;
};

}  // namespace causeway::http::h1
