// One HTTP/3 connection (RFC 9114) over QUIC (RFC 9000): ngtcp2 runs the transport, GnuTLS the
// handshake, nghttp3 the HTTP/3 framing and QPACK. Every request stream becomes the same
// Request/Response as HTTP/1.1 and HTTP/2 and runs the same handler chain in its own coroutine
// on the connection's worker (one request model, docs/http3.md).
//
// Request bodies flow with QUIC flow control as back-pressure: stream and connection credit is
// returned only as the handler consumes the data. A response piece is kept until the peer
// acknowledges it (QUIC may retransmit it), and at most kStreamSendBuffer bytes of a stream's
// response wait for acknowledgement before its handler is asked for more.
#pragma once

#include <gnutls/gnutls.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "downstream/quic_listener.h"
#include "downstream/stream_head.h"
#include "exchange/exchange.h"
#include "io/asio.h"
#include "io/signal.h"
#include "runtime/entry_point.h"
#include "runtime/worker.h"

namespace causeway::downstream {

class H3Connection final : public runtime::DownstreamConnection, public std::enable_shared_from_this<H3Connection> {
 public:
  using udp = asio::ip::udp;
  static constexpr size_t kStreamSendBuffer = 256 * 1024;
  static constexpr uint64_t kStreamWindow = 256 * 1024;
  static constexpr uint64_t kConnectionWindow = 4 << 20;

  H3Connection(QuicListener& listener, const udp::endpoint& peer);
  ~H3Connection() override;

  // From the client's first Initial: false when the connection cannot be set up (it is then
  // forgotten without a word). `originalDcid` is set when the Initial carried a Retry token.
  bool init(const ngtcp2_pkt_hd& hd, const ngtcp2_cid* originalDcid);
  // A datagram for this connection, from `from` (which differs from before after a migration).
  void onPacket(const uint8_t* data, size_t size, const udp::endpoint& from);
  // Graceful shutdown: GOAWAY, the requests in flight finish, then CONNECTION_CLOSE.
  void drain() override;
  bool handshakeCompleted() const { return handshakeCompleted_; }

 private:
  struct H3Stream;
  using RequestBody = StreamRequestBody<H3Connection, H3Stream>;
  friend RequestBody;
  // For RequestBody (stream_head.h).
  void bodyConsumed(H3Stream& s, size_t n);
  bool bodyMayArrive(const H3Stream& s) const;
  bool bodyAbandoned(const H3Stream& s) const;

  static uint64_t now();
  ngtcp2_path path(const udp::endpoint& remote);
  void writeAll();
  void requestWrite();
  void armTimer();
  void onTimer();
  // Sends CONNECTION_CLOSE (transport error from `liberr`, or the application's H3 code),
  // then lingers in the closing period before the connection is forgotten.
  void closeWithError(int liberr);
  void closeApplication(uint64_t h3Error);
  void enterClosing(const uint8_t* packet, size_t size);
  void endStreams();  // every stream's waits end (closing, draining, finished)
  void cancelStream(H3Stream& stream);  // a per-stream deadline passed: reset both ways
  void armSweep();
  void sweep();
  // Connection credit for the request body bytes a finished stream never consumed.
  void creditUnread(H3Stream& stream);
  void returnStreamSlot(int64_t id);
  // Both nghttp3 and the handler are done with the stream: its unread body is credited and its
  // slot returned, once.
  void streamFinished(H3Stream& stream);
  void finish();  // forgotten by the listener; streams end
  bool setupHttp3();
  void startStream(std::shared_ptr<H3Stream> stream);
  awaitable<void> serveStream(std::shared_ptr<H3Stream> stream);
  awaitable<void> sendResponse(H3Stream& stream, exchange::Exchange& ex, bool headRequest);
  void streamDone(H3Stream& stream);
  void consumed(int64_t streamId, size_t bytes);
  void consumedConnection(size_t bytes);
  H3Stream* find(int64_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }
  void describeTls();

  // GnuTLS: the certificate for the client's SNI, and the TLS options' checks.
  static int onClientHello(gnutls_session_t session);
  static ngtcp2_conn* connectionOf(ngtcp2_crypto_conn_ref* ref);

  // ngtcp2 callbacks.
  static int onHandshakeCompleted(ngtcp2_conn*, void* self);
  static int onRecvStreamData(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t offset, const uint8_t* data,
                              size_t size, void* self, void*);
  static int onAckedStreamDataOffset(ngtcp2_conn*, int64_t id, uint64_t offset, uint64_t size, void* self, void*);
  static int onStreamClose(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t error, void* self, void*);
  static int onStreamReset(ngtcp2_conn*, int64_t id, uint64_t finalSize, uint64_t error, void* self, void*);
  static int onStreamStopSending(ngtcp2_conn*, int64_t id, uint64_t error, void* self, void*);
  static int onExtendMaxRemoteStreamsBidi(ngtcp2_conn*, uint64_t maxStreams, void* self);
  static int onExtendMaxStreamData(ngtcp2_conn*, int64_t id, uint64_t maxData, void* self, void*);
  static void onRand(uint8_t* out, size_t size, const ngtcp2_rand_ctx*);
  static int onNewConnectionId(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t length, void* self);
  static int onRemoveConnectionId(ngtcp2_conn*, const ngtcp2_cid* cid, void* self);
  static int onRecvRxKey(ngtcp2_conn*, ngtcp2_crypto_level level, void* self);

  // nghttp3 callbacks.
  static int onH3AckedData(nghttp3_conn*, int64_t id, uint64_t size, void* self, void*);
  static int onH3StreamClose(nghttp3_conn*, int64_t id, uint64_t error, void* self, void*);
  static int onH3RecvData(nghttp3_conn*, int64_t id, const uint8_t* data, size_t size, void* self, void*);
  static int onH3DeferredConsume(nghttp3_conn*, int64_t id, size_t consumed, void* self, void*);
  static int onH3BeginHeaders(nghttp3_conn*, int64_t id, void* self, void*);
  static int onH3RecvHeader(nghttp3_conn*, int64_t id, int32_t token, nghttp3_rcbuf* name, nghttp3_rcbuf* value,
                            uint8_t flags, void* self, void*);
  static int onH3EndHeaders(nghttp3_conn*, int64_t id, int fin, void* self, void*);
  static int onH3EndStream(nghttp3_conn*, int64_t id, void* self, void*);
  static int onH3StopSending(nghttp3_conn*, int64_t id, uint64_t error, void* self, void*);
  static int onH3ResetStream(nghttp3_conn*, int64_t id, uint64_t error, void* self, void*);
  static nghttp3_ssize readResponse(nghttp3_conn*, int64_t id, nghttp3_vec* vec, size_t count, uint32_t* flags,
                                    void* self, void*);

  QuicListener& listener_;
  runtime::Worker& worker_;
  const runtime::EntryPoint& entryPoint_;
  udp::endpoint peer_;  // the current path's remote address
  ngtcp2_conn* conn_ = nullptr;
  gnutls_session_t session_ = nullptr;
  nghttp3_conn* h3_ = nullptr;
  ngtcp2_crypto_conn_ref connRef_{};
  ngtcp2_connection_close_error lastError_{};
  tls::TlsStorePtr store_;  // the store of the snapshot current at the handshake
  exchange::ConnectionInfo info_;
  std::vector<std::string> ids_;  // connection IDs registered with the listener
  std::unordered_map<int64_t, std::shared_ptr<H3Stream>> streams_;
  std::vector<std::shared_ptr<H3Stream>> ready_;  // request heads complete, handlers not started
  asio::steady_timer timer_;
  asio::steady_timer sweepTimer_;  // per-stream deadlines, once a second while handlers run
  bool sweepArmed_ = false;
  std::shared_ptr<tls::QuicCredential> credentials_;  // what GnuTLS points to until gnutls_deinit
  std::string token_;  // a validated Retry token, for ngtcp2's settings
  uint64_t closeReplies_ = 0;  // packets seen in the closing period (answered at powers of two)
  uint64_t timerAt_ = UINT64_MAX;
  size_t handlers_ = 0;
  size_t headerBytes_ = 0;  // decoded header bytes held by open streams
  bool handshakeCompleted_ = false;
  bool writePosted_ = false;
  bool goingAway_ = false;  // GOAWAY sent (drain)
  bool closing_ = false;    // CONNECTION_CLOSE sent or received: only the closing period is left
  bool finished_ = false;
  std::string closePacket_;  // resent in the closing period when the peer keeps sending
  uint64_t closeUntil_ = 0;
  bool counted_ = false;  // connectionOpened was called
};

}  // namespace causeway::downstream
