// An event stream with keep-alive comments: when the server has sent nothing for `interval`,
// the client gets an SSE comment line (": keep-alive", which every event-stream reader skips),
// so that idle streams (the MCP GET stream, a long tool call) survive proxies and load
// balancers that close silent connections, and a client that left is noticed on the next write
// rather than when the server speaks again. Comments go only between events, never inside one.
//
// The server's stream is read by one task beside the exchange (Exchange::background, joined by
// the codec before the exchange's memory goes), so that waiting for it can be given up for a
// comment without cancelling the read itself: an upstream read that is cancelled would break the
// stream. The task reads one piece ahead and hands pieces over through a single slot; the two
// sides wake each other with timers, and the client's side waits on one timer whose expiry is
// the keep-alive tick, so a piece costs no task, no timer and no race of its own. When the client
// is gone (the codec calls Exchange::clientGone(), which reaches this source as the exchange's
// Abandonable, or the exchange ends with the stream unfinished), the task's read is cancelled, so
// that it ends and the server's stream is closed rather than held until the server speaks.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "exchange/body.h"
#include "exchange/exchange.h"
#include "io/abandonable.h"

namespace causeway::gateway::mcp {

class KeepAliveStream final : public exchange::BodySource, public io::Abandonable {
 public:
  KeepAliveStream(exchange::BodySource* upstream, exchange::Exchange& ex,
                  std::chrono::nanoseconds interval);
  awaitable<exchange::BodyChunk> read() override;
  bool finished() const override { return done_; }
  const http::Headers* trailers() const override { return upstream_->trailers(); }
  void abandon() override;

  struct Shared;

 private:
  exchange::BodySource* upstream_;
  exchange::Exchange& ex_;  // used only while the exchange reads this source
  std::chrono::nanoseconds interval_;
  std::shared_ptr<Shared> shared_;
  std::string out_;
  bool boundary_ = true;  // what went to the client so far ends between events
  bool done_ = false;
};

}  // namespace causeway::gateway::mcp
