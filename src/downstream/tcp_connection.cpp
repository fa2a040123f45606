#include "downstream/tcp_connection.h"

#include "core/log.h"
#include "downstream/streams.h"
#include "tls/tls_stream.h"

namespace causeway::downstream {
namespace {

// The client side of a terminated TLS connection: ending our sending sends close_notify.
class TlsDuplex final : public exchange::DuplexStream {
 public:
  explicit TlsDuplex(tls::TlsStream& stream) : stream_(stream) {}
  awaitable<std::tuple<error_code, size_t>> readSome(asio::mutable_buffer buffer) override {
    co_return co_await stream_.readSome(buffer);
  }
  awaitable<std::tuple<error_code, size_t>> writeAll(asio::const_buffer buffer) override {
    co_return co_await stream_.write(buffer);
  }
  void shutdownSend() override {
    stream_.closeNotify();
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
  void close() override {
    error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().cancel(ignored);
  }
  size_t queuedBytes() override { return stream_.queuedBytes(); }

 private:
  tls::TlsStream& stream_;
};

awaitable<void> run(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket& socket,
                    exchange::DuplexStream& client, std::string_view pending, const exchange::ConnectionInfo& info,
                    const TcpLocal& local, std::string_view serverName, const runtime::TcpRouteTarget& target) {
  exchange::TcpSession session{.client = client, .pending = pending};
  session.clientIp = info.peerIp;
  session.clientPort = info.peerPort;
  session.watchdog = &worker.watchdog();
  session.socket = &socket;
  session.localKnown = local.known;
  session.localIp = local.ip;
  session.localPort = local.port;
  session.serverName = serverName;
  session.router = target.name;
  session.entryPoint = entryPoint.name;
  // Timed only when an observer (metrics, access log) will receive the record.
  const bool observed = worker.observed();
  const auto start = observed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
  const auto startWall = observed ? std::chrono::system_clock::now() : std::chrono::system_clock::time_point();
  co_await target.handler->serve(session);
  if (observed) {
    exchange::Layer4Record record{.worker = worker.index(), .protocol = "TCP", .entryPoint = entryPoint.name,
                                  .router = target.name, .service = session.service, .upstream = session.upstream,
                                  .serverName = serverName, .error = session.error,
                                  .clientAddress = info.peerAddress, .clientIp = info.peerIpText,
                                  .clientPort = info.peerPort, .tls = target.tls == runtime::TcpRouteTarget::Tls::Terminate,
                                  .bytesFromClient = session.bytesFromClient, .bytesToClient = session.bytesToClient,
                                  .start = start, .startWall = startWall};
    if (record.service.empty()) record.service = target.service;
    worker.observeLayer4(record);
  }
  if (!session.error.empty())
    log::debug("TCP connection ended early",
               {{"router", target.name}, {"client", info.peerAddress}, {"error", session.error}});
}

}  // namespace

awaitable<void> serveTcpPlain(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket& socket,
                              const exchange::ConnectionInfo& info, const TcpLocal& local, std::string_view serverName,
                              io::ReadBuffer& pending, const runtime::TcpRouteTarget& target) {
  PlainStream plain(socket, true);  // TCP routing set TCP_NODELAY (connection.cpp)
  StreamDuplex<PlainStream> client(plain);
  co_await run(worker, entryPoint, socket, client, pending.data(), info, local, serverName, target);
}

awaitable<void> serveTcpTerminated(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, tcp::socket& socket,
                                   const exchange::ConnectionInfo& info, const TcpLocal& local, io::ReadBuffer& hello,
                                   io::Watched& deadline, const tls::TlsStorePtr& store, const runtime::TcpRouteTarget& target) {
  tls::TlsHandshakeState state;
  state.store = store.get();
  state.entryPointIndex = entryPoint.index;
  tls::TlsStream stream(socket, state);
  stream.feed(hello.data());
  hello.consume(hello.size());
  if (!co_await stream.handshake()) {
    log::debug("TLS handshake failed", {{"peer", info.peerAddress}, {"router", target.name}, {"error", stream.error()}});
    co_return;
  }
  deadline.disarm();
  TlsDuplex client(stream);
  co_await run(worker, entryPoint, socket, client, {}, info, local, state.serverName, target);
}

}  // namespace causeway::downstream
