#include "downstream/udp_listener.h"

#include <sys/socket.h>

#include "core/log.h"

namespace causeway::downstream {

using udp = asio::ip::udp;

struct UdpListener::Session {
  explicit Session(asio::any_io_executor executor) : upstream(executor) {}
  udp::endpoint client;
  udp::socket upstream;
  std::string router, service;
  upstream::ServerAddress server;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::system_clock::time_point startWall = std::chrono::system_clock::now();
  uint64_t bytesFromClient = 0, bytesToClient = 0;
  std::string error;  // why it ended other than by being idle  // a copy: the snapshot may be replaced while it resolves
  std::chrono::steady_clock::time_point lastActive = std::chrono::steady_clock::now();
  std::deque<std::string> queued;  // datagrams received before the server socket is ready
  bool ready = false;
  bool ended = false;
};

size_t UdpListener::EndpointHash::operator()(const udp::endpoint& e) const {
  size_t h = std::hash<uint16_t>()(e.port());
  if (e.address().is_v4()) return h ^ (std::hash<uint32_t>()(e.address().to_v4().to_uint()) << 1);
  auto bytes = e.address().to_v6().to_bytes();
  return h ^ std::hash<std::string_view>()(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

UdpListener::UdpListener(runtime::Worker& worker, const runtime::EntryPoint& entryPoint)
    : worker_(worker), entryPoint_(entryPoint), socket_(worker.io()) {}

UdpListener::~UdpListener() = default;

void bindUdpReusePort(udp::socket& socket, const runtime::EntryPoint& entryPoint, int bufferBytes) {
  udp::endpoint endpoint(entryPoint.endpoint.address(), entryPoint.endpoint.port());
  socket.open(endpoint.protocol());
  socket.set_option(asio::socket_base::reuse_address(true));
  int one = 1;
  if (::setsockopt(socket.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
    throw std::runtime_error("cannot set SO_REUSEPORT");
  if (endpoint.protocol() == udp::v6()) socket.set_option(asio::ip::v6_only(!entryPoint.dualStack));
  if (bufferBytes > 0) {
    socket.set_option(asio::socket_base::receive_buffer_size(bufferBytes));
    socket.set_option(asio::socket_base::send_buffer_size(bufferBytes));
  }
  socket.bind(endpoint);
  socket.non_blocking(true);
}

void UdpListener::bind() { bindUdpReusePort(socket_, entryPoint_); }

void UdpListener::start() {
  asio::co_spawn(worker_.io(), receiveLoop(), asio::detached);
  asio::co_spawn(worker_.io(), sweepLoop(), asio::detached);
}

void UdpListener::close() {
  asio::post(worker_.io(), [this] {
    closed_ = true;
    error_code ignored;
    socket_.close(ignored);
    auto sessions = sessions_;
    for (auto& [client, session] : sessions) endSession(session);
  });
}

void UdpListener::endSession(const std::shared_ptr<Session>& session) {
  if (session->ended) return;
  session->ended = true;
  error_code ignored;
  session->upstream.close(ignored);
  sessions_.erase(session->client);
  worker_.connectionClosed(entryPoint_.index);
  if (worker_.observed()) {
    std::string address = session->client.address().to_string();
    std::string client = session->client.address().is_v6() ? "[" + address + "]:" : address + ":";
    client += std::to_string(session->client.port());
    exchange::Layer4Record record{.worker = worker_.index(), .protocol = "UDP", .entryPoint = entryPoint_.name,
                                  .router = session->router, .service = session->service,
                                  .upstream = session->server.address, .serverName = {}, .error = session->error,
                                  .clientAddress = client, .clientIp = address, .clientPort = session->client.port(),
                                  .tls = false, .bytesFromClient = session->bytesFromClient,
                                  .bytesToClient = session->bytesToClient, .start = session->start,
                                  .startWall = session->startWall};
    worker_.observeLayer4(record);
  }
}

awaitable<void> UdpListener::receiveLoop() {
  static log::Throttle full(std::chrono::seconds(10));
  std::unique_ptr<char[]> buffer(new char[65536]);
  udp::endpoint client;
  while (!closed_) {
    auto [ec, n] = co_await socket_.async_receive_from(asio::buffer(buffer.get(), 65536), client, nothrow);
    if (ec) {
      if (ec == asio::error::operation_aborted || closed_) co_return;
      continue;  // e.g. ECONNREFUSED reported for an earlier send: the socket stays usable
    }
    std::string_view datagram(buffer.get(), n);
    auto it = sessions_.find(client);
    if (it == sessions_.end()) {
      const runtime::SnapshotPtr& snapshot = worker_.snapshot();
      const auto& target =
          snapshot && entryPoint_.index < snapshot->routes.size() ? snapshot->routes[entryPoint_.index].udp : nullptr;
      if (!target) continue;  // no UDP router on this entryPoint: dropped
      if (sessions_.size() >= kMaxSessions) {
        if (uint64_t dropped = 0; full.allow(dropped))
          log::warn("UDP sessions at their limit; datagrams from new clients are dropped",
                    {{"entryPoint", entryPoint_.name}, {"limit", uint64_t(kMaxSessions)}, {"repeated", dropped}});
        continue;
      }
      const upstream::ServerAddress* server = target->balancer->pick();
      if (!server) continue;
      auto session = std::make_shared<Session>(worker_.io().get_executor());
      session->client = client;
      session->router = target->name;
      session->service = target->service;
      session->server = *server;
      session->bytesFromClient = n;
      session->queued.emplace_back(datagram);
      sessions_.emplace(client, session);
      worker_.connectionOpened(entryPoint_.index);
      asio::co_spawn(worker_.io(), runSession(session), asio::detached);
      continue;
    }
    Session& session = *it->second;
    session.lastActive = std::chrono::steady_clock::now();
    session.bytesFromClient += n;
    if (!session.ready) {
      if (session.queued.size() < kMaxQueued) session.queued.emplace_back(datagram);
      continue;
    }
    error_code sendError;
    session.upstream.send(asio::buffer(datagram.data(), datagram.size()), 0, sendError);  // dropped when it would block
  }
}

awaitable<void> UdpListener::runSession(std::shared_ptr<Session> session) {
  const upstream::ServerAddress& server = session->server;
  udp::endpoint destination;
  if (server.resolved) {
    destination = udp::endpoint(server.resolved->address(), server.port);
  } else {
    udp::resolver resolver(worker_.io());
    std::string port = std::to_string(server.port);
    auto [resolveError, results] = co_await resolver.async_resolve(server.host, port, nothrow);
    if (resolveError || results.empty() || session->ended) {
      session->error = "cannot resolve " + session->server.host;
      log::debug("UDP server not resolved", {{"router", session->router}, {"server", session->server.address}});
      endSession(session);
      co_return;
    }
    destination = results.begin()->endpoint();
  }
  error_code ec;
  session->upstream.open(destination.protocol(), ec);
  if (!ec) session->upstream.connect(destination, ec);
  if (!ec) session->upstream.non_blocking(true, ec);
  if (ec || session->ended) {
    if (ec) session->error = ec.message();
    log::debug("UDP session failed", {{"router", session->router}, {"server", session->server.address}, {"error", ec.message()}});
    endSession(session);
    co_return;
  }
  session->ready = true;
  for (const std::string& datagram : session->queued) session->upstream.send(asio::buffer(datagram), 0, ec);
  session->queued.clear();
  std::unique_ptr<char[]> buffer(new char[65536]);
  while (!session->ended) {
    auto [readError, n] = co_await session->upstream.async_receive(asio::buffer(buffer.get(), 65536), nothrow);
    if (session->ended) co_return;
    if (readError) {
      // The server refused (ICMP port unreachable) or the socket broke: the session ends.
      session->error = readError.message();
      log::debug("UDP session ended", {{"router", session->router}, {"server", session->server.address},
                                       {"error", readError.message()}});
      endSession(session);
      co_return;
    }
    session->lastActive = std::chrono::steady_clock::now();
    session->bytesToClient += n;
    error_code sendError;
    socket_.send_to(asio::buffer(buffer.get(), n), session->client, 0, sendError);
  }
}

awaitable<void> UdpListener::sweepLoop() {
  const auto timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(entryPoint_.udpTimeout);
  const auto period = std::clamp<std::chrono::steady_clock::duration>(timeout / 4, std::chrono::milliseconds(10),
                                                                       std::chrono::seconds(1));
  asio::steady_timer timer(worker_.io());
  while (!closed_) {
    timer.expires_after(period);
    co_await timer.async_wait(nothrow);
    auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<Session>> idle;
    for (const auto& [client, session] : sessions_)
      if (now - session->lastActive >= timeout) idle.push_back(session);
    for (const auto& session : idle) endSession(session);
  }
}

}  // namespace causeway::downstream
