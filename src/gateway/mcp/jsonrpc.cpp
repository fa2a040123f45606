#include "gateway/mcp/jsonrpc.h"

#include <boost/json.hpp>

namespace causeway::gateway::mcp {
namespace {

void replyJson(exchange::Exchange& ex, int status, std::string body) {
  exchange::Response& r = ex.response;
  r.status = status;
  r.reason = {};
  r.headers.clear();
  r.headers.add("Content-Type", "application/json");
  r.body = ex.arena.make<exchange::OwnedBody>(std::move(body));
  r.tunnel = nullptr;
}

}  // namespace

void replyError(exchange::Exchange& ex, exchange::McpRecord& rec, int status,
                const boost::json::value* id, int code, std::string message) {
  boost::json::object error;
  error["code"] = code;
  error["message"] = message;
  boost::json::object out;
  out["jsonrpc"] = "2.0";
  out["id"] = id ? *id : boost::json::value(nullptr);
  out["error"] = std::move(error);
  rec.errorCode = code;
  if (ex.record.errorDetail.empty()) ex.record.errorDetail = ex.arena.copy(message);
  replyJson(ex, status, boost::json::serialize(out));
}

void replyResult(exchange::Exchange& ex, const boost::json::value& id, boost::json::value result) {
  boost::json::object out;
  out["jsonrpc"] = "2.0";
  out["id"] = id;
  out["result"] = std::move(result);
  replyJson(ex, 200, boost::json::serialize(out));
}

}  // namespace causeway::gateway::mcp
