#include "core/memory_budget.h"

namespace causeway {

MemoryBudget& requestHeadBudget() {
  static MemoryBudget budget(64u << 20);
  return budget;
}

}  // namespace causeway
