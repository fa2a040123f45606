// One worker's QUIC socket on an entryPoint with `http3` (docs/http3.md): HTTP/3 on ngtcp2 and
// nghttp3, on the entryPoint's port number over UDP.
//
// Every worker binds the port with SO_REUSEPORT, as for TCP, and the kernel hashes each
// client's address to one of them. The connection IDs this server issues start with the
// worker's index, so a datagram that reaches the wrong worker (a client that migrated to a new
// address, or a NAT that rebound it) is handed to the worker that owns its connection.
//
// Before any state is kept for a new connection: datagrams that are not QUIC are dropped, an
// unknown version gets a Version Negotiation, and while many handshakes are under way a client
// must first prove its address with a Retry token (a flood of spoofed Initials then costs no
// memory). A short-header packet for no known connection is answered with a stateless reset.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/asio.h"
#include "runtime/entry_point.h"
#include "runtime/worker.h"
#include "tls/quic_credentials.h"

namespace causeway::downstream {

class H3Connection;

class QuicListener {
 public:
  using udp = asio::ip::udp;
  static constexpr size_t kCidLength = 16;        // the connection IDs this server issues
  static constexpr size_t kRetryAbove = 64;        // handshakes under way past which Retry is required
  static constexpr size_t kMaxDatagram = 65527;
  static constexpr size_t kMaxForwarded = 4 << 20;  // bytes handed to this worker, not taken yet

  QuicListener(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, unsigned workers);
  ~QuicListener();
  QuicListener(const QuicListener&) = delete;
  QuicListener& operator=(const QuicListener&) = delete;

  void bind();   // throws at start-up on failure
  void start();  // spawns the receive loop on the worker's event loop
  // From any thread: no new connection; the socket closes when the open ones have ended
  // (Worker::drainConnections sends them GOAWAY).
  void close();
  // The same entryPoint's listeners on every worker, by worker index (set before start()).
  void setPeers(std::vector<QuicListener*> peers) { peers_ = std::move(peers); }

  // For connections (on the worker thread).
  runtime::Worker& worker() { return worker_; }
  const runtime::EntryPoint& entryPoint() const { return entryPoint_; }
  const udp::endpoint& localEndpoint() const { return local_; }
  tls::QuicCredentials& credentials() { return credentials_; }
  void send(const udp::endpoint& to, const uint8_t* data, size_t size);
  void addConnectionId(const uint8_t* id, size_t length, const std::shared_ptr<H3Connection>& connection);
  void removeConnectionId(const uint8_t* id, size_t length);
  void handshakeDone() { --handshaking_; }
  void connectionEnded(H3Connection& connection);
  // A new connection ID for this worker: its first byte names the worker.
  void newConnectionId(uint8_t* out) const;
  // The secret behind stateless reset and Retry tokens (one per process, shared by workers).
  static const std::array<uint8_t, 32>& secret();

 private:
  awaitable<void> receiveLoop();
  void onDatagram(const uint8_t* data, size_t size, const udp::endpoint& from);
  void accept(const uint8_t* data, size_t size, const udp::endpoint& from);
  void sendRetry(const ngtcp2_pkt_hd& hd, const udp::endpoint& from);
  void sendStatelessReset(const uint8_t* dcid, size_t dcidLength, size_t size, const udp::endpoint& from);
  void sendVersionNegotiation(const ngtcp2_version_cid& vc, const udp::endpoint& from);

  runtime::Worker& worker_;
  const runtime::EntryPoint& entryPoint_;
  unsigned workers_;
  udp::socket socket_;
  udp::endpoint local_;
  std::vector<QuicListener*> peers_;
  tls::QuicCredentials credentials_;
  std::unordered_map<std::string, std::shared_ptr<H3Connection>> ids_;  // every live connection ID
  std::unordered_map<H3Connection*, std::shared_ptr<H3Connection>> connections_;
  size_t handshaking_ = 0;
  uint64_t cap_ = 0;  // connections on this worker (the entryPoint's maxConnections, shared)
  double resetTokens_ = 100;  // stateless resets left (refilled at 100 a second)
  std::chrono::steady_clock::time_point resetRefill_ = std::chrono::steady_clock::now();
  bool closed_ = false;
  std::atomic<size_t> forwarded_{0};  // written by the other workers
};

}  // namespace causeway::downstream
