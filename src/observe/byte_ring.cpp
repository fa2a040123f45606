#include "observe/byte_ring.h"

#include <algorithm>
#include <cstring>

namespace causeway::observe {

ByteRing::ByteRing(size_t capacity) {
  size_t size = 64;
  while (size < capacity) size <<= 1;
  capacity_ = size;
  mask_ = size - 1;
  buffer_.reset(new char[size]);
}

void ByteRing::copyIn(uint64_t position, const char* data, size_t length) {
  size_t at = size_t(position & mask_);
  size_t first = std::min(length, capacity_ - at);
  std::memcpy(buffer_.get() + at, data, first);
  if (length > first) std::memcpy(buffer_.get(), data + first, length - first);
}

void ByteRing::copyOut(uint64_t position, char* data, size_t length) const {
  size_t at = size_t(position & mask_);
  size_t first = std::min(length, capacity_ - at);
  std::memcpy(data, buffer_.get() + at, first);
  if (length > first) std::memcpy(data + first, buffer_.get(), length - first);
}

bool ByteRing::push(std::string_view record) { return push(record, {}); }

bool ByteRing::push(std::string_view first, std::string_view second) {
  const size_t length = first.size() + second.size();
  const size_t need = sizeof(uint32_t) + length;
  if (need > capacity_) return false;
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  if (tail + need - cachedHead_ > capacity_) {
    cachedHead_ = head_.load(std::memory_order_acquire);
    if (tail + need - cachedHead_ > capacity_) return false;
  }
  uint32_t length32 = uint32_t(length);
  copyIn(tail, reinterpret_cast<const char*>(&length32), sizeof length32);
  copyIn(tail + sizeof length32, first.data(), first.size());
  if (!second.empty()) copyIn(tail + sizeof length32 + first.size(), second.data(), second.size());
  tail_.store(tail + need, std::memory_order_release);
  return true;
}

}  // namespace causeway::observe
