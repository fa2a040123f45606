// An incremental parser of server-sent events (the WHATWG event-stream format): bytes go in
// as they arrive, whole events come out. Lines end with LF, CRLF or CR; `data:` lines of one
// event are joined with LF; comment lines (": keep-alive") and `id:`/`retry:` are skipped.
// An event is bounded (maxEventBytes): a provider that never ends one is an error, not a
// growing buffer.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace causeway::gateway::ai {

// How a provider frames the events of a streamed answer: server-sent events (every provider
// but one) or AWS's binary event stream (Bedrock, bedrock.h).
class EventFramer {
 public:
  using OnEvent = std::function<bool(std::string_view name, std::string_view data)>;
  virtual ~EventFramer() = default;
  // Feeds bytes; calls onEvent for every complete event. Returns false when the framing is
  // broken, an event is over the bound, or onEvent returned false (then stop feeding).
  virtual bool feed(std::string_view bytes, const OnEvent& onEvent) = 0;
  // Bytes of an event that has not ended yet.
  virtual bool pending() const = 0;
};

class SseParser final : public EventFramer {
 public:
  explicit SseParser(size_t maxEventBytes = 4 << 20) : max_(maxEventBytes) {}
  bool feed(std::string_view bytes, const OnEvent& onEvent) override;
  bool pending() const override { return !line_.empty() || !data_.empty() || !name_.empty(); }

 private:
  bool endLine(const OnEvent& onEvent);
  size_t max_;
  std::string line_;
  std::string name_;
  std::string data_;
  bool hasData_ = false;
  bool afterCr_ = false;
};

}  // namespace causeway::gateway::ai
