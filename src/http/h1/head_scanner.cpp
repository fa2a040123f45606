#include "http/h1/head_scanner.h"

#include <cstring>

#include "http/h1/request_parser.h"

namespace causeway::http::h1 {

bool HeadScanner::ready(std::string_view input, const Limits& limits) {
  const char* data = input.data();
  const size_t n = input.size();
  while (scanned_ < n) {
    const void* found = std::memchr(data + scanned_, '\n', n - scanned_);
    if (found == nullptr) {
      scanned_ = n;
      break;
    }
    size_t lf = size_t(static_cast<const char*>(found) - data);
    size_t length = lf - lineStart_;
    if (length > 0 && data[lf - 1] == '\r') --length;
    scanned_ = lf + 1;
    lineStart_ = lf + 1;
    if (length == 0) {
      if (startLineSeen_) return true;  // the blank line: the head is complete
      if (++emptyLines_ > size_t(kMaxLeadingEmptyLines)) return true;
      continue;
    }
    if (!startLineSeen_) {
      startLineSeen_ = true;
      if (length > limits.maxRequestLine) return true;
    } else if (++fieldLines_ > limits.maxHeaderCount) {
      return true;
    }
  }
  if (n > limits.maxHeadBytes) return true;
  return !startLineSeen_ && n - lineStart_ > limits.maxRequestLine;
}

}  // namespace causeway::http::h1
