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

class SseParser {
 public:
  using OnEvent = std::function<bool(std::string_view name, std::string_view data)>;
  explicit SseParser(size_t maxEventBytes = 4 << 20) : max_(maxEventBytes) {}
  // Feeds bytes; calls onEvent for every complete event. Returns false when an event is over
  // the bound or onEvent returned false (then stop feeding).
  bool feed(std::string_view bytes, const OnEvent& onEvent);
  // Bytes of an event that has not ended yet.
  bool pending() const { return !line_.empty() || !data_.empty() || !name_.empty(); }

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
