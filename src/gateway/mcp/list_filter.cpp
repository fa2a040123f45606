#include "gateway/mcp/list_filter.h"

#include <boost/json.hpp>

#include <algorithm>

namespace causeway::gateway::mcp {

std::optional<std::string> filterListResponse(std::string_view message, const boost::json::value& id,
                                              std::string_view method, const PolicySet& policies, int& hidden) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(message, ec);
  if (ec) return std::nullopt;
  boost::json::object* o = v.if_object();
  if (!o) return std::nullopt;
  const boost::json::value* answerId = o->if_contains("id");
  boost::json::value* result = o->if_contains("result");
  if (!answerId || *answerId != id || !result || !result->is_object()) return std::nullopt;
  hidden += policies.filter(method, result->get_object());
  return boost::json::serialize(v);
}

SseListFilter::SseListFilter(exchange::BodySource* upstream, const PolicySet& policies, std::string_view method,
                             boost::json::value id, exchange::McpRecord& record, size_t maxEventBytes)
    : upstream_(upstream), policies_(policies), method_(method), id_(std::move(id)), record_(record),
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
    if (!chunk.last && in_.size() > maxEventBytes_) co_return exchange::BodyChunk{{}, false, true};
    if (chunk.last) {
      done_ = true;
      co_return exchange::BodyChunk{out_, true, false};
    }
    if (!out_.empty()) co_return exchange::BodyChunk{out_, false, false};
  }
}

void SseListFilter::takeEvents(bool atEnd) {
  size_t start = 0;
  while (start < in_.size()) {
    // An event ends with an empty line: LF LF, or CRLF CRLF (CR alone is not used by MCP servers).
    size_t lf = in_.find("\n\n", start);
    size_t crlf = in_.find("\r\n\r\n", start);
    size_t end = std::string::npos;
    if (lf != std::string::npos) end = lf + 2;
    if (crlf != std::string::npos) end = std::min(end, crlf + 4);
    if (end == std::string::npos) break;
    emit(std::string_view(in_).substr(start, end - start));
    start = end;
  }
  in_.erase(0, start);
  if (atEnd && !in_.empty()) {
    out_ += in_;  // a last event without its empty line: as it came
    in_.clear();
  }
}

void SseListFilter::emit(std::string_view event) {
  if (answered_) {
    out_ += event;
    return;
  }
  // Join the data lines; keep the others (id, event, retry, comments) to write them back.
  std::string data;
  std::string other;
  bool hasData = false;
  size_t pos = 0;
  while (pos < event.size()) {
    size_t nl = event.find('\n', pos);
    std::string_view line = event.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? event.size() : nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    if (line.starts_with("data:")) {
      std::string_view value = line.substr(5);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (hasData) data += '\n';
      data += value;
      hasData = true;
    } else {
      other.append(line).push_back('\n');
    }
  }
  int hidden = 0;
  std::optional<std::string> rewritten;
  if (hasData) rewritten = filterListResponse(data, id_, method_, policies_, hidden);
  if (!rewritten) {
    out_ += event;
    return;
  }
  answered_ = true;
  record_.hidden += hidden;
  out_ += other;
  out_ += "data: ";
  out_ += *rewritten;  // serialized JSON holds no newline
  out_ += "\n\n";
}

}  // namespace causeway::gateway::mcp
