// A monotonic allocator for per-request strings. Memory handed out stays valid until
// reset(); reset() keeps the first block so a connection reuses it for every request.
// Not thread-safe: an Arena belongs to one connection on one worker.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace causeway {

class Arena {
 public:
  explicit Arena(size_t blockSize = 4096) : blockSize_(blockSize) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() { runDestructors(); }

  // Returns `size` bytes aligned to `align`. Never returns nullptr. The common case, room left
  // in the current block, is inline: an exchange makes a few dozen of these.
  void* allocate(size_t size, size_t align = alignof(std::max_align_t)) {
    if (current_ < blocks_.size()) {
      Block& block = blocks_[current_];
      size_t start = (offset_ + align - 1) & ~(align - 1);
      if (start + size <= block.size) {
        offset_ = start + size;
        used_ += size;
        return block.data.get() + start;
      }
    }
    return allocateSlow(size, align);
  }

  // Copies `s` into the arena; the view stays valid until reset().
  std::string_view copy(std::string_view s) {
    if (s.empty()) return {};
    char* p = static_cast<char*>(allocate(s.size(), 1));
    std::memcpy(p, s.data(), s.size());
    return {p, s.size()};
  }

  // Concatenates the pieces into one arena string.
  std::string_view concat(std::initializer_list<std::string_view> pieces);

  // Constructs a T in the arena. Its destructor runs on reset() (in reverse order of
  // creation), so objects that own resources (sockets, leases) are safe to place here.
  template <class T, class... Args>
  T* make(Args&&... args) {
    void* p = allocate(sizeof(T), alignof(T));
    T* object = new (p) T(std::forward<Args>(args)...);
    if constexpr (!std::is_trivially_destructible_v<T>) {
      destructors_.push_back({object, [](void* o) { static_cast<T*>(o)->~T(); }});
    }
    return object;
  }

  // Runs pending destructors, then releases everything but the first block.
  void reset();
  // Runs pending destructors and releases every block (an idle connection's arena: the next
  // allocation takes a new first block).
  void release();

  size_t bytesInUse() const { return used_; }

 private:
  void* allocateSlow(size_t size, size_t align);
  void runDestructors() {
    while (!destructors_.empty()) {
      Destructor d = destructors_.back();
      destructors_.pop_back();
      d.destroy(d.object);
    }
  }

  struct Block {
    std::unique_ptr<char[]> data;
    size_t size;
  };
  size_t blockSize_;
  std::vector<Block> blocks_;
  size_t current_ = 0;  // index into blocks_
  size_t offset_ = 0;   // offset in blocks_[current_]
  size_t used_ = 0;
  struct Destructor {
    void* object;
    void (*destroy)(void*);
  };
  std::vector<Destructor> destructors_;
};

}  // namespace causeway
