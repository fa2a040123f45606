// The per-connection arena (core/arena.h): reset keeps the first block for the next request,
// release gives every block back (an idle connection), and both run the destructors.
#include <gtest/gtest.h>

#include <string>

#include "core/arena.h"

namespace causeway {
namespace {

struct Counted {
  explicit Counted(int& count) : count(count) {}
  ~Counted() { ++count; }
  int& count;
};

TEST(Arena, ResetKeepsTheFirstBlockReleaseFreesAll) {
  Arena arena(256);
  int destroyed = 0;
  std::string_view first = arena.copy("hello");
  const char* firstBlock = first.data();
  arena.make<Counted>(destroyed);
  for (int i = 0; i < 20; ++i) arena.copy(std::string(100, 'x'));  // more blocks
  arena.reset();
  EXPECT_EQ(destroyed, 1);
  EXPECT_EQ(arena.bytesInUse(), 0u);
  EXPECT_EQ(arena.copy("again").data(), firstBlock);  // the kept block serves again

  arena.make<Counted>(destroyed);
  arena.release();
  EXPECT_EQ(destroyed, 2);
  EXPECT_EQ(arena.bytesInUse(), 0u);
  std::string_view after = arena.copy("after release");  // a new first block
  EXPECT_EQ(after, "after release");
  arena.reset();
  EXPECT_EQ(arena.copy("z").data(), after.data());
}

}  // namespace
}  // namespace causeway
