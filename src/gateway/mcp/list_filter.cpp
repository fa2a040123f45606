#include "gateway/mcp/list_filter.h"

#include <algorithm>
#include <boost/json.hpp>

#include "gateway/mcp/jsonrpc.h"
#include "gateway/mcp/sse_events.h"

namespace causeway::gateway::mcp {
namespace {

// Filters the result of one message; NotAnswer when it has none.
ListAnswer filterOne(boost::json::value& v, std::string_view method, const PolicySet& policies,
                     const boost::json::value* claims, int& hidden) {
  boost::json::object* o = v.if_object();
  if (!o) return ListAnswer::Unreadable;
  if (o->contains("method")) return ListAnswer::NotAnswer;  // the server's notification or request
  boost::json::value* result = o->if_contains("result");
  if (!result) return o->contains("error") ? ListAnswer::NotAnswer : ListAnswer::Unreadable;
  if (!result->is_object()) return ListAnswer::Unreadable;
  hidden += policies.filter(method, result->get_object(), claims);
  return ListAnswer::Filtered;
}

}  // namespace

ListAnswer filterListAnswer(std::string_view message, std::string_view method,
                            const PolicySet& policies, const boost::json::value* claims, int& hidden,
                            std::string& out) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(message, ec, {}, jsonOptions());
  if (ec) return ListAnswer::Unreadable;
  ListAnswer answer = ListAnswer::NotAnswer;
  if (boost::json::array* batch = v.if_array()) {
    for (boost::json::value& m : *batch) {
      ListAnswer one = filterOne(m, method, policies, claims, hidden);
      if (one == ListAnswer::Unreadable) return one;
      if (one == ListAnswer::Filtered) answer = one;
    }
  } else {
    answer = filterOne(v, method, policies, claims, hidden);
  }
  if (answer == ListAnswer::Filtered) out = boost::json::serialize(v);
  return answer;
}

SseListFilter::SseListFilter(exchange::BodySource* upstream, const PolicySet& policies,
                             std::string_view method, const boost::json::value* claims,
                             exchange::McpRecord& record, size_t maxEventBytes)
    : upstream_(upstream), policies_(policies), method_(method), claims_(claims), record_(record),
      maxEventBytes_(maxEventBytes) {}

awaitable<exchange::BodyChunk> SseListFilter::read() {
  out_.clear();
  while (true) {
    exchange::BodyChunk chunk = co_await upstream_->read();
    if (chunk.error) co_return chunk;
    if (answered_ && in_.empty()) {
      // The list's answer went by: the rest of the stream is handed on as it comes.
      done_ = chunk.last;
      co_return chunk;
    }
    in_.append(chunk.data);
    takeEvents(chunk.last);
    if (broken_ || (!chunk.last && in_.size() > maxEventBytes_))
      co_return exchange::BodyChunk{{}, false, true};
    if (chunk.last) {
      done_ = true;
      co_return exchange::BodyChunk{out_, true, false};
    }
    if (!out_.empty()) co_return exchange::BodyChunk{out_, false, false};
  }
}

void SseListFilter::takeEvents(bool atEnd) {
  size_t start = 0;
  while (start < in_.size() && !broken_) {
    // An event ends with an empty line: LF LF, or CRLF CRLF. The search resumes where the last
    // one stopped (less the three bytes an end could straddle).
    size_t end = eventEnd(in_, std::max(start, scanned_ > 3 ? scanned_ - 3 : size_t(0)));
    if (end == std::string::npos) {
      scanned_ = in_.size();
      break;
    }
    emit(std::string_view(in_).substr(start, end - start));
    start = end;
    scanned_ = end;
  }
  in_.erase(0, start);
  scanned_ = scanned_ >= start ? scanned_ - start : 0;
  if (atEnd && !in_.empty() && !broken_) {
    emit(in_);  // a last event without its empty line
    in_.clear();
  }
}

void SseListFilter::emit(std::string_view event) {
  if (answered_) {
    out_ += event;
    return;
  }
  // The data, and the other lines (id, event, retry, comments) to write them back.
  SseEvent e = parseEvent(event);
  if (!e.hasData) {
    out_ += event;  // a comment or a bare id: no message
    return;
  }
  int hidden = 0;
  std::string rewritten;
  switch (filterListAnswer(e.data, method_, policies_, claims_, hidden, rewritten)) {
  case ListAnswer::NotAnswer:
    out_ += event;
    return;
  case ListAnswer::Unreadable:
    broken_ = true;
    return;
  case ListAnswer::Filtered:
    break;
  }
  answered_ = true;
  record_.hidden += hidden;
  out_ += e.fields;
  out_ += "data: ";
  out_ += rewritten;  // serialized JSON holds no newline
  out_ += "\n\n";
}

}  // namespace causeway::gateway::mcp
