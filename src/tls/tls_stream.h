// TLS termination on a worker's socket with OpenSSL 3. OpenSSL only transforms bytes: it reads
// ciphertext from the stream's receive buffer and writes ciphertext into its send buffer (two
// BIOs of causeway's own, so that no byte is copied through a memory BIO), and the ciphertext
// moves through Asio's own socket operations (speculative reads, epoll). One process-wide
// SSL_CTX carries the callbacks; each connection picks its certificate and TLS options at ClientHello time from the snapshot
// it pinned (TlsStore), by SNI.
//
// Threading: a TlsStream belongs to the worker of its connection.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "config/client_tls.h"
#include "io/asio.h"
#include "io/stream_read.h"
#include "tls/tls_store.h"

namespace causeway::tls {

// Ciphertext a TlsStream received and OpenSSL has not taken yet: data[begin, end) of `size`
// bytes. One record's room at first; a stream whose reads fill it reads io::kStreamRead at a
// time (io/stream_read.h), and goes back when the socket holds less than a record.
struct ReceivedCiphertext {
  std::unique_ptr<char[]> data;
  size_t size = 0, begin = 0, end = 0;
};

// What the ClientHello callback decided for one connection.
struct TlsHandshakeState {
  const TlsStore* store = nullptr;
  size_t entryPointIndex = 0;
  std::string serverName;  // SNI, lower-case, no trailing dot ("" when absent)
  const TlsOptionSet* options = nullptr;
  // A TLS-ALPN-01 validation: the challenge certificate was presented (kept alive for the
  // handshake); the connection serves nothing and closes.
  bool acmeTlsAlpn = false;
  std::shared_ptr<const TlsCertificate> acmeCertificate;
};

// The process-wide server context (callbacks for SNI, ALPN and rotating ticket keys).
SSL_CTX* tlsServerContext();

// How to reach an upstream over TLS (from a serversTransport).
struct TlsClientSettings {
  std::shared_ptr<SSL_CTX> context;  // trust roots, client certificate, versions, ciphers
  // No context of its own: the process-wide default (system roots, TLS 1.2+), created on
  // first use so a configuration without https upstreams never initializes OpenSSL.
  bool sharedDefault = false;
  std::string serverName;            // SNI and the name verified in the certificate
  bool verify = true;                // false: insecureSkipVerify
  std::vector<unsigned char> alpn;   // offered protocols, wire format

  bool available() const { return context || sharedDefault; }
  SSL_CTX* get() const;
};

// A client context for `tls` (Traefik's ClientTLS): its CA as trust roots (the system's
// without one) and its client certificate; TLS 1.2 at least. Whether the peer is verified
// is the caller's (`!tls.insecureSkipVerify`). Null with `error` set on bad input.
std::shared_ptr<SSL_CTX> makeClientContext(const config::ClientTls& tls, std::string& error);

// Builds the client context of a serversTransport. Null with `error` set on bad input.
std::shared_ptr<SSL_CTX> makeClientContext(const std::vector<std::string>& rootCAs,
                                           const std::vector<std::pair<std::string, std::string>>& certificates,
                                           const std::string& minVersion, const std::string& maxVersion,
                                           const std::vector<std::string>& cipherSuites, std::string& error);

class TlsStream {
 public:
  // Server side of a downstream connection.
  TlsStream(tcp::socket& socket, TlsHandshakeState& state);
  // Client side of an upstream connection (SNI `serverName` unless it is an IP address).
  TlsStream(tcp::socket& socket, const TlsClientSettings& settings, const std::string& serverName);
  ~TlsStream();
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;

  // Ciphertext the connection already read from the socket (the first bytes it peeked at).
  void feed(std::string_view ciphertext);
  // Runs the handshake; false when it failed (the reason is in error()).
  awaitable<bool> handshake();
  const std::string& error() const { return error_; }

  awaitable<std::tuple<error_code, size_t>> readSome(asio::mutable_buffer buffer);
  awaitable<std::tuple<error_code, size_t>> write(std::span<const asio::const_buffer> buffers);
  // A coroutine, not a forwarding call: the span must point into this frame,
  // which lives until the write completes.
  awaitable<std::tuple<error_code, size_t>> write(asio::const_buffer buffer) {
    co_return co_await write(std::span<const asio::const_buffer>(&buffer, 1));
  }
  // Sends close_notify (best effort).
  awaitable<void> close();
  // Sends close_notify now, without waiting: the alert is handed to the socket if it has room
  // (it always has at the end of a connection). For every orderly close, downstream and
  // upstream, as nginx does, so that clients do not see a truncated stream. Does nothing after
  // an error or when a write is in progress.
  void closeNotify();

  tcp::socket& socket() { return socket_; }
  std::string_view alpn() const;
  std::string_view version() const;  // "TLS 1.3"
  std::string_view cipher() const;   // OpenSSL name
  X509* peerCertificate() const;     // owned by the stream; null without client certificate
  SSL* ssl() const { return ssl_; }
  // Bytes received and not read yet as plaintext: what the socket holds, the ciphertext taken
  // from it and not decrypted, and the plaintext of a record partly read.
  size_t queuedBytes() { return io::queuedBytes(socket_) + received_.end - received_.begin + size_t(SSL_pending(ssl_)); }

 private:
  awaitable<bool> flush();
  awaitable<bool> fill();
  // Gives back the ciphertext buffers a stream grew, unless a flush is using them (the
  // receive buffer: when the socket holds less than a record).
  void releaseLargeBuffers();

  // Room for `want` more bytes after `end` (what is unread moves to the front, or to a larger
  // buffer).
  void makeRoom(size_t want);
  void resizeReceived(size_t size);

  tcp::socket& socket_;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // ciphertext from the peer: read from received_
  BIO* out_ = nullptr;  // ciphertext to the peer: appended to pending_
  ReceivedCiphertext received_;
  std::string plain_;    // small writes coalesced into one record
  std::string pending_;  // ciphertext OpenSSL wrote, not yet handed to the socket
  std::string sending_;  // ciphertext being written to the socket
  bool flushing_ = false;
  bool failed_ = false;
  std::string error_;
  mutable X509* peer_ = nullptr;
};

}  // namespace causeway::tls
