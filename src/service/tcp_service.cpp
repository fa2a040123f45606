#include "service/tcp_service.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <numeric>

#include "core/log.h"
#include "net/proxy_protocol.h"
#include "service/strategies.h"

namespace causeway::service {

WeightedSchedule::WeightedSchedule(const std::vector<int>& weights) {
  // One cycle of smooth weighted round robin, with weights scaled down when their sum is
  // large so that the cycle stays short.
  int64_t total = 0;
  for (int w : weights) total += std::max(w, 0);
  if (total == 0) return;
  int64_t divisor = total > 4096 ? (total + 4095) / 4096 : 1;
  std::vector<int> scaled(weights.size());
  int64_t cycle = 0;
  for (size_t i = 0; i < weights.size(); ++i) {
    scaled[i] = weights[i] > 0 ? int(std::max<int64_t>(1, weights[i] / divisor)) : 0;
    cycle += scaled[i];
  }
  std::vector<int64_t> current(weights.size(), 0);
  order_.reserve(size_t(cycle));
  for (int64_t step = 0; step < cycle; ++step)
    order_.push_back(uint32_t(smoothWrrPick(current, scaled, [](size_t) { return true; })));
}

TcpLoadBalancer::TcpLoadBalancer(std::string name, std::vector<TcpServerTarget> servers,
                                 std::shared_ptr<const upstream::TcpTransport> transport)
    : name_(std::move(name)), servers_(std::move(servers)), transport_(std::move(transport)), schedule_([&] {
        std::vector<int> weights;
        for (const auto& s : servers_) weights.push_back(s.weight);
        return weights;
      }()) {}

awaitable<void> TcpLoadBalancer::serve(exchange::TcpSession& session) const {
  session.service = name_;
  if (schedule_.empty()) {
    session.error = "no servers available";
    co_return;
  }
  const TcpServerTarget& server = servers_[schedule_.next()];
  session.upstream = server.address.address;
  std::string header;
  if (transport_->proxyProtocolVersion)
    header = net::proxyHeader(transport_->proxyProtocolVersion, session.clientIp, session.clientPort, session.localIp,
                              session.localPort);
  std::string error;
  std::unique_ptr<upstream::TcpUpstream> upstream = co_await upstream::dialTcp(server.address, *transport_, header, error);
  if (!upstream) {
    session.error = std::move(error);
    log::debug("error while dialing backend", {{"service", name_}, {"error", session.error}});
    co_return;
  }
  if (!session.pending.empty()) {
    asio::const_buffer pending(session.pending.data(), session.pending.size());
    auto [ec, n] = co_await upstream->writeAll(pending);
    if (ec) {
      session.error = "writing to " + server.address.address + ": " + ec.message();
      co_return;
    }
    session.bytesFromClient += n;
  }
  co_await pipeTcp(session.client, *upstream, transport_->terminationDelay, session.bytesFromClient,
                   session.bytesToClient);
  upstream->close();
}

TcpWeighted::TcpWeighted(std::vector<std::pair<exchange::TcpHandlerPtr, int>> children)
    : children_(std::move(children)), schedule_([&] {
        std::vector<int> weights;
        for (const auto& c : children_) weights.push_back(c.second);
        return weights;
      }()) {}

awaitable<void> TcpWeighted::serve(exchange::TcpSession& session) const {
  if (schedule_.empty()) {
    session.error = "no service available";
    co_return;
  }
  co_await children_[schedule_.next()].first->serve(session);
}

namespace {

constexpr size_t kChunk = 32 * 1024;

struct PipeState {
  explicit PipeState(asio::any_io_executor executor) : timer(executor) {}
  asio::steady_timer timer;
  int finished = 0;
};

// One direction. On EOF the destination's sending is shut down; the first direction to end
// gives the other `delay` to finish, the second cancels that wait.
awaitable<void> copyOneWay(exchange::DuplexStream& from, exchange::DuplexStream& to, PipeState& state,
                           std::chrono::nanoseconds delay, uint64_t& bytes) {
  std::unique_ptr<char[]> buffer(new char[kChunk]);
  bool failed = false;
  while (true) {
    auto [readError, n] = co_await from.readSome(asio::buffer(buffer.get(), kChunk));
    if (readError) {
      failed = readError != asio::error::eof;
      break;
    }
    auto [writeError, written] = co_await to.writeAll(asio::buffer(buffer.get(), n));
    bytes += written;
    if (writeError) {
      failed = true;
      break;
    }
  }
  if (failed) {
    // A reset or a failed write on one side ends both directions.
    from.close();
    to.close();
  } else {
    to.shutdownSend();
  }
  if (++state.finished == 2) {
    state.timer.cancel();
    co_return;
  }
  if (failed || delay < std::chrono::nanoseconds(0)) co_return;
  state.timer.expires_after(delay);
  auto [ec] = co_await state.timer.async_wait(nothrow);
  if (!ec && state.finished < 2) {
    from.close();
    to.close();
  }
}

}  // namespace

awaitable<void> pipeTcp(exchange::DuplexStream& client, exchange::DuplexStream& upstream,
                        std::chrono::nanoseconds terminationDelay, uint64_t& fromClient, uint64_t& toClient) {
  using namespace asio::experimental::awaitable_operators;
  PipeState state(co_await asio::this_coro::executor);
  co_await (copyOneWay(client, upstream, state, terminationDelay, fromClient) &&
            copyOneWay(upstream, client, state, terminationDelay, toClient));
}

}  // namespace causeway::service
