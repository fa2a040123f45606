#include "runtime/runtime_state.h"

namespace causeway::runtime {

const char* statusName(ElementStatus status) {
  switch (status) {
    case ElementStatus::Enabled: return "enabled";
    case ElementStatus::Warning: return "warning";
    case ElementStatus::Disabled: return "disabled";
  }
  return "unknown";
}

}  // namespace causeway::runtime
