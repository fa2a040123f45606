#include "downstream/quic_listener.h"

#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <sys/socket.h>

#include <chrono>
#include <cstring>

#include "core/bytes.h"
#include "core/log.h"
#include "downstream/h3_connection.h"
#include "downstream/udp_listener.h"
#include "io/failures.h"

namespace causeway::downstream {
namespace {

uint64_t nowNs() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

std::string key(const uint8_t* id, size_t length) { return std::string(reinterpret_cast<const char*>(id), length); }

}  // namespace

QuicListener::QuicListener(runtime::Worker& worker, const runtime::EntryPoint& entryPoint, unsigned workers)
    : worker_(worker), entryPoint_(entryPoint), workers_(workers ? workers : 1), socket_(worker.io()) {
  cap_ = entryPoint.maxConnections == 0 ? 0 : (entryPoint.maxConnections + workers_ - 1) / workers_;
}

QuicListener::~QuicListener() = default;

const std::array<uint8_t, 32>& QuicListener::secret() {
  static const std::array<uint8_t, 32> value = [] {
    std::array<uint8_t, 32> out;
    std::string bytes = randomBytes(out.size());
    std::memcpy(out.data(), bytes.data(), out.size());
    return out;
  }();
  return value;
}

void QuicListener::newConnectionId(uint8_t* out) const {
  std::string bytes = randomBytes(kCidLength);
  std::memcpy(out, bytes.data(), kCidLength);
  out[0] = uint8_t(worker_.index());
}

void QuicListener::bind() {
  // Room for bursts of packets from many clients between two turns of the loop.
  bindUdpReusePort(socket_, entryPoint_, 4 << 20);
  local_ = socket_.local_endpoint();
}

void QuicListener::start() {
  asio::co_spawn(worker_.io(), receiveLoop(), [](std::exception_ptr e) { io::logFailure(e, "QUIC receive loop failed"); });
}

void QuicListener::close() {
  asio::post(worker_.io(), [this] {
    closed_ = true;
    if (connections_.empty()) {
      error_code ignored;
      socket_.close(ignored);
    }
  });
}

void QuicListener::send(const udp::endpoint& to, const uint8_t* data, size_t size) {
  if (!socket_.is_open()) return;
  // A datagram that cannot leave at once is lost, as on any network: QUIC retransmits.
  ::sendto(socket_.native_handle(), data, size, MSG_DONTWAIT, to.data(), socklen_t(to.size()));
}

void QuicListener::addConnectionId(const uint8_t* id, size_t length, const std::shared_ptr<H3Connection>& connection) {
  ids_[key(id, length)] = connection;
}

void QuicListener::removeConnectionId(const uint8_t* id, size_t length) { ids_.erase(key(id, length)); }

void QuicListener::connectionEnded(H3Connection& connection) {
  if (!connection.handshakeCompleted()) --handshaking_;
  connections_.erase(&connection);
  if (closed_ && connections_.empty()) {
    error_code ignored;
    socket_.close(ignored);
  }
}

awaitable<void> QuicListener::receiveLoop() {
  std::vector<uint8_t> buffer(kMaxDatagram);
  unsigned burst = 0;
  while (socket_.is_open()) {
    // A full socket buffer is taken in turns with the worker's other work.
    if (++burst == 64) {
      burst = 0;
      co_await asio::post(worker_.io(), asio::use_awaitable);
      continue;
    }
    udp::endpoint from;
    socklen_t length = socklen_t(from.capacity());
    ssize_t n = ::recvfrom(socket_.native_handle(), buffer.data(), buffer.size(), MSG_DONTWAIT, from.data(), &length);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        burst = 0;
        auto [ec] = co_await socket_.async_wait(udp::socket::wait_read, nothrow);
        if (ec) co_return;
      } else if (errno != EINTR && errno != ECONNREFUSED) {
        co_return;
      }
      continue;
    }
    from.resize(length);
    onDatagram(buffer.data(), size_t(n), from);
  }
}

void QuicListener::onDatagram(const uint8_t* data, size_t size, const udp::endpoint& from) {
  if (size == 0) return;  // ngtcp2 asserts on an empty datagram
  ngtcp2_version_cid vc;
  int rv = ngtcp2_pkt_decode_version_cid(&vc, data, size, kCidLength);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    if (size >= NGTCP2_MAX_UDP_PAYLOAD_SIZE) sendVersionNegotiation(vc, from);
    return;
  }
  if (rv != 0) return;  // not QUIC
  if (auto it = ids_.find(key(vc.dcid, vc.dcidlen)); it != ids_.end()) {
    std::shared_ptr<H3Connection> connection = it->second;  // the packet may end it
    connection->onPacket(data, size, from);
    return;
  }
  // One of our connection IDs, issued by another worker: that worker has the connection.
  if (vc.dcidlen == kCidLength && vc.dcid[0] != worker_.index() && vc.dcid[0] < peers_.size() && peers_[vc.dcid[0]]) {
    QuicListener* owner = peers_[vc.dcid[0]];
    // Bounded: datagrams steered at one worker beyond what it has taken yet are dropped.
    if (owner->forwarded_.fetch_add(size, std::memory_order_relaxed) + size > kMaxForwarded) {
      owner->forwarded_.fetch_sub(size, std::memory_order_relaxed);
      return;
    }
    asio::post(owner->worker_.io(), [owner, packet = std::string(reinterpret_cast<const char*>(data), size), from] {
      owner->forwarded_.fetch_sub(packet.size(), std::memory_order_relaxed);
      owner->onDatagram(reinterpret_cast<const uint8_t*>(packet.data()), packet.size(), from);
    });
    return;
  }
  if (closed_) return;  // shutting down: the connections open finish, no new one starts
  if (vc.version == 0) {
    sendStatelessReset(vc.dcid, vc.dcidlen, size, from);
    return;
  }
  accept(data, size, from);
}

void QuicListener::accept(const uint8_t* data, size_t size, const udp::endpoint& from) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, data, size) != 0) return;  // not a first Initial (or too short)
  ngtcp2_cid originalDcid;
  const ngtcp2_cid* original = nullptr;
  if (hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY) {
    if (ngtcp2_crypto_verify_retry_token(&originalDcid, hd.token.base, hd.token.len, secret().data(), secret().size(),
                                         hd.version, from.data(), socklen_t(from.size()), &hd.dcid,
                                         10 * NGTCP2_SECONDS, nowNs()) != 0) {
      // A forged or stale token: refused without keeping anything (RFC 9000 §8.1.3).
      uint8_t out[NGTCP2_MAX_UDP_PAYLOAD_SIZE];
      ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(out, sizeof out, hd.version, &hd.scid, &hd.dcid,
                                                            NGTCP2_INVALID_TOKEN, nullptr, 0);
      if (n > 0) send(from, out, size_t(n));
      return;
    }
    original = &originalDcid;
  } else if (handshaking_ >= kRetryAbove) {
    sendRetry(hd, from);
    return;
  }
  if (cap_ && connections_.size() >= cap_) {
    uint8_t out[NGTCP2_MAX_UDP_PAYLOAD_SIZE];
    ngtcp2_ssize n = ngtcp2_crypto_write_connection_close(out, sizeof out, hd.version, &hd.scid, &hd.dcid,
                                                          NGTCP2_CONNECTION_REFUSED, nullptr, 0);
    if (n > 0) send(from, out, size_t(n));
    return;
  }
  auto connection = std::make_shared<H3Connection>(*this, from);
  if (!connection->init(hd, original)) return;
  connections_[connection.get()] = connection;
  ++handshaking_;
  // The client's own choice of destination ID keeps reaching this connection during the
  // handshake (its Initials are retransmitted with it).
  addConnectionId(hd.dcid.data, hd.dcid.datalen, connection);
  connection->onPacket(data, size, from);
}

void QuicListener::sendRetry(const ngtcp2_pkt_hd& hd, const udp::endpoint& from) {
  uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
  ngtcp2_cid retryScid;
  retryScid.datalen = kCidLength;
  newConnectionId(retryScid.data);
  ngtcp2_ssize tokenLength =
      ngtcp2_crypto_generate_retry_token(token, secret().data(), secret().size(), hd.version, from.data(),
                                         socklen_t(from.size()), &retryScid, &hd.dcid, nowNs());
  if (tokenLength < 0) return;
  uint8_t out[NGTCP2_MAX_UDP_PAYLOAD_SIZE];
  ngtcp2_ssize n = ngtcp2_crypto_write_retry(out, sizeof out, hd.version, &hd.scid, &retryScid, &hd.dcid, token,
                                             size_t(tokenLength));
  if (n > 0) send(from, out, size_t(n));
}

void QuicListener::sendStatelessReset(const uint8_t* dcid, size_t dcidLength, size_t size, const udp::endpoint& from) {
  // RFC 9000 §10.3: smaller than the packet that caused it (no loops between two endpoints),
  // at least 21 bytes, and rate-limited (an attacker cannot turn it into a reflector).
  constexpr size_t kMinimum = 1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN;
  if (size <= kMinimum + 1 || dcidLength == 0) return;
  auto now = std::chrono::steady_clock::now();
  resetTokens_ = std::min(100.0, resetTokens_ + std::chrono::duration<double>(now - resetRefill_).count() * 100);
  resetRefill_ = now;
  if (resetTokens_ < 1) return;
  resetTokens_ -= 1;
  ngtcp2_cid cid;
  ngtcp2_cid_init(&cid, dcid, dcidLength);
  uint8_t token[NGTCP2_STATELESS_RESET_TOKENLEN];
  if (ngtcp2_crypto_generate_stateless_reset_token(token, secret().data(), secret().size(), &cid) != 0) return;
  size_t randomLength = std::min<size_t>(size - 1 - NGTCP2_STATELESS_RESET_TOKENLEN - 1, 40);
  std::string random = randomBytes(randomLength);
  uint8_t out[64];
  ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset(out, sizeof out, token, reinterpret_cast<const uint8_t*>(random.data()),
                                                    randomLength);
  if (n > 0) send(from, out, size_t(n));
}

void QuicListener::sendVersionNegotiation(const ngtcp2_version_cid& vc, const udp::endpoint& from) {
  // Only for a datagram as large as a client's first (no amplification).
  uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
  uint8_t out[NGTCP2_MAX_UDP_PAYLOAD_SIZE];
  std::string unused = randomBytes(1);
  ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(out, sizeof out, uint8_t(unused[0]), vc.scid, vc.scidlen,
                                                        vc.dcid, vc.dcidlen, versions, std::size(versions));
  if (n > 0) send(from, out, size_t(n));
}

}  // namespace causeway::downstream
