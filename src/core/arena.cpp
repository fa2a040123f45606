#include "core/arena.h"

#include <algorithm>

namespace causeway {

void* Arena::allocateSlow(size_t size, size_t align) {
  // The current block has no room (or there is none): the next block if it is large enough
  // (kept by reset()), else a new one after the current, and the allocation fits there.
  if (current_ + 1 < blocks_.size() && blocks_[current_ + 1].size >= size + align) {
    ++current_;
  } else {
    size_t want = std::max(blockSize_, size + align);
    // Oversized allocations get their own block; it is released on reset().
    blocks_.insert(blocks_.begin() + (blocks_.empty() ? 0 : current_ + 1),
                   Block{std::make_unique_for_overwrite<char[]>(want), want});
    current_ = blocks_.size() == 1 ? 0 : current_ + 1;
  }
  offset_ = 0;
  return allocate(size, align);
}

std::string_view Arena::concat(std::initializer_list<std::string_view> pieces) {
  size_t total = 0;
  for (auto piece : pieces) total += piece.size();
  if (total == 0) return {};
  char* p = static_cast<char*>(allocate(total, 1));
  size_t at = 0;
  for (auto piece : pieces) {
    std::memcpy(p + at, piece.data(), piece.size());
    at += piece.size();
  }
  return {p, total};
}

void Arena::release() {
  runDestructors();
  blocks_.clear();
  blocks_.shrink_to_fit();
  destructors_.shrink_to_fit();
  current_ = 0;
  offset_ = 0;
  used_ = 0;
}

void Arena::reset() {
  runDestructors();
  if (blocks_.size() > 1) blocks_.resize(1);
  current_ = 0;
  offset_ = 0;
  used_ = 0;
}

}  // namespace causeway
