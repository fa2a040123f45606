// One writer at a time for a connection whose bytes several coroutines produce (HTTP/2
// frames from every stream): a flush that finds a write in progress leaves its bytes to that
// writer, which goes round again before it stops, so frames are never interleaved and no
// caller waits for another's write. Single-threaded.
#pragma once

#include <string>

#include "io/asio.h"

namespace causeway::io {

class SerialWriter {
 public:
  // `fill(out)` appends the bytes ready to send to the empty `out` (none: done). `write(buffer)`
  // returns the stream's write awaitable, completing with (error_code, bytes). Returns false
  // when a write failed (the flush stops there); true otherwise, also when another flush was
  // already writing.
  template <class Fill, class Write>
  awaitable<bool> flush(Fill fill, Write write) {
    if (writing_) {
      again_ = true;
      co_return true;
    }
    writing_ = true;
    bool ok = true;
    do {
      again_ = false;
      out_.clear();
      fill(out_);
      if (out_.empty()) break;
      auto [ec, written] = co_await write(asio::buffer(out_));
      if (ec) {
        ok = false;
        break;
      }
      again_ = true;
    } while (again_);
    writing_ = false;
    co_return ok;
  }

 private:
  std::string out_;
  bool writing_ = false;
  bool again_ = false;
};

}  // namespace causeway::io
