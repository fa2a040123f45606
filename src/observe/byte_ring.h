// A bounded single-producer single-consumer queue of byte records (access-log lines, encoded
// spans). The producer (one worker thread) never waits: push() fails when the record does not
// fit and the caller counts the drop. The consumer (the writer or exporter thread) drains.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace causeway::observe {

class ByteRing {
 public:
  // `capacity` is rounded up to a power of two (at least 64 bytes).
  explicit ByteRing(size_t capacity);
  ByteRing(const ByteRing&) = delete;
  ByteRing& operator=(const ByteRing&) = delete;

  // Producer thread: appends a record; false (nothing written) when it does not fit.
  bool push(std::string_view record);
  // Producer thread: appends a record made of two pieces (no intermediate copy).
  bool push(std::string_view first, std::string_view second);

  // Consumer thread: hands up to `maxRecords` records to `visit(first, second)` (a record may
  // wrap around the end of the buffer, hence two pieces; `second` is usually empty). The
  // views are valid only during the call. Returns the number of records visited.
  template <class Visit>
  size_t drain(Visit&& visit, size_t maxRecords = SIZE_MAX) {
    uint64_t head = head_.load(std::memory_order_relaxed);
    const uint64_t tail = tail_.load(std::memory_order_acquire);
    size_t count = 0;
    while (head < tail && count < maxRecords) {
      uint32_t length = 0;
      copyOut(head, reinterpret_cast<char*>(&length), sizeof length);
      head += sizeof length;
      size_t at = size_t(head & mask_);
      size_t firstLength = std::min<size_t>(length, capacity_ - at);
      visit(std::string_view(buffer_.get() + at, firstLength),
            std::string_view(buffer_.get(), length - firstLength));
      head += length;
      ++count;
    }
    head_.store(head, std::memory_order_release);
    return count;
  }

  bool empty() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }
  size_t capacity() const { return capacity_; }
  // Bytes in use (approximate when read from another thread).
  size_t used() const {
    return size_t(tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire));
  }

 private:
  void copyIn(uint64_t position, const char* data, size_t length);
  void copyOut(uint64_t position, char* data, size_t length) const;

  size_t capacity_;
  size_t mask_;
  std::unique_ptr<char[]> buffer_;
  alignas(64) std::atomic<uint64_t> head_{0};  // consumer: bytes consumed
  alignas(64) std::atomic<uint64_t> tail_{0};  // producer: bytes produced
  uint64_t cachedHead_ = 0;                    // producer's last view of head_
};

}  // namespace causeway::observe
