// The JSON-RPC answers the MCP gateway writes itself, and the error codes it uses
// (docs/mcp-gateway.md, "Errors"). -32001…-32006 are in the range JSON-RPC leaves to
// implementations; -32020 is MCP's HeaderMismatch.
#pragma once

#include <boost/json/parse_options.hpp>
#include <boost/json/value.hpp>
#include <string>

#include "exchange/exchange.h"
#include "exchange/mcp_record.h"

namespace causeway::gateway::mcp {

constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kSessionNotFound = -32001;  // the code MCP servers use for an unknown session
constexpr int kForbidden = -32003;        // denied by a policy
constexpr int kOriginRefused = -32004;    // Origin not allowed
constexpr int kRateLimited = -32005;      // a rate limit of the gateway
constexpr int kTimedOut = -32006;         // no answer within callTimeout
constexpr int kHeaderMismatch = -32020;   // MCP 2026-07-28 HeaderMismatch

// How MCP messages are parsed: deeper than boost::json's default of 32 levels, since tool
// schemas and arguments nest (a list that cannot be parsed cannot be filtered).
inline boost::json::parse_options jsonOptions() {
  boost::json::parse_options o;
  o.max_depth = 256;
  return o;
}

// Answers with a JSON-RPC error (id null when `id` is null or absent) as application/json.
void replyError(exchange::Exchange& ex, exchange::McpRecord& rec, int status,
                const boost::json::value* id, int code, std::string message);
// Answers a request with `result` (HTTP 200, application/json).
void replyResult(exchange::Exchange& ex, const boost::json::value& id, boost::json::value result);

}  // namespace causeway::gateway::mcp
