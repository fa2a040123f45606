// Filters the answer to a list request (tools/list, prompts/list, resources/list) by the
// route's policies (policy.h), in either form a Streamable HTTP server may answer with:
//  - application/json: the one JSON-RPC response, read whole (bounded) and rewritten;
//  - text/event-stream: event by event as they arrive; the event carrying the response is
//    rewritten (its `id:`, `event:` and `retry:` lines kept), the server's notifications and
//    requests (progress, logging, sampling) and comments pass unchanged.
// Everything on a list request's answer belongs to that request, so any JSON-RPC result in it is
// the list. What cannot be read is never passed on unfiltered: a JSON answer becomes a 502, a
// stream is cut. Either way the count of hidden entries goes to the exchange's McpRecord.
#pragma once

#include <string>
#include <string_view>

#include "exchange/body.h"
#include "exchange/mcp_record.h"
#include "gateway/mcp/policy.h"

namespace causeway::gateway::mcp {

enum class ListAnswer {
  Filtered,    // a result: `out` holds it filtered
  NotAnswer,   // a notification, a request or an error answer: pass it as it is
  Unreadable,  // not a JSON-RPC message (or batch of them): never pass it on
};

// Judges one JSON-RPC message (or batch) of the answer to the list request `method`.
ListAnswer filterListAnswer(std::string_view message, std::string_view method,
                            const PolicySet& policies, const boost::json::value* claims, int& hidden,
                            std::string& out);

class SseListFilter final : public exchange::BodySource {
 public:
  // `claims` (the exchange's) must outlive the filter.
  SseListFilter(exchange::BodySource* upstream, const PolicySet& policies, std::string_view method,
                const boost::json::value* claims, exchange::McpRecord& record, size_t maxEventBytes);
  awaitable<exchange::BodyChunk> read() override;
  bool finished() const override { return done_; }
  const http::Headers* trailers() const override { return upstream_->trailers(); }

 private:
  void takeEvents(bool atEnd);
  void emit(std::string_view event);

  exchange::BodySource* upstream_;
  const PolicySet& policies_;
  std::string method_;
  const boost::json::value* claims_;
  exchange::McpRecord& record_;
  size_t maxEventBytes_;
  std::string in_;      // bytes of events not complete yet
  size_t scanned_ = 0;  // how far in_ was searched for an event's end
  std::string out_;     // what the next read hands on
  bool done_ = false;
  bool answered_ = false;  // the list's answer went by: the rest passes untouched
  bool broken_ = false;    // an event that cannot be read: the stream is cut
};

}  // namespace causeway::gateway::mcp
