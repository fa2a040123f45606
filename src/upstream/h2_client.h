// The HTTP/2 upstream side: h2c:// servers, and https:// servers that chose h2 by ALPN.
// Each worker keeps a few HTTP/2 connections per server and multiplexes requests over
// them. Requests and responses stream both ways at once (gRPC client streaming and
// bidirectional calls): the request body is pumped in the exchange's background while the
// response is already flowing back; trailers (grpc-status) are carried through.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "upstream/connection_pool.h"
#include "upstream/forward.h"

namespace causeway::upstream {

class H2UpstreamSession;

// Per-worker registry of HTTP/2 upstream connections (single-threaded).
class H2SessionPool {
 public:
  // A dial in progress to one endpoint. Requests that find no session while it runs wait
  // for it instead of dialing their own (as Go's transport coalesces dials), so a cold
  // burst opens one connection per worker, not one per request.
  struct PendingDial {
    explicit PendingDial(asio::any_io_executor executor)
        : done(executor, asio::steady_timer::time_point::max()) {}
    asio::steady_timer done;  // cancelled when the dial finishes: wakes every waiter
    bool finished = false;
    ProxyError error = ProxyError::None;
  };

  // A live session to the endpoint with room for one more stream, or null.
  std::shared_ptr<H2UpstreamSession> find(const UpstreamEndpoint& endpoint);
  void add(const UpstreamEndpoint& endpoint, std::shared_ptr<H2UpstreamSession> session);
  // The dial in progress to the endpoint, or null.
  std::shared_ptr<PendingDial> dialing(uint64_t poolId) const;
  std::shared_ptr<PendingDial> beginDial(uint64_t poolId, asio::any_io_executor executor);
  void endDial(uint64_t poolId, ProxyError error);
  // https:// endpoints whose ALPN answer is known: true = h2, false = http/1.1.
  std::optional<bool> protocolOf(uint64_t poolId) const;
  void setProtocol(uint64_t poolId, bool http2) { protocols_[poolId] = http2; }
  void closeAll();

 private:
  std::unordered_map<uint64_t, std::vector<std::shared_ptr<H2UpstreamSession>>> sessions_;
  std::unordered_map<uint64_t, bool> protocols_;
  std::unordered_map<uint64_t, std::shared_ptr<PendingDial>> dialing_;
};

// Sends the exchange's request over HTTP/2. `connection`, when given, is a freshly dialed
// connection that negotiated h2 (it becomes a new session).
awaitable<ForwardResult> forwardHttp2(exchange::Exchange& ex, const UpstreamEndpoint& endpoint, const ForwardOptions& options,
                                      UpstreamConnectionPtr connection = nullptr);

}  // namespace causeway::upstream
