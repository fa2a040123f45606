// Filters the answer to a list request (tools/list, prompts/list, resources/list) by the
// route's policies (policy.h), in either form a Streamable HTTP server may answer with:
//  - application/json: the one JSON-RPC response, read whole (bounded) and rewritten;
//  - text/event-stream: event by event as they arrive; the event carrying the response to the
//    list request is rewritten (its `id:`, `event:` and `retry:` lines kept), every other event
//    (progress, logging, the server's own requests, keep-alive comments) passes unchanged.
// Either way the count of hidden entries goes to the exchange's McpRecord.
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

#include "exchange/body.h"
#include "exchange/mcp_record.h"
#include "gateway/mcp/policy.h"

namespace causeway::gateway::mcp {

// Rewrites `message` (one JSON-RPC message as text) when it is the response with `id` to the
// list request `method`: the filtered text, or nullopt when it is left as it is.
std::optional<std::string> filterListResponse(std::string_view message, const boost::json::value& id,
                                              std::string_view method, const PolicySet& policies, int& hidden);

class SseListFilter final : public exchange::BodySource {
 public:
  SseListFilter(exchange::BodySource* upstream, const PolicySet& policies, std::string_view method,
                boost::json::value id, exchange::McpRecord& record, size_t maxEventBytes);
  awaitable<exchange::BodyChunk> read() override;
  bool finished() const override { return done_; }
  const http::Headers* trailers() const override { return upstream_->trailers(); }

 private:
  void takeEvents(bool atEnd);
  void emit(std::string_view event);

  exchange::BodySource* upstream_;
  const PolicySet& policies_;
  std::string method_;
  boost::json::value id_;
  exchange::McpRecord& record_;
  size_t maxEventBytes_;
  std::string in_;   // bytes of events not complete yet
  std::string out_;  // what the next read hands on
  bool done_ = false;
  bool answered_ = false;  // the list response went by: the rest passes untouched
};

}  // namespace causeway::gateway::mcp
