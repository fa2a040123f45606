#include "io/watchdog.h"

namespace causeway::io {

void Watchdog::tick(Clock::time_point now) {
  // onDeadline() only cancels sockets; Asio posts the completions, so no entry is
  // destroyed while this loop runs.
  for (Watched& entry : entries_) {
    if (entry.deadline() <= now) {
      entry.disarm();
      entry.onDeadline();
    }
  }
}

}  // namespace causeway::io
