// The GET stream of a federated session (federation.h): the servers' own GET streams, read side
// by side, merged event by event into one for the client. Each server's stream is read by a task
// beside the exchange (Exchange::background); whole events are queued and handed on as they
// come. What passes: the servers' notifications (list_changed, logs, resource updates). What
// does not: their `id:` lines (one Last-Event-ID cannot resume several streams) and their
// requests to the client (sampling, elicitation), whose answers could not be routed back. A
// comment line keeps an idle stream alive (`streamKeepAlive`), and a client that left cancels
// every read (the stream is the exchange's Abandonable), so that the servers' streams close.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "exchange/body.h"
#include "exchange/exchange.h"
#include "io/abandonable.h"

namespace causeway::gateway::mcp {

class MergedEventStream final : public exchange::BodySource, public io::Abandonable {
 public:
  // `keepAlive` 0: no comments.
  MergedEventStream(std::vector<exchange::BodySource*> streams, exchange::Exchange& ex,
                    std::chrono::nanoseconds keepAlive, size_t maxEventBytes);
  awaitable<exchange::BodyChunk> read() override;
  bool finished() const override { return done_; }
  void abandon() override;

  struct Shared;

 private:
  std::vector<exchange::BodySource*> streams_;
  exchange::Exchange& ex_;  // used only while the exchange reads this source
  std::chrono::nanoseconds keepAlive_;
  std::shared_ptr<Shared> shared_;
  std::string out_;
  bool started_ = false;
  bool done_ = false;
};

}  // namespace causeway::gateway::mcp
