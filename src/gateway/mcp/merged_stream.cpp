#include "gateway/mcp/merged_stream.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/json.hpp>
#include <optional>

#include "gateway/mcp/jsonrpc.h"
#include "gateway/mcp/sse_events.h"

namespace causeway::gateway::mcp {

struct MergedEventStream::Shared {
  std::optional<asio::steady_timer> signal;  // cancelled when an event is queued or a stream ends
  std::optional<asio::steady_timer> abandoned;  // cancelled when the client is gone
  std::deque<std::string> events;
  size_t running = 0;  // streams still being read
  size_t maxEventBytes = 0;
  void wake() {
    if (signal) signal->cancel();
  }
};

namespace {

// One event as it goes to the client: its data and event lines, without `id:`; nothing when it is
// a request of the server's (it has an id and a method) or carries no data.
std::optional<std::string> relayed(std::string_view event) {
  SseEvent e = parseEvent(event);
  if (!e.hasData) return std::nullopt;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(e.data, ec, {}, jsonOptions());
  const boost::json::object* o = ec ? nullptr : v.if_object();
  if (!o || (o->contains("id") && o->contains("method"))) return std::nullopt;
  std::string out;
  for (size_t pos = 0; pos < e.fields.size();) {  // the event's name, if it has one
    size_t nl = e.fields.find('\n', pos);
    std::string_view line = std::string_view(e.fields).substr(pos, nl - pos + 1);
    if (line.starts_with("event:")) out += line;
    pos = nl + 1;
  }
  for (size_t pos = 0; pos <= e.data.size();) {
    size_t nl = e.data.find('\n', pos);
    if (nl == std::string::npos) nl = e.data.size();
    out.append("data: ").append(e.data, pos, nl - pos).push_back('\n');
    pos = nl + 1;
  }
  out.push_back('\n');
  return out;
}

awaitable<void> pump(exchange::BodySource* stream,
                     std::shared_ptr<MergedEventStream::Shared> shared) {
  using namespace asio::experimental::awaitable_operators;
  std::string pending;
  while (true) {
    auto first = co_await (stream->read() || shared->abandoned->async_wait(nothrow));
    if (first.index() == 1) break;  // the client is gone
    const exchange::BodyChunk& chunk = std::get<0>(first);
    if (chunk.error) break;
    pending.append(chunk.data);
    while (true) {
      size_t end = eventEnd(pending);
      if (end == std::string::npos) break;
      if (auto event = relayed(std::string_view(pending).substr(0, end))) {
        shared->events.push_back(std::move(*event));
        shared->wake();
      }
      pending.erase(0, end);
    }
    if (pending.size() > shared->maxEventBytes || chunk.last) break;
  }
  --shared->running;
  shared->wake();
}

}  // namespace

MergedEventStream::MergedEventStream(std::vector<exchange::BodySource*> streams,
                                     exchange::Exchange& ex, std::chrono::nanoseconds keepAlive,
                                     size_t maxEventBytes)
    : streams_(std::move(streams)), ex_(ex), keepAlive_(keepAlive),
      shared_(std::make_shared<Shared>()) {
  shared_->maxEventBytes = maxEventBytes;
}

void MergedEventStream::abandon() {
  if (shared_->abandoned) shared_->abandoned->cancel();
}

awaitable<exchange::BodyChunk> MergedEventStream::read() {
  auto executor = co_await asio::this_coro::executor;
  if (!started_) {
    started_ = true;
    shared_->signal.emplace(executor);
    shared_->abandoned.emplace(executor);
    shared_->abandoned->expires_at(asio::steady_timer::time_point::max());
    if (!ex_.waiting) ex_.waiting = this;  // the client leaving reaches abandon()
    shared_->running = streams_.size();
    for (exchange::BodySource* s : streams_)
      ex_.background.spawn(executor, pump(s, shared_));
  }
  while (shared_->events.empty() && shared_->running > 0) {
    shared_->signal->expires_at(asio::steady_timer::time_point::max());
    if (keepAlive_.count() <= 0) {
      co_await shared_->signal->async_wait(nothrow);
      continue;
    }
    asio::steady_timer tick(executor, keepAlive_);
    using namespace asio::experimental::awaitable_operators;
    auto woke = co_await (shared_->signal->async_wait(nothrow) || tick.async_wait(nothrow));
    if (woke.index() == 1 && shared_->events.empty()) {
      out_.assign(": keep-alive\n\n");
      co_return exchange::BodyChunk{out_, false, false};
    }
  }
  out_.clear();
  while (!shared_->events.empty()) {
    out_ += shared_->events.front();
    shared_->events.pop_front();
  }
  if (shared_->running == 0) {
    done_ = true;
    if (ex_.waiting == this) ex_.waiting = nullptr;
  }
  co_return exchange::BodyChunk{out_, done_, false};
}

}  // namespace causeway::gateway::mcp
