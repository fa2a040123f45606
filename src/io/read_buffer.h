// A connection's receive buffer: bytes arrive at the end and are consumed from the
// front. It starts small, grows on demand up to a hard limit, and compacts in place so a
// long-lived connection does not keep growing. One per connection; single-threaded.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

#include "io/asio.h"

namespace causeway::io {

class ReadBuffer {
 public:
  explicit ReadBuffer(size_t initial = 4096) : initial_(initial) {}

  std::string_view data() const { return {data_.get() + begin_, end_ - begin_}; }
  size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  void consume(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Space to read into: at least `min` bytes unless that would exceed `limit` in total
  // (then whatever fits; an empty buffer means the limit is reached).
  asio::mutable_buffer prepare(size_t min = 1024, size_t limit = size_t(1) << 30);
  void commit(size_t n) { end_ += n; }
  // Frees memory of an idle, empty buffer (keeps nothing allocated).
  void release() {
    if (begin_ == end_) {
      data_.reset();
      capacity_ = 0;
      begin_ = end_ = 0;
    }
  }
  // Gives back memory past `capacity` when what is held fits in it (after a large head).
  void shrink(size_t capacity) {
    if (capacity_ <= capacity || end_ - begin_ > capacity) return;
    if (begin_ == end_) {
      release();
      return;
    }
    auto smaller = std::make_unique_for_overwrite<char[]>(capacity);
    std::memcpy(smaller.get(), data_.get() + begin_, end_ - begin_);
    data_ = std::move(smaller);
    capacity_ = capacity;
    end_ -= begin_;
    begin_ = 0;
  }
  size_t capacity() const { return capacity_; }

 private:
  std::unique_ptr<char[]> data_;
  size_t initial_;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

inline asio::mutable_buffer ReadBuffer::prepare(size_t min, size_t limit) {
  if (!data_) {
    capacity_ = initial_ < limit ? initial_ : limit;
    data_ = std::make_unique_for_overwrite<char[]>(capacity_);
  }
  if (capacity_ - end_ >= min) return {data_.get() + end_, capacity_ - end_};
  size_t used = end_ - begin_;
  if (begin_ > 0 && capacity_ - used >= min) {
    std::memmove(data_.get(), data_.get() + begin_, used);
    begin_ = 0;
    end_ = used;
    return {data_.get() + end_, capacity_ - end_};
  }
  size_t want = capacity_;
  while (want - used < min && want < limit) want *= 2;
  if (want > limit) want = limit;
  if (want > capacity_) {
    auto grown = std::make_unique_for_overwrite<char[]>(want);
    std::memcpy(grown.get(), data_.get() + begin_, used);
    data_ = std::move(grown);
    capacity_ = want;
  } else if (begin_ > 0) {
    std::memmove(data_.get(), data_.get() + begin_, used);
  }
  begin_ = 0;
  end_ = used;
  return {data_.get() + end_, capacity_ - end_};
}

}  // namespace causeway::io
