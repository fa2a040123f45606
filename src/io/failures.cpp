#include "io/failures.h"

#include "core/log.h"

namespace causeway::io {

void logFailure(std::exception_ptr e, const char* what) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log::error(what, {{"error", ex.what()}});
  } catch (...) {
    log::error(what, {{"error", "unknown exception"}});
  }
}

}  // namespace causeway::io
