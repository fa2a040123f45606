// What the MCP gateway learned about one exchange (src/gateway/mcp), for the observers (access
// log, metrics, traces) and the dashboard. Placed in the exchange's arena by the `mcp`
// middleware and pointed to by RequestRecord::mcp; null on exchanges that are not MCP traffic.
// Views point into the arena.
#pragma once

#include <string_view>

namespace causeway::exchange {

struct McpRecord {
  std::string_view method;           // mcp.method.name: "tools/call"; empty for GET/DELETE legs
  std::string_view name;             // params.name (tools, prompts) or params.uri (resources)
  std::string_view requestId;        // jsonrpc.request.id as text; empty for notifications
  std::string_view sessionId;        // mcp.session.id: a fingerprint of the client's id (the id is a credential)
  std::string_view protocolVersion;  // mcp.protocol.version
  std::string_view decision;         // "allow" or "deny" when a policy decided; empty otherwise
  std::string_view rule;             // what decided: "policies[2]" or "defaultAction"
  int errorCode = 0;                 // the JSON-RPC error causeway answered with (0: none)
  int hidden = 0;                    // list entries a policy hid from the caller
};

}  // namespace causeway::exchange
