// A monotonic allocator for per-request strings. Memory handed out stays valid until
// reset(); reset() keeps the first block so a connection reuses it for every request.
// Not thread-safe: an Arena belongs to one connection on one worker.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace causeway {

class Arena {
 public:
  explicit Arena(size_t blockSize = 4096) : blockSize_(blockSize) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Returns `size` bytes aligned to `align`. Never returns nullptr.
  void* allocate(size_t size, size_t align = alignof(std::max_align_t));

  // Copies `s` into the arena; the view stays valid until reset().
  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = static_cast<char*>(allocate(s.size(), 1));
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  // Concatenates the pieces into one arena string.
  std::string_view concat(std::initializer_list<std::string_view> pieces);

  // Releases everything but the first block.
  void reset();

  size_t bytesInUse() const { return used_; }

 private:
  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  size_t blockSize_;
  std::vector<Block> blocks_;
  size_t current_ = 0;  // index into blocks_
  size_t offset_ = 0;   // offset in blocks_[current_]
  size_t used_ = 0;
};

}  // namespace causeway
