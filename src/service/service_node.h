// What every service handler (loadBalancer, weighted, highestRandomWeight, mirroring,
// failover) shares: the health a parent observes, and the request-body plumbing of the
// services that replay a request (mirroring, failover).
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "exchange/handler.h"

namespace causeway::service {

class ServiceHandler : public exchange::Handler {
 public:
  // Whether the service can take requests now, as a parent with `healthCheck: {}` sees it
  // (Traefik's status propagation, read on demand instead of pushed): a loadBalancer is up
  // while one server is up, weighted and highestRandomWeight while one child is, failover
  // while its service or fallback is, mirroring while its service is. Any worker; reads
  // atomics only.
  virtual bool up() const = 0;
};
using ServiceHandlerPtr = std::shared_ptr<const ServiceHandler>;

// Reading a request body ahead of forwarding it.
enum class BufferResult { Complete, TooLarge, Failed };
// Reads `body` to its end into `out`; stops with TooLarge once `out` holds more than `limit`
// bytes (limit < 0: no limit), keeping every byte read so far so the body can be replayed.
awaitable<BufferResult> bufferBody(exchange::BodySource& body, std::string& out, int64_t limit);

// A body that first replays bytes already read from `rest`, then continues with `rest`.
class PrefixedBody final : public exchange::BodySource {
 public:
  PrefixedBody(std::string_view prefix, exchange::BodySource& rest) : prefix_(prefix), rest_(rest) {}
  awaitable<exchange::BodyChunk> read() override;
  std::optional<uint64_t> length() const override { return rest_.length(); }
  const http::Headers* trailers() const override { return rest_.trailers(); }
  bool finished() const override { return prefixSent_ && rest_.finished(); }

 private:
  std::string_view prefix_;
  exchange::BodySource& rest_;
  bool prefixSent_ = false;
};

// A copy of `request` whose strings live in `arena` (no body).
exchange::Request copyRequest(const exchange::Request& request, Arena& arena);

// Lives in the exchange's arena: decrements an in-flight counter when the exchange ends
// (arena reset), i.e. after the response body has been sent. The counter's owner (a
// handler of the snapshot the exchange pinned) outlives the arena reset.
struct InflightGuard {
  explicit InflightGuard(std::atomic<int64_t>& c) : counter(c) {
    counter.fetch_add(1, std::memory_order_relaxed);
  }
  ~InflightGuard() { counter.fetch_sub(1, std::memory_order_relaxed); }
  std::atomic<int64_t>& counter;
};

// Adds a sticky Set-Cookie field before the others: the outer level's cookie comes first, as
// Traefik writes it before calling the inner level. `value` must outlive the exchange.
void addSetCookie(exchange::Response& response, std::string_view value);

}  // namespace causeway::service
