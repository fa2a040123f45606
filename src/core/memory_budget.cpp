#include "core/memory_budget.h"

namespace causeway {

MemoryBudget& requestHeadBudget() {
  static MemoryBudget budget(64u << 20);
  return budget;
}

namespace {
std::atomic<void (*)()> trimmer{nullptr};
}  // namespace

void setMemoryTrimmer(void (*t)()) { trimmer.store(t, std::memory_order_relaxed); }

void trimFreeMemory() {
  if (auto t = trimmer.load(std::memory_order_relaxed)) t();
}

}  // namespace causeway
