#include "gateway/mcp/sse_events.h"

#include <algorithm>

namespace causeway::gateway::mcp {

SseEvent parseEvent(std::string_view event) {
  SseEvent e;
  size_t pos = 0;
  while (pos < event.size()) {
    size_t nl = event.find('\n', pos);
    std::string_view line =
        event.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? event.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.starts_with("data:")) {
      std::string_view value = line.substr(5);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (e.hasData) e.data += '\n';
      e.data += value;
      e.hasData = true;
    } else {
      e.fields.append(line).push_back('\n');
    }
  }
  return e;
}

size_t eventEnd(std::string_view buffer, size_t from) {
  size_t lf = buffer.find("\n\n", from);
  size_t crlf = buffer.find("\r\n\r\n", from);
  size_t end = std::string_view::npos;
  if (lf != std::string_view::npos) end = lf + 2;
  if (crlf != std::string_view::npos) end = std::min(end, crlf + 4);
  return end;
}

}  // namespace causeway::gateway::mcp
