// The one clock for deadlines, durations and timestamps on the data path (monotonic).
#pragma once

#include <chrono>

namespace causeway {
using Clock = std::chrono::steady_clock;
}  // namespace causeway
