// EagerRelease: the allocator's switch turned on by the first guard and off by the last, so
// that nested guards (a trim inside a snapshot's free) leave it as it was.
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

}  // namespace
}  // namespace causeway
