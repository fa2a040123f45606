// Writes the pieces of an HTTP/1.1 head into a buffer sized in advance, so the hot path
// makes no capacity check per piece (request heads to upstreams, response heads to clients).
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace causeway::http::h1 {

class HeadWriter {
 public:
  explicit HeadWriter(char* at) : at_(at) {}
  void put(std::string_view s) {
    std::memcpy(at_, s.data(), s.size());
    at_ += s.size();
  }
  void put(char c) { *at_++ = c; }
  void field(std::string_view name, std::string_view value) {
    put(name);
    put2(':', ' ');
    put(value);
    put2('\r', '\n');
  }
  void number(uint64_t value, int base = 10) {
    auto [end, ec] = std::to_chars(at_, at_ + 20, value, base);
    at_ = end;
  }
  char* at() const { return at_; }

 private:
  void put2(char a, char b) {
    at_[0] = a;
    at_[1] = b;
    at_ += 2;
  }
  char* at_;
};

// Grows `out` by at most `bound` bytes for a HeadWriter; finish() trims to what was written.
class HeadBuffer {
 public:
  HeadBuffer(std::string& out, size_t bound) : out_(out), start_(out.size()) {
    out_.resize(start_ + bound);
    writer_ = HeadWriter(out_.data() + start_);
  }
  HeadWriter& writer() { return writer_; }
  void finish() { out_.resize(size_t(writer_.at() - out_.data())); }

 private:
  std::string& out_;
  size_t start_;
  HeadWriter writer_{nullptr};
};

inline void appendNumber(std::string& out, uint64_t value, int base = 10) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value, base);
  out.append(buf, size_t(end - buf));
}

// "name: value\r\n".
inline void appendField(std::string& out, std::string_view name, std::string_view value) {
  HeadBuffer buffer(out, name.size() + value.size() + 4);
  buffer.writer().field(name, value);
  buffer.finish();
}

}  // namespace causeway::http::h1
