#include "gateway/ai/sse.h"

namespace causeway::gateway::ai {

bool SseParser::feed(std::string_view bytes, const OnEvent& onEvent) {
  for (char c : bytes) {
    if (afterCr_) {
      afterCr_ = false;
      if (c == '\n') continue;  // the LF of a CRLF
    }
    if (c == '\n' || c == '\r') {
      afterCr_ = c == '\r';
      if (!endLine(onEvent)) return false;
      continue;
    }
    line_ += c;
    if (line_.size() + data_.size() > max_) return false;
  }
  return true;
}

bool SseParser::endLine(const OnEvent& onEvent) {
  if (line_.empty()) {  // a blank line dispatches the event
    bool ok = true;
    if (hasData_) ok = onEvent(name_, data_);
    name_.clear();
    data_.clear();
    hasData_ = false;
    return ok;
  }
  if (line_[0] != ':') {
    std::string_view line = line_;
    size_t colon = line.find(':');
    std::string_view key = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    if (key == "data") {
      if (hasData_) data_ += '\n';
      data_ += value;
      hasData_ = true;
    } else if (key == "event") {
      name_ = value;
    }
  }
  line_.clear();
  return true;
}

}  // namespace causeway::gateway::ai
