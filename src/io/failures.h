// What a detached coroutine lets escape (co_spawn's completion handler): logged, never lost.
#pragma once

#include <exception>

namespace causeway::io {

// Logs the exception in `e` as an error with message `what`; nothing when `e` is null.
void logFailure(std::exception_ptr e, const char* what);

// A co_spawn completion handler that does only that.
inline auto logFailures(const char* what) {
  return [what](std::exception_ptr e) { logFailure(e, what); };
}

}  // namespace causeway::io
