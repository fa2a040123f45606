#include "downstream/h3_connection.h"

#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <charconv>
#include <cstring>
#include <list>

#include "core/bytes.h"
#include "core/log.h"
#include "core/strings.h"
#include "downstream/connection.h"
#include "downstream/forwarded_headers.h"
#include "downstream/request_prep.h"
#include "downstream/stream_head.h"
#include "downstream/stream_tunnel.h"
#include "exchange/local_reply.h"
#include "exchange/replies.h"
#include "http/go_text.h"
#include "http/h1/parser.h"
#include "io/failures.h"
#include "runtime/snapshot.h"

namespace causeway::downstream {
namespace {

constexpr size_t kMaxPacket = 1452;   // a QUIC packet's UDP payload (fits a 1500-byte path)
constexpr size_t kWriteBurst = 64;    // packets written per turn before the loop runs others
constexpr uint64_t kHandshakeTimeout = 10 * NGTCP2_SECONDS;
// TLS 1.3 only (QUIC), the AEADs QUIC defines, and no middlebox compatibility mode.
constexpr const char* kPriorities =
    "%DISABLE_TLS13_COMPAT_MODE:NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
    "+CHACHA20-POLY1305:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1";

// GnuTLS names the AEAD; logs and the API use the TLS 1.3 suite names OpenSSL gives TCP.
std::string_view suiteName(gnutls_cipher_algorithm_t cipher) {
  switch (cipher) {
  case GNUTLS_CIPHER_AES_128_GCM: return "TLS_AES_128_GCM_SHA256";
  case GNUTLS_CIPHER_AES_256_GCM: return "TLS_AES_256_GCM_SHA384";
  case GNUTLS_CIPHER_CHACHA20_POLY1305: return "TLS_CHACHA20_POLY1305_SHA256";
  default: return "unknown";
  }
}

nghttp3_nv makeNv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(), NGHTTP3_NV_FLAG_NONE};
}

}  // namespace

// Per-stream state. Owned by the connection's map while nghttp3 has the stream open, and by
// its handler coroutine while that runs.
struct H3Connection::H3Stream : StreamHead {
  H3Stream(int64_t streamId, asio::any_io_executor executor) : id(streamId), bodyReady(executor), sendReady(executor) {}
  int64_t id;
  // Request body, as received; credit goes back to the peer as the handler takes it (a list:
  // libstdc++'s deque allocates when it is made, and most streams have no body).
  std::list<std::string> body;
  uint64_t bodyBytes = 0;
  bool endStream = false;
  bool closed = false;
  bool handlerRunning = false;
  bool handlerFinished = false;
  bool writeStopped = false;  // the client sent STOP_SENDING: nobody wants the response
  bool credited = false;      // creditUnread done
  bool h3Closed = false;      // nghttp3 closed the stream (closed may be set earlier: cancelStream)
  bool slotReturned = false;  // its MAX_STREAMS slot went back to the client
  Clock::time_point readDeadline = Clock::time_point::max();   // the body complete by then
  Clock::time_point writeDeadline = Clock::time_point::max();  // the whole exchange done by then
  Clock::time_point stalledSince = Clock::time_point::max();   // waiting for the peer since
  uint64_t closeError = 0;
  exchange::Exchange* exchange = nullptr;
  io::Signal bodyReady;
  // Response body: pieces handed to nghttp3 (from `handed`) and kept until acknowledged.
  std::deque<std::string> outgoing;
  size_t handed = 0;          // pieces of `outgoing` nghttp3 has
  size_t ackedInFront = 0;    // bytes of outgoing.front() already acknowledged
  size_t unacked = 0;         // bytes in `outgoing`
  bool responseLast = false;
  io::Signal sendReady;
};

H3Connection::H3Connection(QuicListener& listener, const udp::endpoint& peer)
    : listener_(listener), worker_(listener.worker()), entryPoint_(listener.entryPoint()), peer_(peer),
      timer_(listener.worker().io()), sweepTimer_(listener.worker().io()) {
  info_ = describePeer(entryPoint_, peer.address(), peer.port(), listener.localEndpoint().port());
  info_.tls = true;
  info_.http3 = true;
  ngtcp2_connection_close_error_default(&lastError_);
}

H3Connection::~H3Connection() {
  if (h3_) nghttp3_conn_del(h3_);
  if (conn_) ngtcp2_conn_del(conn_);
  if (session_) gnutls_deinit(session_);
  if (counted_) worker_.connectionClosed(entryPoint_.index, true);
}

uint64_t H3Connection::now() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

ngtcp2_path H3Connection::path(const udp::endpoint& remote) {
  ngtcp2_path p;
  p.local.addr = const_cast<ngtcp2_sockaddr*>(listener_.localEndpoint().data());
  p.local.addrlen = ngtcp2_socklen(listener_.localEndpoint().size());
  p.remote.addr = const_cast<ngtcp2_sockaddr*>(remote.data());
  p.remote.addrlen = ngtcp2_socklen(remote.size());
  p.user_data = nullptr;
  return p;
}

ngtcp2_conn* H3Connection::connectionOf(ngtcp2_crypto_conn_ref* ref) {
  return static_cast<H3Connection*>(ref->user_data)->conn_;
}

bool H3Connection::init(const ngtcp2_pkt_hd& hd, const ngtcp2_cid* originalDcid) {
  ngtcp2_callbacks callbacks{};
  callbacks.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  callbacks.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  callbacks.handshake_completed = &H3Connection::onHandshakeCompleted;
  callbacks.encrypt = ngtcp2_crypto_encrypt_cb;
  callbacks.decrypt = ngtcp2_crypto_decrypt_cb;
  callbacks.hp_mask = ngtcp2_crypto_hp_mask_cb;
  callbacks.recv_stream_data = &H3Connection::onRecvStreamData;
  callbacks.acked_stream_data_offset = &H3Connection::onAckedStreamDataOffset;
  callbacks.stream_close = &H3Connection::onStreamClose;
  callbacks.rand = &H3Connection::onRand;
  callbacks.get_new_connection_id = &H3Connection::onNewConnectionId;
  callbacks.remove_connection_id = &H3Connection::onRemoveConnectionId;
  callbacks.update_key = ngtcp2_crypto_update_key_cb;
  callbacks.stream_reset = &H3Connection::onStreamReset;
  callbacks.extend_max_remote_streams_bidi = &H3Connection::onExtendMaxRemoteStreamsBidi;
  callbacks.extend_max_stream_data = &H3Connection::onExtendMaxStreamData;
  callbacks.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  callbacks.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  callbacks.get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  callbacks.stream_stop_sending = &H3Connection::onStreamStopSending;
  callbacks.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  callbacks.recv_rx_key = &H3Connection::onRecvRxKey;

  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now();
  settings.max_tx_udp_payload_size = kMaxPacket;
  settings.handshake_timeout = kHandshakeTimeout;
  settings.max_window = kConnectionWindow * 2;
  settings.max_stream_window = kStreamWindow * 2;
  if (originalDcid) {
    // A client that proved its address with a Retry token is no longer held to the 3×
    // amplification limit (ngtcp2 lifts it when given the token).
    token_.assign(reinterpret_cast<const char*>(hd.token.base), hd.token.len);
    settings.token.base = reinterpret_cast<uint8_t*>(token_.data());
    settings.token.len = token_.size();
  }

  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_stream_data_bidi_local = kStreamWindow;
  params.initial_max_stream_data_bidi_remote = kStreamWindow;
  params.initial_max_stream_data_uni = kStreamWindow;
  params.initial_max_data = kConnectionWindow;
  params.initial_max_streams_bidi = entryPoint_.http2MaxConcurrentStreams;
  params.initial_max_streams_uni = 3;  // control and the two QPACK streams
  params.max_idle_timeout = uint64_t(entryPoint_.idleTimeout.count() > 0 ? entryPoint_.idleTimeout.count()
                                                                          : 180 * NGTCP2_SECONDS);
  params.active_connection_id_limit = 4;
  params.stateless_reset_token_present = 1;
  if (originalDcid) {
    params.original_dcid = *originalDcid;
    params.retry_scid = hd.dcid;
    params.retry_scid_present = 1;
  } else {
    params.original_dcid = hd.dcid;
  }
  ngtcp2_cid scid;
  scid.datalen = QuicListener::kCidLength;
  listener_.newConnectionId(scid.data);
  if (ngtcp2_crypto_generate_stateless_reset_token(params.stateless_reset_token, QuicListener::secret().data(),
                                                   QuicListener::secret().size(), &scid) != 0)
    return false;

  ngtcp2_path p = path(peer_);
  if (ngtcp2_conn_server_new(&conn_, &hd.scid, &scid, &p, hd.version, &callbacks, &settings, &params, nullptr, this) != 0)
    return false;

  if (gnutls_init(&session_, GNUTLS_SERVER | GNUTLS_NO_END_OF_EARLY_DATA) != 0) return false;
  if (ngtcp2_crypto_gnutls_configure_server_session(session_) != 0) return false;
  if (gnutls_priority_set_direct(session_, kPriorities, nullptr) != 0) return false;
  gnutls_handshake_set_post_client_hello_function(session_, &H3Connection::onClientHello);
  gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(const_cast<char*>("h3")), 2};
  gnutls_alpn_set_protocols(session_, &alpn, 1, GNUTLS_ALPN_MANDATORY);
  connRef_.get_conn = &H3Connection::connectionOf;
  connRef_.user_data = this;
  gnutls_session_set_ptr(session_, &connRef_);
  ngtcp2_conn_set_tls_native_handle(conn_, session_);

  // The TLS store of the snapshot current at the first packet serves the whole connection.
  if (const runtime::SnapshotPtr& snapshot = worker_.snapshot(); snapshot) store_ = snapshot->tls;
  ids_.push_back(std::string(reinterpret_cast<const char*>(scid.data), scid.datalen));
  listener_.addConnectionId(scid.data, scid.datalen, shared_from_this());
  ids_.push_back(std::string(reinterpret_cast<const char*>(hd.dcid.data), hd.dcid.datalen));
  worker_.connectionOpened(entryPoint_.index, true);
  counted_ = true;
  worker_.track(*this);
  return true;
}

int H3Connection::onClientHello(gnutls_session_t session) {
  auto* self = static_cast<H3Connection*>(static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session))->user_data);
  char name[256];
  size_t length = sizeof name;
  unsigned type = 0;
  std::string serverName;
  if (gnutls_server_name_get(session, name, &length, &type, 0) == 0 && type == GNUTLS_NAME_DNS)
    serverName = toLower(std::string_view(name, length));
  self->info_.serverName = serverName;
  if (!self->store_) return GNUTLS_E_CERTIFICATE_ERROR;
  const tls::TlsOptionSet* options = self->store_->optionsFor(self->entryPoint_.index, serverName);
  self->info_.tlsOptions = options;
  // What GnuTLS cannot do here is refused rather than weakened: client certificates (mTLS)
  // are asked for on HTTP/1.1 and HTTP/2 only (docs/http3.md), and sniStrict holds.
  if (options && (options->verifyMode != SSL_VERIFY_NONE || (options->sniStrict && !self->store_->covers(serverName)))) {
    log::debug("HTTP/3 handshake refused by the TLS options", {{"peer", self->info_.peerAddress},
                                                               {"serverName", serverName}, {"options", options->name}});
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  std::string error;
  tls::QuicCredentialPtr credentials = self->listener_.credentials().forName(self->store_, serverName, error);
  if (!credentials) {
    log::warn("HTTP/3 handshake without a certificate", {{"serverName", serverName}, {"error", error}});
    return GNUTLS_E_CERTIFICATE_ERROR;
  }
  if (gnutls_credentials_set(session, GNUTLS_CRD_CERTIFICATE, credentials->value) != 0) return GNUTLS_E_CERTIFICATE_ERROR;
  self->credentials_ = std::move(credentials);
  return 0;
}

void H3Connection::describeTls() {
  info_.tlsVersion = "TLS 1.3";
  info_.tlsCipher = suiteName(gnutls_cipher_get(session_));
  info_.tlsStore = store_.get();
}

bool H3Connection::setupHttp3() {
  if (h3_) return true;
  nghttp3_callbacks callbacks{};
  callbacks.acked_stream_data = &H3Connection::onH3AckedData;
  callbacks.stream_close = &H3Connection::onH3StreamClose;
  callbacks.recv_data = &H3Connection::onH3RecvData;
  callbacks.deferred_consume = &H3Connection::onH3DeferredConsume;
  callbacks.begin_headers = &H3Connection::onH3BeginHeaders;
  callbacks.recv_header = &H3Connection::onH3RecvHeader;
  callbacks.end_headers = &H3Connection::onH3EndHeaders;
  callbacks.stop_sending = &H3Connection::onH3StopSending;
  callbacks.end_stream = &H3Connection::onH3EndStream;
  callbacks.reset_stream = &H3Connection::onH3ResetStream;
  nghttp3_settings settings;
  nghttp3_settings_default(&settings);
  settings.max_field_section_size = entryPoint_.limits.maxHeadBytes;
  settings.qpack_max_dtable_capacity = 4096;
  settings.qpack_blocked_streams = 100;
  settings.enable_connect_protocol = 1;  // RFC 9220: WebSocket over a stream
  if (nghttp3_conn_server_new(&h3_, &callbacks, &settings, nullptr, this) != 0) return false;
  nghttp3_conn_set_max_client_streams_bidi(h3_, entryPoint_.http2MaxConcurrentStreams);
  int64_t control = 0, encoder = 0, decoder = 0;
  if (ngtcp2_conn_open_uni_stream(conn_, &control, nullptr) != 0 || nghttp3_conn_bind_control_stream(h3_, control) != 0)
    return false;
  if (ngtcp2_conn_open_uni_stream(conn_, &encoder, nullptr) != 0 ||
      ngtcp2_conn_open_uni_stream(conn_, &decoder, nullptr) != 0 ||
      nghttp3_conn_bind_qpack_streams(h3_, encoder, decoder) != 0)
    return false;
  return true;
}

void H3Connection::onPacket(const uint8_t* data, size_t size, const udp::endpoint& from) {
  if (finished_) return;
  if (closing_) {
    // The closing period: a peer that keeps sending gets our CONNECTION_CLOSE again, at its
    // 1st, 2nd, 4th, 8th... packet and only on the path we know (RFC 9000 §10.2.1).
    if (!closePacket_.empty() && (++closeReplies_ & (closeReplies_ - 1)) == 0)
      listener_.send(peer_, reinterpret_cast<const uint8_t*>(closePacket_.data()), closePacket_.size());
    return;
  }
  ngtcp2_path p = path(from);
  ngtcp2_pkt_info pi{};
  int rv = ngtcp2_conn_read_pkt(conn_, &p, &pi, data, size, now());
  if (rv != 0) {
    switch (rv) {
    case NGTCP2_ERR_DRAINING:  // the peer closed: stay silent through the draining period
      closing_ = true;
      closeUntil_ = now() + 3 * ngtcp2_conn_get_pto(conn_);
      endStreams();
      armTimer();
      return;
    case NGTCP2_ERR_DROP_CONN:
      finish();
      return;
    case NGTCP2_ERR_CRYPTO:
      if (!lastError_.error_code)
        ngtcp2_connection_close_error_set_transport_error_tls_alert(&lastError_, ngtcp2_conn_get_tls_alert(conn_), nullptr, 0);
      closeWithError(rv);
      return;
    default:
      if (!handshakeCompleted_ && !ngtcp2_conn_get_handshake_completed(conn_) && ids_.size() <= 2 && streams_.empty()) {
        // Nothing came of the very first packets (undecryptable, malformed): forget quietly.
        finish();
        return;
      }
      closeWithError(rv);
      return;
    }
  }
  // After a migration the current path's remote address is the client's new one.
  const ngtcp2_path* current = ngtcp2_conn_get_path(conn_);
  std::memcpy(peer_.data(), current->remote.addr, current->remote.addrlen);
  peer_.resize(current->remote.addrlen);
  for (auto& stream : ready_) startStream(std::move(stream));
  ready_.clear();
  writeAll();
}

void H3Connection::requestWrite() {
  if (writePosted_ || finished_ || closing_) return;
  writePosted_ = true;
  asio::post(worker_.io(), [self = shared_from_this()] {
    self->writePosted_ = false;
    self->writeAll();
  });
}

void H3Connection::writeAll() {
  if (finished_ || closing_ || !conn_) return;
  uint8_t out[kMaxPacket];
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  const uint64_t ts = now();
  for (size_t packets = 0; packets < kWriteBurst;) {
    int64_t streamId = -1;
    int fin = 0;
    nghttp3_vec vec[16];
    nghttp3_ssize count = 0;
    if (h3_ && ngtcp2_conn_get_max_data_left(conn_)) {
      count = nghttp3_conn_writev_stream(h3_, &streamId, &fin, vec, std::size(vec));
      if (count < 0) {
        ngtcp2_connection_close_error_set_application_error(&lastError_, nghttp3_err_infer_quic_app_error_code(int(count)),
                                                            nullptr, 0);
        closeWithError(0);
        return;
      }
    }
    ngtcp2_ssize written = 0;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    ngtcp2_ssize n = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, out, sizeof out, &written, flags, streamId,
                                               reinterpret_cast<const ngtcp2_vec*>(vec), size_t(count), ts);
    if (n < 0) {
      switch (n) {
      case NGTCP2_ERR_STREAM_DATA_BLOCKED:
        nghttp3_conn_block_stream(h3_, streamId);
        continue;
      case NGTCP2_ERR_STREAM_SHUT_WR:
        nghttp3_conn_shutdown_stream_write(h3_, streamId);
        continue;
      case NGTCP2_ERR_WRITE_MORE:
        if (nghttp3_conn_add_write_offset(h3_, streamId, size_t(written)) != 0) {
          closeWithError(0);
          return;
        }
        continue;
      default:
        ngtcp2_connection_close_error_set_transport_error_liberr(&lastError_, int(n), nullptr, 0);
        closeWithError(int(n));
        return;
      }
    }
    if (written >= 0 && streamId >= 0 && nghttp3_conn_add_write_offset(h3_, streamId, size_t(written)) != 0) {
      closeWithError(0);
      return;
    }
    if (n == 0) break;
    udp::endpoint to;
    std::memcpy(to.data(), ps.path.remote.addr, ps.path.remote.addrlen);
    to.resize(ps.path.remote.addrlen);
    listener_.send(to, out, size_t(n));
    ++packets;
    if (packets == kWriteBurst) requestWrite();  // more after the others had their turn
  }
  ngtcp2_conn_update_pkt_tx_time(conn_, ts);
  armTimer();
}

void H3Connection::armTimer() {
  if (finished_) return;
  uint64_t at = closing_ ? closeUntil_ : ngtcp2_conn_get_expiry(conn_);
  if (at == timerAt_) return;
  timerAt_ = at;
  if (at == UINT64_MAX) {
    timer_.cancel();
    return;
  }
  uint64_t current = now();
  timer_.expires_after(std::chrono::nanoseconds(at > current ? at - current : 0));
  timer_.async_wait([self = shared_from_this(), at](error_code ec) {
    if (ec || self->timerAt_ != at) return;
    self->timerAt_ = UINT64_MAX;
    self->onTimer();
  });
}

void H3Connection::onTimer() {
  if (finished_) return;
  if (closing_) {
    if (now() >= closeUntil_) finish();
    else armTimer();
    return;
  }
  int rv = ngtcp2_conn_handle_expiry(conn_, now());
  if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    finish();  // RFC 9000 §10.1: an idle connection is discarded silently
    return;
  }
  if (rv != 0) {
    ngtcp2_connection_close_error_set_transport_error_liberr(&lastError_, rv, nullptr, 0);
    closeWithError(rv);
    return;
  }
  writeAll();
}

void H3Connection::closeWithError(int liberr) {
  if (closing_ || finished_) return;
  if (!lastError_.error_code && liberr) ngtcp2_connection_close_error_set_transport_error_liberr(&lastError_, liberr, nullptr, 0);
  if (ngtcp2_conn_is_in_closing_period(conn_) || ngtcp2_conn_is_in_draining_period(conn_)) {
    finish();
    return;
  }
  uint8_t out[kMaxPacket];
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  ngtcp2_ssize n = ngtcp2_conn_write_connection_close(conn_, &ps.path, &pi, out, sizeof out, &lastError_, now());
  if (n <= 0) {
    finish();
    return;
  }
  enterClosing(out, size_t(n));
}

void H3Connection::closeApplication(uint64_t h3Error) {
  ngtcp2_connection_close_error_set_application_error(&lastError_, h3Error, nullptr, 0);
  closeWithError(0);
}

void H3Connection::enterClosing(const uint8_t* packet, size_t size) {
  listener_.send(peer_, packet, size);
  closePacket_.assign(reinterpret_cast<const char*>(packet), size);
  closing_ = true;
  closeUntil_ = now() + 3 * ngtcp2_conn_get_pto(conn_);
  endStreams();
  armTimer();
}

void H3Connection::endStreams() {
  for (auto& [id, stream] : streams_) {
    stream->closed = true;
    if (stream->exchange) stream->exchange->clientGone();
    stream->bodyReady.notify();
    stream->sendReady.notify();
  }
}

void H3Connection::finish() {
  if (finished_) return;
  finished_ = true;
  closing_ = true;
  timer_.cancel();
  sweepTimer_.cancel();
  auto self = shared_from_this();  // the listener's references go now
  for (const std::string& id : ids_) listener_.removeConnectionId(reinterpret_cast<const uint8_t*>(id.data()), id.size());
  ids_.clear();
  endStreams();
  listener_.connectionEnded(*this);
}

void H3Connection::drain() {
  // Called while the worker walks its connections: the work is posted, so that a connection
  // that ends at once does not leave the list under the walk.
  asio::post(worker_.io(), [self = shared_from_this()] {
    if (self->goingAway_ || self->closing_) return;
    self->goingAway_ = true;
    if (!self->h3_ || self->streams_.empty()) {
      self->closeApplication(NGHTTP3_H3_NO_ERROR);
      return;
    }
    // GOAWAY with the streams this connection will still serve; new ones are refused.
    nghttp3_conn_submit_shutdown_notice(self->h3_);
    nghttp3_conn_shutdown(self->h3_);
    self->writeAll();
  });
}

void H3Connection::returnStreamSlot(int64_t id) {
  if (closing_ || !ngtcp2_is_bidi_stream(id) || ngtcp2_conn_is_local_stream(conn_, id)) return;
  ngtcp2_conn_extend_max_streams_bidi(conn_, 1);
  requestWrite();
}

void H3Connection::streamFinished(H3Stream& s) {
  creditUnread(s);
  if (s.slotReturned) return;
  s.slotReturned = true;
  returnStreamSlot(s.id);
}

void H3Connection::creditUnread(H3Stream& s) {
  if (s.credited) return;
  s.credited = true;
  size_t unread = 0;
  for (const std::string& piece : s.body) unread += piece.size();
  s.body.clear();
  if (unread && !closing_) {
    ngtcp2_conn_extend_max_offset(conn_, unread);
    requestWrite();
  }
}

void H3Connection::bodyConsumed(H3Stream& s, size_t n) {
  if (!s.closed) consumed(s.id, n);
  else consumedConnection(n);  // the stream is gone, the connection's window is not
}

bool H3Connection::bodyMayArrive(const H3Stream& s) const { return !s.closed && !s.writeStopped && !closing_; }

bool H3Connection::bodyAbandoned(const H3Stream& s) const { return s.writeStopped && !s.endStream; }

void H3Connection::consumedConnection(size_t bytes) {
  if (closing_) return;
  ngtcp2_conn_extend_max_offset(conn_, bytes);
  requestWrite();
}

void H3Connection::consumed(int64_t streamId, size_t bytes) {
  if (closing_) return;
  ngtcp2_conn_extend_max_stream_offset(conn_, streamId, bytes);
  ngtcp2_conn_extend_max_offset(conn_, bytes);
  requestWrite();
}

// ngtcp2 callbacks.

int H3Connection::onHandshakeCompleted(ngtcp2_conn*, void* self) {
  auto* c = static_cast<H3Connection*>(self);
  c->handshakeCompleted_ = true;
  c->listener_.handshakeDone();
  c->describeTls();
  return 0;
}

int H3Connection::onRecvRxKey(ngtcp2_conn*, ngtcp2_crypto_level level, void* self) {
  if (level != NGTCP2_CRYPTO_LEVEL_APPLICATION) return 0;
  return static_cast<H3Connection*>(self)->setupHttp3() ? 0 : NGTCP2_ERR_CALLBACK_FAILURE;
}

int H3Connection::onRecvStreamData(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t, const uint8_t* data, size_t size,
                                   void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  if (!c->h3_) return NGTCP2_ERR_CALLBACK_FAILURE;
  nghttp3_ssize n = nghttp3_conn_read_stream(c->h3_, id, data, size, flags & NGTCP2_STREAM_DATA_FLAG_FIN);
  if (n < 0) {
    log::debug("HTTP/3 stream error", {{"peer", c->info_.peerAddress}, {"error", nghttp3_strerror(int(n))}});
    ngtcp2_connection_close_error_set_application_error(&c->lastError_, nghttp3_err_infer_quic_app_error_code(int(n)),
                                                        nullptr, 0);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  // Framing and QPACK bytes are credited at once; body bytes when the handler takes them.
  ngtcp2_conn_extend_max_stream_offset(c->conn_, id, uint64_t(n));
  ngtcp2_conn_extend_max_offset(c->conn_, uint64_t(n));
  return 0;
}

int H3Connection::onAckedStreamDataOffset(ngtcp2_conn*, int64_t id, uint64_t, uint64_t size, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  if (c->h3_ && nghttp3_conn_add_ack_offset(c->h3_, id, size) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

int H3Connection::onStreamClose(ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t error, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  if (!(flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET)) error = NGHTTP3_H3_NO_ERROR;
  if (c->h3_) {
    int rv = nghttp3_conn_close_stream(c->h3_, id, error);
    // A stream nghttp3 never saw (reset or stopped before its first frame): its slot comes
    // back here, as the library never does it by itself.
    if (rv == NGHTTP3_ERR_STREAM_NOT_FOUND) c->returnStreamSlot(id);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) {
      ngtcp2_connection_close_error_set_application_error(&c->lastError_, nghttp3_err_infer_quic_app_error_code(rv),
                                                          nullptr, 0);
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
  }
  return 0;
}

int H3Connection::onStreamReset(ngtcp2_conn*, int64_t id, uint64_t, uint64_t, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  if (c->h3_ && nghttp3_conn_shutdown_stream_read(c->h3_, id) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

int H3Connection::onStreamStopSending(ngtcp2_conn*, int64_t id, uint64_t, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  // The client does not want the response: what is unacknowledged never will be, so the
  // handler stops (ngtcp2 resets our side of the stream).
  if (H3Stream* s = c->find(id)) {
    s->writeStopped = true;
    if (s->exchange) s->exchange->clientGone();
    s->sendReady.notify();
    s->bodyReady.notify();  // nghttp3 drops the rest of the body from here
  }
  if (c->h3_ && nghttp3_conn_shutdown_stream_read(c->h3_, id) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

int H3Connection::onExtendMaxRemoteStreamsBidi(ngtcp2_conn*, uint64_t maxStreams, void* self) {
  auto* c = static_cast<H3Connection*>(self);
  if (c->h3_) nghttp3_conn_set_max_client_streams_bidi(c->h3_, maxStreams);
  return 0;
}

int H3Connection::onExtendMaxStreamData(ngtcp2_conn*, int64_t id, uint64_t, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  if (c->h3_ && nghttp3_conn_unblock_stream(c->h3_, id) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

void H3Connection::onRand(uint8_t* out, size_t size, const ngtcp2_rand_ctx*) {
  std::string bytes = randomBytes(size);
  std::memcpy(out, bytes.data(), size);
}

int H3Connection::onNewConnectionId(ngtcp2_conn*, ngtcp2_cid* cid, uint8_t* token, size_t length, void* self) {
  auto* c = static_cast<H3Connection*>(self);
  if (length != QuicListener::kCidLength) return NGTCP2_ERR_CALLBACK_FAILURE;
  c->listener_.newConnectionId(cid->data);
  cid->datalen = length;
  if (ngtcp2_crypto_generate_stateless_reset_token(token, QuicListener::secret().data(), QuicListener::secret().size(),
                                                   cid) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  c->ids_.push_back(std::string(reinterpret_cast<const char*>(cid->data), cid->datalen));
  c->listener_.addConnectionId(cid->data, cid->datalen, c->shared_from_this());
  return 0;
}

int H3Connection::onRemoveConnectionId(ngtcp2_conn*, const ngtcp2_cid* cid, void* self) {
  auto* c = static_cast<H3Connection*>(self);
  std::string id(reinterpret_cast<const char*>(cid->data), cid->datalen);
  std::erase(c->ids_, id);
  c->listener_.removeConnectionId(cid->data, cid->datalen);
  return 0;
}

// nghttp3 callbacks.

int H3Connection::onH3AckedData(nghttp3_conn*, int64_t id, uint64_t size, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  H3Stream* s = c->find(id);
  if (!s) return 0;
  while (size > 0 && !s->outgoing.empty()) {
    size_t left = s->outgoing.front().size() - s->ackedInFront;
    if (size < left) {
      s->ackedInFront += size;
      s->unacked -= size;
      break;
    }
    size -= left;
    s->unacked -= left;
    s->outgoing.pop_front();
    s->ackedInFront = 0;
    if (s->handed > 0) --s->handed;
  }
  s->stalledSince = Clock::time_point::max();  // progress
  s->sendReady.notify();
  return 0;
}

int H3Connection::onH3StreamClose(nghttp3_conn*, int64_t id, uint64_t error, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  auto it = c->streams_.find(id);
  if (it == c->streams_.end()) {
    c->returnStreamSlot(id);
    return 0;
  }
  std::shared_ptr<H3Stream> s = it->second;
  c->streams_.erase(it);
  c->headerBytes_ -= std::min(c->headerBytes_, s->headerBytes);
  s->closed = true;
  s->closeError = error == NGHTTP3_H3_NO_ERROR ? 0 : error;
  if (s->exchange && s->closeError) s->exchange->clientGone();
  s->bodyReady.notify();
  s->sendReady.notify();
  // A client stream's slot comes back once its handler is done too (so resets cannot
  // multiply the work in flight, as HTTP/2's Rapid Reset did).
  s->h3Closed = true;
  if (!s->handlerRunning) c->streamFinished(*s);
  if (c->goingAway_ && c->streams_.empty() && c->handlers_ == 0) {
    asio::post(c->worker_.io(), [self = c->shared_from_this()] { self->closeApplication(NGHTTP3_H3_NO_ERROR); });
  }
  return 0;
}

int H3Connection::onH3RecvData(nghttp3_conn*, int64_t id, const uint8_t* data, size_t size, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  H3Stream* s = c->find(id);
  if (!s || s->refused || s->malformed || s->closed || s->handlerFinished) {
    c->consumed(id, size);  // nobody will read it: credit at once
    return 0;
  }
  s->body.emplace_back(reinterpret_cast<const char*>(data), size);
  s->bodyBytes += size;
  s->bodyReady.notify();
  return 0;
}

int H3Connection::onH3DeferredConsume(nghttp3_conn*, int64_t id, size_t consumed, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  ngtcp2_conn_extend_max_stream_offset(c->conn_, id, consumed);
  ngtcp2_conn_extend_max_offset(c->conn_, consumed);
  return 0;
}

int H3Connection::onH3BeginHeaders(nghttp3_conn* h3, int64_t id, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  auto stream = std::make_shared<H3Stream>(id, c->worker_.io().get_executor());
  if (c->goingAway_) stream->refused = true;
  nghttp3_conn_set_stream_user_data(h3, id, stream.get());
  c->streams_[id] = std::move(stream);
  return 0;
}

int H3Connection::onH3RecvHeader(nghttp3_conn*, int64_t id, int32_t, nghttp3_rcbuf* name, nghttp3_rcbuf* value,
                                 uint8_t, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  H3Stream* s = c->find(id);
  if (!s || s->refused || s->malformed) return 0;
  nghttp3_vec nameVec = nghttp3_rcbuf_get_buf(name);
  nghttp3_vec valueVec = nghttp3_rcbuf_get_buf(value);
  FieldVerdict verdict = addStreamField(*s, c->entryPoint_, c->headerBytes_,
                                        std::string_view(reinterpret_cast<const char*>(nameVec.base), nameVec.len),
                                        std::string_view(reinterpret_cast<const char*>(valueVec.base), valueVec.len));
  if (verdict != FieldVerdict::Taken) s->malformed = true;  // reset at the end of the fields
  return 0;
}

int H3Connection::onH3EndHeaders(nghttp3_conn*, int64_t id, int fin, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  auto it = c->streams_.find(id);
  if (it == c->streams_.end()) return 0;
  H3Stream& s = *it->second;
  if (s.handlerRunning) return 0;  // trailers: not forwarded
  if (s.malformed) {
    ngtcp2_conn_shutdown_stream(c->conn_, id, NGHTTP3_H3_MESSAGE_ERROR);
    return 0;
  }
  if (s.refused) {
    ngtcp2_conn_shutdown_stream(c->conn_, id, NGHTTP3_H3_REQUEST_REJECTED);
    return 0;
  }
  if (fin) s.endStream = true;
  s.handlerRunning = true;
  c->ready_.push_back(it->second);
  return 0;
}

int H3Connection::onH3EndStream(nghttp3_conn*, int64_t id, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  if (H3Stream* s = c->find(id)) {
    s->endStream = true;
    s->bodyReady.notify();
  }
  return 0;
}

int H3Connection::onH3StopSending(nghttp3_conn*, int64_t id, uint64_t error, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  ngtcp2_conn_shutdown_stream_read(c->conn_, id, error);
  return 0;
}

int H3Connection::onH3ResetStream(nghttp3_conn*, int64_t id, uint64_t error, void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  ngtcp2_conn_shutdown_stream_write(c->conn_, id, error);
  return 0;
}

nghttp3_ssize H3Connection::readResponse(nghttp3_conn*, int64_t id, nghttp3_vec* vec, size_t count, uint32_t* flags,
                                         void* self, void*) {
  auto* c = static_cast<H3Connection*>(self);
  H3Stream* s = c->find(id);
  if (!s) return NGHTTP3_ERR_CALLBACK_FAILURE;
  size_t n = 0;
  while (n < count && s->handed < s->outgoing.size()) {
    const std::string& piece = s->outgoing[s->handed++];
    vec[n].base = reinterpret_cast<uint8_t*>(const_cast<char*>(piece.data()));
    vec[n].len = piece.size();
    ++n;
  }
  if (n > 0) s->sendReady.notify();  // the pump may fetch the next piece
  if (s->handed == s->outgoing.size() && s->responseLast) *flags |= NGHTTP3_DATA_FLAG_EOF;
  else if (n == 0) return NGHTTP3_ERR_WOULDBLOCK;
  return nghttp3_ssize(n);
}

// Streams.

void H3Connection::startStream(std::shared_ptr<H3Stream> stream) {
  ++handlers_;
  // Per-stream deadlines, as HTTP/2 applies readTimeout and writeTimeout per stream.
  const Clock::time_point start = Clock::now();
  if (entryPoint_.readTimeout.count() > 0 && !stream->endStream) stream->readDeadline = start + entryPoint_.readTimeout;
  if (entryPoint_.writeTimeout.count() > 0) stream->writeDeadline = start + entryPoint_.writeTimeout;
  armSweep();
  asio::co_spawn(worker_.io(), serveStream(std::move(stream)), [self = shared_from_this()](std::exception_ptr e) {
    io::logFailure(e, "HTTP/3 stream failed");
    --self->handlers_;
  });
}

void H3Connection::streamDone(H3Stream& s) {
  s.handlerRunning = false;
  s.handlerFinished = true;
  if (s.h3Closed) streamFinished(s);
  if (goingAway_ && streams_.empty() && handlers_ <= 1 && !closing_) closeApplication(NGHTTP3_H3_NO_ERROR);
}

void H3Connection::armSweep() {
  if (sweepArmed_ || finished_) return;
  if (entryPoint_.readTimeout.count() <= 0 && entryPoint_.writeTimeout.count() <= 0 && entryPoint_.sendTimeout.count() <= 0)
    return;
  sweepArmed_ = true;
  sweepTimer_.expires_after(std::chrono::seconds(1));
  sweepTimer_.async_wait([self = shared_from_this()](error_code ec) {
    self->sweepArmed_ = false;
    if (!ec) self->sweep();
  });
}

void H3Connection::sweep() {
  if (finished_ || closing_) return;
  const Clock::time_point now = Clock::now();
  std::vector<H3Stream*> due;
  for (auto& [id, stream] : streams_) {
    H3Stream& s = *stream;
    if (!s.handlerRunning || s.closed) continue;
    bool stalled = entryPoint_.sendTimeout.count() > 0 && s.stalledSince != Clock::time_point::max() &&
                   now - s.stalledSince >= entryPoint_.sendTimeout;
    if ((!s.endStream && now >= s.readDeadline) || now >= s.writeDeadline || stalled) due.push_back(&s);
  }
  for (H3Stream* s : due) cancelStream(*s);
  if (!due.empty()) requestWrite();
  if (handlers_ > 0) armSweep();
}

void H3Connection::cancelStream(H3Stream& s) {
  ngtcp2_conn_shutdown_stream(conn_, s.id, NGHTTP3_H3_REQUEST_CANCELLED);
  s.closed = true;
  s.closeError = NGHTTP3_H3_REQUEST_CANCELLED;
  if (s.exchange) s.exchange->clientGone();
  s.bodyReady.notify();
  s.sendReady.notify();
}

awaitable<void> H3Connection::serveStream(std::shared_ptr<H3Stream> streamPtr) {
  H3Stream& s = *streamPtr;
  auto keep = shared_from_this();
  // Whatever way the handler ends (an exception too), the stream forgets the exchange, its
  // arena is reset and its slot may come back.
  struct Done {
    H3Connection& c;
    H3Stream& s;
    ~Done() {
      s.exchange = nullptr;
      s.arena.reset();
      c.streamDone(s);
    }
  } done{*this, s};
  if (s.closed) co_return;
  exchange::Exchange ex(worker_, s.arena, info_);
  s.exchange = &ex;
  ex.record.start = Clock::now();
  ex.record.startWall = std::chrono::system_clock::now();
  runtime::SnapshotPtr pinned = worker_.snapshot();
  ex.snapshot = pinned.get();
  exchange::Request& r = ex.request;
  r.versionMajor = 3;
  r.versionMinor = 0;
  std::string scratch;
  bool extendedConnect = false;
  int status = prepareStreamRequest(r, s, entryPoint_, "https", scratch, extendedConnect);
  if (!s.endStream || !s.body.empty()) r.body = s.arena.template make<RequestBody>(*this, streamPtr);
  // A tunnel's DATA frames are not a request body: they go through the tunnel, if one opens.
  exchange::BodySource* tunnelIn = extendedConnect ? std::exchange(r.body, nullptr) : nullptr;
  StreamTunnel tunnel;
  if (status) {
    exchange::errorReply(ex, status, http::reasonPhrase(status));
  } else {
    applyForwardedHeaders(r, s.arena, info_, entryPoint_);
    worker_.observeRequest(ex);
    co_await routeAndServe(ex, entryPoint_);
    if (extendedConnect && !s.closed && !closing_) {
      tunnel = openStreamTunnel(ex, tunnelIn, s.arena, worker_.io().get_executor());
      // A tunnel lives as long as its ends want: the request's deadlines no longer apply.
      if (tunnel.tunnel) s.readDeadline = s.writeDeadline = Clock::time_point::max();
    }
  }
  if (!s.closed && !closing_) co_await sendResponse(s, ex, r.method == "HEAD");
  if (tunnel.tunnel && !s.closed && !closing_ && !s.endStream) {
    // Our side of the tunnel ended: the client gets a moment to end its own before the
    // STOP_SENDING below.
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer linger(worker_.io(), std::chrono::seconds(2));
    co_await (ex.background.join() || linger.async_wait(nothrow));
  }
  // A body the handler did not read: STOP_SENDING after our answer (H3_NO_ERROR).
  if (!s.closed && !closing_ && !s.endStream) {
    ngtcp2_conn_shutdown_stream_read(conn_, s.id, NGHTTP3_H3_NO_ERROR);
    requestWrite();
  }
  if (tunnel.tunnel && !ex.background.empty()) {
    // The stream is over but the tunnel still runs: both of its ends are closed, so that
    // neither pump waits on a peer that will not come back.
    tunnel.pipe->close();
    tunnel.tunnel->abort();
  }
  if (!ex.background.empty()) {
    ex.endWaits();
    s.bodyReady.notify();
    co_await ex.background.join();
  }
  s.exchange = nullptr;
  const bool gone = s.closeError != 0 || s.writeStopped || (closing_ && !goingAway_);
  ex.record.downstreamStatus = gone ? 0 : ex.response.status;
  ex.record.clientGone = gone;
  ex.record.requestBytes = s.bodyBytes;
  worker_.observeComplete(ex);
  s.arena.reset();
}

awaitable<void> H3Connection::sendResponse(H3Stream& s, exchange::Exchange& ex, bool headRequest) {
  StreamResponseHead head(ex, headRequest, worker_.httpDate());
  exchange::BodySource* body = head.body;
  std::vector<nghttp3_nv> nv;
  nv.reserve(head.fields.size());
  for (const auto& f : head.fields) nv.push_back(makeNv(f.name, f.value));
  nghttp3_data_reader reader{&H3Connection::readResponse};
  if (!body) s.responseLast = true;
  if (nghttp3_conn_submit_response(h3_, s.id, nv.data(), nv.size(), &reader) != 0) {
    ngtcp2_conn_shutdown_stream(conn_, s.id, NGHTTP3_H3_INTERNAL_ERROR);
    requestWrite();
    co_return;
  }
  requestWrite();
  while (body && !s.closed && !closing_ && !s.writeStopped && !s.responseLast) {
    // Back-pressure: the next piece only once nghttp3 has taken the previous ones and the peer
    // has acknowledged most of what is in flight (a client that opens no window holds one
    // piece per stream, as over HTTP/2).
    if (s.handed < s.outgoing.size() || s.unacked >= kStreamSendBuffer) {
      if (s.stalledSince == Clock::time_point::max()) s.stalledSince = Clock::now();
      co_await s.sendReady.wait();
      continue;
    }
    s.stalledSince = Clock::time_point::max();
    exchange::BodyChunk chunk = co_await body->read();
    if (s.closed || closing_ || s.writeStopped) break;
    if (chunk.error) {
      ngtcp2_conn_shutdown_stream(conn_, s.id, NGHTTP3_H3_INTERNAL_ERROR);
      requestWrite();
      co_return;
    }
    if (!chunk.data.empty()) {
      s.outgoing.emplace_back(chunk.data);
      s.unacked += chunk.data.size();
      ex.record.responseBytes += chunk.data.size();
    }
    if (chunk.last) s.responseLast = true;
    nghttp3_conn_resume_stream(h3_, s.id);
    requestWrite();
  }
  // The pieces stay until acknowledged; the handler is done once all of them are.
  while (!s.closed && !closing_ && !s.writeStopped && s.unacked > 0) {
    if (s.stalledSince == Clock::time_point::max()) s.stalledSince = Clock::now();
    co_await s.sendReady.wait();
  }
  s.stalledSince = Clock::time_point::max();
}

}  // namespace causeway::downstream
