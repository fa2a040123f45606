// The one clock for deadlines, durations and timestamps on the data path (monotonic), and the
// wall clock in seconds for what HTTP dates and ages are counted in.
#pragma once

#include <chrono>
#include <cstdint>

namespace causeway {
using Clock = std::chrono::steady_clock;

// Seconds since the Unix epoch, by the wall clock.
inline int64_t unixSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}
}  // namespace causeway
