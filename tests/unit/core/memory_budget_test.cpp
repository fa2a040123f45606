// EagerRelease: the allocator's switch turned on by the first guard and off by the last, so
// that nested guards (a trim inside a snapshot's free) leave it as it was. ShortLivedAllocations:
// the heap hooks called in pairs.
#include <gtest/gtest.h>

#include <vector>

#include "core/memory_budget.h"

namespace causeway {
namespace {

std::vector<bool> calls;

TEST(EagerReleaseTest, TheFirstGuardTurnsItOnAndTheLastOff) {
  calls.clear();
  setEagerRelease([](bool eager) { calls.push_back(eager); });
  {
    EagerRelease outer;
    EXPECT_EQ(calls, std::vector<bool>{true});
    {
      EagerRelease inner;
      EXPECT_EQ(calls, std::vector<bool>{true});
    }
    EXPECT_EQ(calls, std::vector<bool>{true});
  }
  EXPECT_EQ(calls, (std::vector<bool>{true, false}));
  { EagerRelease again; }
  EXPECT_EQ(calls, (std::vector<bool>{true, false, true, false}));
  setEagerRelease(nullptr);
  { EagerRelease none; }
  EXPECT_EQ(calls.size(), 4u);
}

int heapToken = 0;
std::vector<void*> left;

// ShortLivedAllocations: enters the program's short-lived heap and leaves it for the heap that
// was current, once per guard; without hooks it does nothing.
TEST(ShortLivedAllocationsTest, EntersAndRestoresThePreviousHeap) {
  left.clear();
  setShortLivedHeap([]() -> void* { return &heapToken; }, [](void* previous) { left.push_back(previous); });
  { ShortLivedAllocations shortLived; }
  EXPECT_EQ(left, std::vector<void*>{&heapToken});
  setShortLivedHeap(nullptr, nullptr);
  { ShortLivedAllocations none; }
  EXPECT_EQ(left.size(), 1u);
}

}  // namespace
}  // namespace causeway
