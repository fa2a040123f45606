// One worker's socket on a UDP entryPoint (Traefik's UDP routing; docs/tcp-udp.md). Every
// worker binds the port with SO_REUSEPORT, and the kernel hashes each client's address to
// one of them, so a client's datagrams always reach the same worker and its session.
//
// A session is a client address with its own connected socket towards the server the UDP
// router's service picked when the first datagram came. Client datagrams are sent to the
// server, the server's datagrams back to the client; a session with no datagram either way
// for the entryPoint's udp.timeout is released. Sessions are bounded per worker; a datagram
// that cannot be sent at once is dropped, as UDP allows.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include "io/asio.h"
#include "runtime/entry_point.h"
#include "runtime/worker.h"

namespace causeway::downstream {

// Opens and binds a worker's UDP socket on the entryPoint's address with SO_REUSEPORT (every
// worker binds the same port), non-blocking; socket buffers of `bufferBytes` when > 0. Throws.
void bindUdpReusePort(asio::ip::udp::socket& socket, const runtime::EntryPoint& entryPoint, int bufferBytes = 0);

class UdpListener {
 public:
  static constexpr size_t kMaxSessions = 16384;  // per worker and entryPoint
  static constexpr size_t kMaxQueued = 64;       // datagrams waiting for a session's server

  UdpListener(runtime::Worker& worker, const runtime::EntryPoint& entryPoint);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  void bind();   // throws at start-up on failure
  void start();  // spawns the loops on the worker's event loop
  void close();  // from any thread: closes the socket and every session on the worker

 private:
  struct Session;
  struct EndpointHash {
    size_t operator()(const asio::ip::udp::endpoint& e) const;
  };

  awaitable<void> receiveLoop();
  awaitable<void> sweepLoop();
  awaitable<void> runSession(std::shared_ptr<Session> session);
  void endSession(const std::shared_ptr<Session>& session);

  runtime::Worker& worker_;
  const runtime::EntryPoint& entryPoint_;
  asio::ip::udp::socket socket_;
  std::unordered_map<asio::ip::udp::endpoint, std::shared_ptr<Session>, EndpointHash> sessions_;
  bool closed_ = false;
};

}  // namespace causeway::downstream
