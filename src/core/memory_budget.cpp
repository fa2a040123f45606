#include "core/memory_budget.h"

namespace causeway {

MemoryBudget& requestHeadBudget() {
  static MemoryBudget budget(64u << 20);
  return budget;
}

namespace {
std::atomic<void (*)()> trimmer{nullptr};
std::atomic<void (*)(bool)> eagerSwitch{nullptr};
std::atomic<int> eagerHolders{0};  // guards may nest (a trim inside a free's callback)
std::atomic<void* (*)()> shortLivedEnter{nullptr};
std::atomic<void (*)(void*)> shortLivedLeave{nullptr};
}  // namespace

void setShortLivedHeap(void* (*enter)(), void (*leave)(void*)) {
  shortLivedEnter.store(enter, std::memory_order_relaxed);
  shortLivedLeave.store(leave, std::memory_order_relaxed);
}

ShortLivedAllocations::ShortLivedAllocations() {
  if (auto enter = shortLivedEnter.load(std::memory_order_relaxed)) previous_ = enter();
}

ShortLivedAllocations::~ShortLivedAllocations() {
  if (!previous_) return;
  if (auto leave = shortLivedLeave.load(std::memory_order_relaxed)) leave(previous_);
}

void setEagerRelease(void (*on)(bool)) { eagerSwitch.store(on, std::memory_order_relaxed); }

EagerRelease::EagerRelease() {
  if (eagerHolders.fetch_add(1, std::memory_order_relaxed) == 0)
    if (auto on = eagerSwitch.load(std::memory_order_relaxed)) on(true);
}

EagerRelease::~EagerRelease() {
  if (eagerHolders.fetch_sub(1, std::memory_order_relaxed) == 1)
    if (auto on = eagerSwitch.load(std::memory_order_relaxed)) on(false);
}

void setMemoryTrimmer(void (*t)()) { trimmer.store(t, std::memory_order_relaxed); }

void trimFreeMemory() {
  if (auto t = trimmer.load(std::memory_order_relaxed)) t();
}

}  // namespace causeway
