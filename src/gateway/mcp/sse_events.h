// Server-sent events as the MCP gateway takes them apart (list filtering, the federated GET
// stream, federated answers): whole events, with lines ending in LF or CRLF (the Streamable
// HTTP servers' framing; a lone CR is not used). The AI gateway's gateway/ai/sse.h parses events
// for translation and drops `id:` lines; here they must be kept or dropped by the caller.
#pragma once

#include <string>
#include <string_view>

namespace causeway::gateway::mcp {

struct SseEvent {
  std::string data;  // the data lines' values, joined with LF
  bool hasData = false;
  std::string fields;  // every other non-empty line (id, event, retry, comments), each with LF
};

// Splits one whole event.
SseEvent parseEvent(std::string_view event);

// The end of the first event in `buffer` (just after its empty line), searching from `from`;
// npos when that event has not ended yet.
size_t eventEnd(std::string_view buffer, size_t from = 0);

}  // namespace causeway::gateway::mcp
