// A process-wide byte budget shared by every worker: memory that clients can make the
// server hold (partial request heads, decoded HTTP/2 header lists) is taken from it before
// it is allocated and given back when freed, so that many connections together cannot grow
// the process without bound (docs/security.md, R10). Lock-free; callers take coarse
// granules, never one field at a time, so the atomic stays off the common path.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>

namespace causeway {

class MemoryBudget {
 public:
  explicit MemoryBudget(size_t limit) : limit_(limit) {}

  // Takes `bytes` if that keeps the total within the limit.
  bool tryTake(size_t bytes) {
    size_t used = used_.load(std::memory_order_relaxed);
    do {
      if (bytes > limit_.load(std::memory_order_relaxed) - std::min(used, limit_.load(std::memory_order_relaxed)))
        return false;
    } while (!used_.compare_exchange_weak(used, used + bytes, std::memory_order_relaxed));
    return true;
  }
  void give(size_t bytes) { used_.fetch_sub(bytes, std::memory_order_relaxed); }

  size_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_.load(std::memory_order_relaxed); }
  void setLimit(size_t limit) { limit_.store(limit, std::memory_order_relaxed); }

 private:
  std::atomic<size_t> used_{0};
  std::atomic<size_t> limit_;
};

// Bytes of request heads held beyond each request's free allowance: HTTP/1.1 heads still
// being read, and HTTP/2 header lists decoded for open streams. Set at start from the
// static configuration (a causeway extension); 64 MiB by default.
MemoryBudget& requestHeadBudget();

// Gives memory that the allocator holds but nothing uses back to the system. The program
// sets the trimmer for its allocator at start (mimalloc: mi_collect); each worker calls
// trimFreeMemory() from its own thread every few seconds (allocators keep per-thread heaps).
void setMemoryTrimmer(void (*trimmer)());
void trimFreeMemory();

// While one lives, memory the program frees goes back to the system at once instead of after
// the allocator's usual delay (mimalloc keeps a freed span committed for a while in case it is
// reused soon; that delay is what makes it fast). For the large frees that nothing will reuse
// soon: a provider's tree once decoded, a build's own leftovers, a replaced configuration
// snapshot and the trim after it. The program sets the switch at start; without one this does
// nothing. The switch is process-wide, so keep these short (every thread's frees pay for it
// meanwhile), and make them on one thread only (the control thread): the count of open guards
// and the switch are not changed together.
void setEagerRelease(void (*on)(bool eager));
class EagerRelease {
 public:
  EagerRelease();
  ~EagerRelease();
  EagerRelease(const EagerRelease&) = delete;
  EagerRelease& operator=(const EagerRelease&) = delete;
};

// While one lives, what this thread allocates goes to a heap of its own kept for short-lived
// data: a configuration file's tree, freed once it is decoded. Those pages are then not shared
// with what lives on (the decoded configuration, the snapshot), and come back whole when the
// tree is freed instead of staying as holes between long-lived blocks. The program sets the
// hooks at start (`enter` returns what `leave` restores); without them this does nothing.
void setShortLivedHeap(void* (*enter)(), void (*leave)(void*));
class ShortLivedAllocations {
 public:
  ShortLivedAllocations();
  ~ShortLivedAllocations();
  ShortLivedAllocations(const ShortLivedAllocations&) = delete;
  ShortLivedAllocations& operator=(const ShortLivedAllocations&) = delete;

 private:
  void* previous_ = nullptr;
};

}  // namespace causeway
