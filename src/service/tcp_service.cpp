#include "service/tcp_service.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <numeric>

#include "core/log.h"
#include "io/stream_read.h"
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
  // The next server in weighted order that is UP (health check); none UP: the connection ends.
  const TcpServerTarget* chosen = nullptr;
  for (size_t attempt = 0; attempt < schedule_.order().size() && !chosen; ++attempt) {
    const TcpServerTarget& candidate = servers_[schedule_.next()];
    if (!candidate.health || candidate.health->up()) chosen = &candidate;
  }
  if (!chosen) {
    session.error = "no healthy server";
    co_return;
  }
  const TcpServerTarget& server = *chosen;
  session.upstream = server.address.address;
  std::string header;
  if (transport_->proxyProtocolVersion) {
    session.ensureLocal();
    header = net::proxyHeader(transport_->proxyProtocolVersion, session.clientIp, session.clientPort, session.localIp,
                              session.localPort);
  }
  std::string error;
  std::unique_ptr<upstream::TcpUpstream> upstream =
      co_await upstream::dialTcp(server.address, *transport_, header, session.watchdog, error);
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
  co_await pipeTcp(session.client, *upstream, transport_->terminationDelay, session.watchdog, session.bytesFromClient,
                   session.bytesToClient);
}

awaitable<void> TcpWeighted::serve(exchange::TcpSession& session) const {
  if (schedule_.empty()) {
    session.error = "no service available";
    co_return;
  }
  co_await children_[schedule_.next()]->serve(session);
}

namespace {

constexpr size_t kChunk = 32 * 1024;
// A direction that has carried this much switches from copying through user space to
// splice(2) between the two plain sockets (short exchanges never pay for the pipe).
constexpr uint64_t kSpliceAfter = 128 * 1024;

// Both directions' shared end: the first to end arms `terminationDelay` on the worker's
// watchdog; its expiry closes both streams, which ends the other direction.
struct PipeState final : io::Watched {
  PipeState(exchange::DuplexStream& a, exchange::DuplexStream& b) : a(a), b(b) {}
  void onDeadline() override {
    a.close();
    b.close();
  }
  exchange::DuplexStream& a;
  exchange::DuplexStream& b;
  int finished = 0;
};

enum class End { Eof, Failed };

// Plain socket to plain socket through a kernel pipe, without copying to user space.
awaitable<End> spliceOneWay(tcp::socket& from, tcp::socket& to, uint64_t& bytes) {
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) co_return End::Failed;
  struct Pipe {
    int read, write;
    ~Pipe() {
      ::close(read);
      ::close(write);
    }
  } pipe{fds[0], fds[1]};
  int size = ::fcntl(pipe.write, F_SETPIPE_SZ, 256 * 1024);
  const size_t chunk = size > 0 ? size_t(size) : 64 * 1024;
  error_code ignored;
  from.native_non_blocking(true, ignored);
  to.native_non_blocking(true, ignored);
  while (true) {
    ssize_t in = ::splice(from.native_handle(), nullptr, pipe.write, nullptr, chunk, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    if (in == 0) co_return End::Eof;
    if (in < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) co_return End::Failed;
      auto [ec] = co_await from.async_wait(tcp::socket::wait_read, nothrow);
      if (ec) co_return End::Failed;
      continue;
    }
    size_t pending = size_t(in);
    while (pending > 0) {
      ssize_t out = ::splice(pipe.read, nullptr, to.native_handle(), nullptr, pending, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (out > 0) {
        pending -= size_t(out);
        bytes += uint64_t(out);
        continue;
      }
      if (out < 0 && errno == EINTR) continue;
      if (out < 0 && errno == EAGAIN) {
        auto [ec] = co_await to.async_wait(tcp::socket::wait_write, nothrow);
        if (ec) co_return End::Failed;
        continue;
      }
      co_return End::Failed;
    }
  }
}

// Plain socket to plain socket: the sockets' own operations (no virtual call, no coroutine
// frame per read), then splice once the direction carries a stream.
awaitable<End> copyPlain(tcp::socket& from, tcp::socket& to, uint64_t& bytes) {
  std::unique_ptr<char[]> buffer(new char[kChunk]);
  while (bytes < kSpliceAfter) {
    auto [readError, n] = co_await from.async_read_some(asio::buffer(buffer.get(), kChunk), nothrow);
    if (readError) co_return readError == asio::error::eof ? End::Eof : End::Failed;
    auto [writeError, written] = co_await asio::async_write(to, asio::buffer(buffer.get(), n), nothrow);
    bytes += written;
    if (writeError) co_return End::Failed;
  }
  buffer.reset();
  co_return co_await spliceOneWay(from, to, bytes);
}

awaitable<End> copyStreams(exchange::DuplexStream& from, exchange::DuplexStream& to, uint64_t& bytes) {
  size_t size = kChunk;
  std::unique_ptr<char[]> buffer(new char[size]);
  while (true) {
    auto [readError, n] = co_await from.readSome(asio::buffer(buffer.get(), size));
    if (readError) co_return readError == asio::error::eof ? End::Eof : End::Failed;
    auto [writeError, written] = co_await to.writeAll(asio::buffer(buffer.get(), n));
    bytes += written;
    if (writeError) co_return End::Failed;
    // A stream reads io::kStreamRead at a time (io/stream_read.h) until it pauses: a client
    // that sent 32 KiB once must not make the connection hold 256 KiB while it is idle.
    if (n == size && size < io::kStreamRead) {
      size = io::kStreamRead;
      buffer.reset(new char[size]);
    } else if (size == io::kStreamRead && from.queuedBytes() < kChunk) {
      size = kChunk;
      buffer.reset(new char[size]);
    }
  }
}

// One direction. On EOF the destination's sending is shut down; the first direction to end
// gives the other `delay` to finish (a watchdog deadline), the second disarms it.
awaitable<void> copyOneWay(exchange::DuplexStream& from, exchange::DuplexStream& to, PipeState& state,
                           std::chrono::nanoseconds delay, uint64_t& bytes) {
  tcp::socket* fromSocket = from.plainSocket();
  tcp::socket* toSocket = to.plainSocket();
  End end = fromSocket && toSocket ? co_await copyPlain(*fromSocket, *toSocket, bytes)
                                   : co_await copyStreams(from, to, bytes);
  if (end == End::Failed) {
    // A reset or a failed write on one side ends both directions.
    from.close();
    to.close();
  } else if (state.finished == 0 || !toSocket) {
    // The last direction to end between plain sockets skips this: closing both sockets
    // right after sends the FIN anyway (one system call less per connection).
    to.shutdownSend();
  }
  if (++state.finished == 2) {
    state.disarm();
    co_return;
  }
  if (end == End::Eof && delay >= std::chrono::nanoseconds(0))
    state.armIn(std::max(std::chrono::duration_cast<Clock::duration>(delay), Clock::duration(1)));
}

}  // namespace

awaitable<void> pipeTcp(exchange::DuplexStream& client, exchange::DuplexStream& upstream,
                        std::chrono::nanoseconds terminationDelay, io::Watchdog* watchdog, uint64_t& fromClient,
                        uint64_t& toClient) {
  using namespace asio::experimental::awaitable_operators;
  PipeState state(client, upstream);
  if (watchdog) watchdog->watch(state);
  else terminationDelay = std::chrono::nanoseconds(-1);  // nothing to enforce it with
  co_await (copyOneWay(client, upstream, state, terminationDelay, fromClient) &&
            copyOneWay(upstream, client, state, terminationDelay, toClient));
}

}  // namespace causeway::service
