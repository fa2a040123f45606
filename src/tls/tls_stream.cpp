#include "tls/tls_stream.h"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <array>
#include <chrono>
#include <cstring>
#include <mutex>

#include "core/log.h"
#include "core/strings.h"
#include "io/send_now.h"
#include "io/stream_read.h"

namespace causeway::tls {
namespace {

constexpr size_t kCipherChunk = 16 * 1024 + 512;  // one full TLS record and its overhead
constexpr size_t kCoalesceLimit = 16 * 1024;       // smaller writes become one record
// Ciphertext buffers larger than this are given back when the stream next waits for its peer
// (a stream keeps them while it writes: it would grow them again at every write).
constexpr size_t kKeptCiphertext = 64 * 1024;

// What the stream's two BIOs answer to OpenSSL's control calls: the bytes they hold (`held`, as
// pending output for the sink), flushed at once (the stream flushes its own buffer), and 0 to
// everything else.
long control(int command, size_t held, bool sink) {
  switch (command) {
    case BIO_CTRL_PENDING: return long(held);
    case BIO_CTRL_WPENDING: return sink ? long(held) : 0;
    case BIO_CTRL_FLUSH: return 1;
    default: return 0;
  }
}

// Whether a receive buffer grown for a stream can go back to one record's room: it holds less
// than a record, and so does the socket (the peer has paused).
bool receiveBufferIdle(const ReceivedCiphertext& r, tcp::socket& socket) {
  return r.size > kKeptCiphertext && r.end - r.begin < kCipherChunk && io::queuedBytes(socket) < kCipherChunk;
}

int createBio(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

// The BIO OpenSSL writes ciphertext to: appended to the stream's own buffer (its data pointer),
// which flush() hands to the socket. A memory BIO would hold it in its own buffer, to be copied
// out again with BIO_read before every send.
BIO_METHOD* outputMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "causeway ciphertext out");
    BIO_meth_set_write_ex(m, [](BIO* bio, const char* data, size_t size, size_t* written) -> int {
      try {  // no exception may cross OpenSSL's C frames
        static_cast<std::string*>(BIO_get_data(bio))->append(data, size);
      } catch (...) {
        return 0;
      }
      *written = size;
      return 1;
    });
    BIO_meth_set_ctrl(m, [](BIO* bio, int command, long, void*) -> long {
      return control(command, static_cast<std::string*>(BIO_get_data(bio))->size(), true);
    });
    BIO_meth_set_create(m, &createBio);
    return m;
  }();
  return method;
}

BIO* outputBio(std::string& buffer) {
  BIO* bio = BIO_new(outputMethod());
  BIO_set_data(bio, &buffer);
  return bio;
}

// The BIO OpenSSL reads ciphertext from: the stream's receive buffer, filled by fill() and
// feed(). Empty, it asks OpenSSL to retry (SSL_ERROR_WANT_READ), as a memory BIO with an EOF
// return of -1 does.
BIO_METHOD* inputMethod() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "causeway ciphertext in");
    BIO_meth_set_read_ex(m, [](BIO* bio, char* out, size_t size, size_t* read) -> int {
      auto* in = static_cast<ReceivedCiphertext*>(BIO_get_data(bio));
      BIO_clear_retry_flags(bio);
      size_t n = std::min(size, in->end - in->begin);
      *read = n;
      if (n == 0) {
        BIO_set_retry_read(bio);
        return 0;
      }
      std::memcpy(out, in->data.get() + in->begin, n);
      in->begin += n;
      return 1;
    });
    BIO_meth_set_ctrl(m, [](BIO* bio, int command, long, void*) -> long {
      auto* in = static_cast<ReceivedCiphertext*>(BIO_get_data(bio));
      return control(command, in->end - in->begin, false);
    });
    BIO_meth_set_create(m, &createBio);
    return m;
  }();
  return method;
}

int stateIndex() {
  static int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

// Session ticket keys, rotated every 12 hours; the two previous keys still decrypt, so a
// ticket stays usable for up to 36 hours. Shared by every worker.
class TicketKeys {
 public:
  struct Key {
    unsigned char name[16];
    unsigned char aes[32];
    unsigned char hmac[32];
    std::chrono::steady_clock::time_point created;
  };

  // Returns the current key (rotating when due).
  Key current() {
    std::lock_guard lock(mutex_);
    auto now = std::chrono::steady_clock::now();
    if (keys_.empty() || now - keys_.front().created > std::chrono::hours(12)) {
      Key key{};
      RAND_bytes(key.name, sizeof key.name);
      RAND_bytes(key.aes, sizeof key.aes);
      RAND_bytes(key.hmac, sizeof key.hmac);
      key.created = now;
      keys_.insert(keys_.begin(), key);
      if (keys_.size() > 3) keys_.pop_back();
    }
    return keys_.front();
  }
  // Finds a key by name; `stale` when it is not the current one (the client gets a new ticket).
  bool find(const unsigned char* name, Key& out, bool& stale) {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < keys_.size(); ++i) {
      if (std::memcmp(keys_[i].name, name, 16) == 0) {
        out = keys_[i];
        stale = i > 0;
        return true;
      }
    }
    return false;
  }

 private:
  std::mutex mutex_;
  std::vector<Key> keys_;
};

TicketKeys& ticketKeys() {
  static TicketKeys keys;
  return keys;
}

int ticketKeyCallback(SSL*, unsigned char name[16], unsigned char* iv, EVP_CIPHER_CTX* cipher,
                      EVP_MAC_CTX* mac, int encrypt) {
  TicketKeys::Key key;
  bool stale = false;
  if (encrypt) {
    key = ticketKeys().current();
    std::memcpy(name, key.name, 16);
    if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(EVP_aes_256_cbc())) != 1) return -1;
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes, iv) != 1) return -1;
  } else {
    if (!ticketKeys().find(name, key, stale)) return 0;  // unknown key: full handshake
    if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes, iv) != 1) return -1;
  }
  OSSL_PARAM params[3];
  params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.hmac, sizeof key.hmac);
  params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>("SHA256"), 0);
  params[2] = OSSL_PARAM_construct_end();
  if (EVP_MAC_CTX_set_params(mac, params) != 1) return -1;
  return stale ? 2 : 1;
}

// Reads the server_name extension of a ClientHello (RFC 6066 §3).
std::string serverNameOf(SSL* ssl) {
  const unsigned char* p = nullptr;
  size_t length = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &length) != 1 || length < 5) return {};
  size_t listLength = (size_t(p[0]) << 8) | p[1];
  if (listLength + 2 != length || p[2] != TLSEXT_NAMETYPE_host_name) return {};
  size_t nameLength = (size_t(p[3]) << 8) | p[4];
  if (nameLength + 5 > length) return {};
  std::string name(reinterpret_cast<const char*>(p + 5), nameLength);
  toLowerInPlace(name);
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

int verifyAnything(int, X509_STORE_CTX*) { return 1; }

constexpr std::string_view kAcmeTls = "acme-tls/1";

// True when the ClientHello's ALPN extension lists acme-tls/1.
bool offersAcmeTls(SSL* ssl) {
  const unsigned char* p = nullptr;
  size_t length = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p, &length) != 1 ||
      length < 2)
    return false;
  size_t listLength = (size_t(p[0]) << 8) | p[1];
  if (listLength + 2 != length) return false;
  for (size_t i = 2; i < length;) {
    size_t n = p[i];
    if (i + 1 + n > length) return false;
    if (std::string_view(reinterpret_cast<const char*>(p + i + 1), n) == kAcmeTls) return true;
    i += 1 + n;
  }
  return false;
}

int clientHelloCallback(SSL* ssl, int* alert, void*) {
  auto* state = static_cast<TlsHandshakeState*>(SSL_get_ex_data(ssl, stateIndex()));
  if (!state || !state->store) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  const TlsStore& store = *state->store;
  state->serverName = serverNameOf(ssl);
  // TLS-ALPN-01 (RFC 8737): a CA validating a domain offers only acme-tls/1 and gets the
  // challenge certificate; the handshake is all it needs, the connection then closes.
  if (store.acme() && offersAcmeTls(ssl)) {
    if (auto challenge = store.acme()->tlsAlpnCertificate(state->serverName)) {
      state->acmeTlsAlpn = true;
      state->acmeCertificate = challenge;
      if (SSL_use_cert_and_key(ssl, challenge->cert, challenge->key, nullptr, 1) != 1) {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
      }
      return SSL_CLIENT_HELLO_SUCCESS;
    }
  }
  const TlsOptionSet* options = store.optionsFor(state->entryPointIndex, state->serverName);
  state->options = options;
  if (options->sniStrict && !store.covers(state->serverName)) {
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_CLIENT_HELLO_ERROR;
  }
  SSL_set_min_proto_version(ssl, options->minVersion);
  SSL_set_max_proto_version(ssl, options->maxVersion);
  // TLS 1.0/1.1 sign with SHA-1, which OpenSSL's default security level refuses; an explicit
  // minVersion below 1.2 asks for them (as Go allows).
  if (options->minVersion < TLS1_2_VERSION) SSL_set_security_level(ssl, 0);
  SSL_set_cipher_list(ssl, options->cipherList.c_str());
  if (!options->groups.empty()) SSL_set1_groups_list(ssl, options->groups.c_str());
  if (options->disableSessionTickets) SSL_set_options(ssl, SSL_OP_NO_TICKET);
  if (options->verifyMode != SSL_VERIFY_NONE) {
    SSL_set_verify(ssl, options->verifyMode, options->verifyChain ? nullptr : verifyAnything);
    if (options->caStore) SSL_set1_verify_cert_store(ssl, options->caStore);
    if (options->caNames) SSL_set_client_CA_list(ssl, SSL_dup_CA_list(options->caNames));
  }
  const TlsCertificate* certificate = store.certificateFor(state->serverName);
  if (SSL_use_cert_and_key(ssl, certificate->cert, certificate->key, certificate->chain, 1) != 1) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  return SSL_CLIENT_HELLO_SUCCESS;
}

int alpnCallback(SSL* ssl, const unsigned char** out, unsigned char* outLength, const unsigned char* in,
                 unsigned int inLength, void*) {
  auto* state = static_cast<TlsHandshakeState*>(SSL_get_ex_data(ssl, stateIndex()));
  if (state && state->acmeTlsAlpn) {
    for (size_t j = 0; j < inLength; j += 1 + in[j])
      if (j + 1 + in[j] <= inLength && std::string_view(reinterpret_cast<const char*>(in + j + 1), in[j]) == kAcmeTls) {
        *out = in + j + 1;
        *outLength = in[j];
        return SSL_TLSEXT_ERR_OK;
      }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  if (!state || !state->options || state->options->alpn.empty()) return SSL_TLSEXT_ERR_NOACK;
  const auto& server = state->options->alpn;
  // Server preference: the first of our protocols the client offers.
  for (size_t i = 0; i < server.size(); i += 1 + server[i]) {
    unsigned char length = server[i];
    for (size_t j = 0; j < inLength; j += 1 + in[j]) {
      if (in[j] == length && j + 1 + length <= inLength && std::memcmp(in + j + 1, &server[i + 1], length) == 0) {
        std::string_view protocol(reinterpret_cast<const char*>(&server[i + 1]), length);
        if (protocol == kAcmeTls) continue;  // only for a TLS-ALPN-01 challenge (above)
        *out = in + j + 1;
        *outLength = length;
        return SSL_TLSEXT_ERR_OK;
      }
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX* createServerContext() {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_client_hello_cb(ctx, clientHelloCallback, nullptr);
  SSL_CTX_set_alpn_select_cb(ctx, alpnCallback, nullptr);
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticketKeyCallback);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 2);
  return ctx;
}

}  // namespace

SSL_CTX* tlsServerContext() {
  static SSL_CTX* ctx = createServerContext();
  return ctx;
}

TlsStream::TlsStream(tcp::socket& socket, TlsHandshakeState& state)
    : socket_(socket) {
  ssl_ = SSL_new(tlsServerContext());
  resizeReceived(kCipherChunk);
  in_ = BIO_new(inputMethod());
  BIO_set_data(in_, &received_);
  out_ = outputBio(pending_);
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_accept_state(ssl_);
  SSL_set_ex_data(ssl_, stateIndex(), &state);
}

TlsStream::TlsStream(tcp::socket& socket, const TlsClientSettings& settings, const std::string& serverName)
    : socket_(socket) {
  ssl_ = SSL_new(settings.get());
  resizeReceived(kCipherChunk);
  in_ = BIO_new(inputMethod());
  BIO_set_data(in_, &received_);
  out_ = outputBio(pending_);
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_connect_state(ssl_);
  std::string name = settings.serverName.empty() ? serverName : settings.serverName;
  error_code ec;
  asio::ip::make_address(name, ec);
  bool literalAddress = !ec;
  if (!literalAddress && !name.empty()) SSL_set_tlsext_host_name(ssl_, name.c_str());
  if (settings.verify) {
    SSL_set_verify(ssl_, SSL_VERIFY_PEER, nullptr);
    if (literalAddress) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
    else SSL_set1_host(ssl_, name.c_str());
  } else {
    SSL_set_verify(ssl_, SSL_VERIFY_NONE, nullptr);
  }
  if (!settings.alpn.empty()) SSL_set_alpn_protos(ssl_, settings.alpn.data(), unsigned(settings.alpn.size()));
}

SSL_CTX* TlsClientSettings::get() const {
  if (context || !sharedDefault) return context.get();
  static std::shared_ptr<SSL_CTX> shared = [] {
    std::string error;
    return makeClientContext({}, {}, "", "", {}, error);
  }();
  return shared.get();
}

std::shared_ptr<SSL_CTX> makeClientContext(const config::ClientTls& tls, std::string& error) {
  std::vector<std::string> roots;
  std::vector<std::pair<std::string, std::string>> certificates;
  if (!tls.ca.empty()) roots.push_back(tls.ca);
  if (!tls.cert.empty() && !tls.key.empty()) certificates.emplace_back(tls.cert, tls.key);
  return makeClientContext(roots, certificates, "", "", {}, error);
}

std::shared_ptr<SSL_CTX> makeClientContext(const std::vector<std::string>& rootCAs,
                                           const std::vector<std::pair<std::string, std::string>>& certificates,
                                           const std::string& minVersion, const std::string& maxVersion,
                                           const std::vector<std::string>& cipherSuites, std::string& error) {
  std::shared_ptr<SSL_CTX> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (int v = tlsVersionFromName(minVersion); v > 0) {
    SSL_CTX_set_min_proto_version(ctx.get(), v);
    if (v < TLS1_2_VERSION) SSL_CTX_set_security_level(ctx.get(), 0);  // SHA-1 signatures
  }
  if (int v = tlsVersionFromName(maxVersion); v > 0) SSL_CTX_set_max_proto_version(ctx.get(), v);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT);
  std::string ciphers;
  for (const auto& suite : cipherSuites) {
    std::string_view mapped = opensslCipherName(suite);
    if (mapped.empty()) continue;
    if (!ciphers.empty()) ciphers += ':';
    ciphers += mapped;
  }
  if (!ciphers.empty()) SSL_CTX_set_cipher_list(ctx.get(), ciphers.c_str());
  if (rootCAs.empty()) {
    SSL_CTX_set_default_verify_paths(ctx.get());
  } else {
    X509_STORE* store = SSL_CTX_get_cert_store(ctx.get());
    for (const auto& ca : rootCAs) {
      std::string text;
      if (ca.find("-----BEGIN") != std::string::npos) {
        text = ca;
      } else {
        std::FILE* f = std::fopen(ca.c_str(), "rb");
        if (!f) {
          error = "rootCAs: cannot read " + ca;
          return nullptr;
        }
        char buf[4096];
        size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
        std::fclose(f);
      }
      BIO* bio = BIO_new_mem_buf(text.data(), int(text.size()));
      int loaded = 0;
      while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        X509_STORE_add_cert(store, cert);
        X509_free(cert);
        ++loaded;
      }
      ERR_clear_error();
      BIO_free(bio);
      if (loaded == 0) {
        error = "rootCAs: no certificate in " + (text == ca ? std::string("inline PEM") : ca);
        return nullptr;
      }
    }
  }
  for (const auto& [certFile, keyFile] : certificates) {
    // The first usable client certificate is presented.
    bool inlineCert = certFile.find("-----BEGIN") != std::string::npos;
    bool inlineKey = keyFile.find("-----BEGIN") != std::string::npos;
    int ok = 0;
    if (inlineCert) {
      BIO* bio = BIO_new_mem_buf(certFile.data(), int(certFile.size()));
      X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
      BIO_free(bio);
      ok = cert && SSL_CTX_use_certificate(ctx.get(), cert) == 1;
      if (cert) X509_free(cert);
    } else {
      ok = SSL_CTX_use_certificate_chain_file(ctx.get(), certFile.c_str()) == 1;
    }
    if (ok) {
      if (inlineKey) {
        BIO* bio = BIO_new_mem_buf(keyFile.data(), int(keyFile.size()));
        EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
        BIO_free(bio);
        ok = key && SSL_CTX_use_PrivateKey(ctx.get(), key) == 1;
        if (key) EVP_PKEY_free(key);
      } else {
        ok = SSL_CTX_use_PrivateKey_file(ctx.get(), keyFile.c_str(), SSL_FILETYPE_PEM) == 1;
      }
    }
    ERR_clear_error();
    if (!ok) {
      error = "certificates: cannot load the client certificate " + (inlineCert ? std::string("(inline)") : certFile);
      return nullptr;
    }
    break;
  }
  return ctx;
}

TlsStream::~TlsStream() {
  if (peer_) X509_free(peer_);
  SSL_free(ssl_);  // frees the BIOs too
}

void TlsStream::feed(std::string_view ciphertext) {
  if (ciphertext.empty()) return;
  makeRoom(ciphertext.size());
  std::memcpy(received_.data.get() + received_.end, ciphertext.data(), ciphertext.size());
  received_.end += ciphertext.size();
}

void TlsStream::resizeReceived(size_t size) {
  ReceivedCiphertext& r = received_;
  auto data = std::make_unique_for_overwrite<char[]>(size);
  size_t unread = r.end - r.begin;  // fits: callers ask for at least that much
  if (unread) std::memcpy(data.get(), r.data.get() + r.begin, unread);
  r.data = std::move(data);
  r.size = size;
  r.begin = 0;
  r.end = unread;
}

void TlsStream::makeRoom(size_t want) {
  ReceivedCiphertext& r = received_;
  if (r.begin == r.end) r.begin = r.end = 0;
  if (r.size - r.end >= want) return;
  size_t unread = r.end - r.begin;
  if (r.size - unread >= want) {
    std::memmove(r.data.get(), r.data.get() + r.begin, unread);
    r.begin = 0;
    r.end = unread;
    return;
  }
  resizeReceived(std::max(r.size * 2, unread + want));
}

awaitable<bool> TlsStream::flush() {
  // One flusher at a time: the read path (post-handshake messages) and the write path may
  // both have ciphertext to send; whoever flushes drains everything, including bytes added
  // while it waits on the socket. The ciphertext is swapped out of pending_ first, so appends
  // cannot move the memory being written.
  if (flushing_) co_return !failed_;
  flushing_ = true;
  while (!failed_ && !pending_.empty()) {
    sending_.swap(pending_);
    pending_.clear();
    asio::const_buffer records(sending_.data(), sending_.size());
    io::SendResult now = io::sendNow(socket_, std::span(&records, 1));
    if (now.error) {
      failed_ = true;
    } else if (!now.complete) {
      auto [ec, written] = co_await asio::async_write(socket_, records + now.sent, nothrow);
      if (ec) failed_ = true;
    }
  }
  sending_.clear();
  flushing_ = false;
  co_return !failed_;
}

void TlsStream::releaseLargeBuffers() {
  if (receiveBufferIdle(received_, socket_)) resizeReceived(kCipherChunk);
  if (flushing_) return;
  if (sending_.capacity() > kKeptCiphertext) std::string().swap(sending_);
  if (pending_.empty() && pending_.capacity() > kKeptCiphertext) std::string().swap(pending_);
}

awaitable<bool> TlsStream::fill() {
  releaseLargeBuffers();
  makeRoom(1);
  size_t room = received_.size - received_.end;
  auto [ec, n] = co_await socket_.async_read_some(asio::buffer(received_.data.get() + received_.end, room), nothrow);
  if (ec) co_return false;
  received_.end += n;
  // A read that filled the room: the peer streams, and the next reads take io::kStreamRead at a
  // time (sixteen records, decrypted by one readSome()).
  if (n == room && received_.size < io::kStreamRead) resizeReceived(io::kStreamRead);
  co_return true;
}

awaitable<bool> TlsStream::handshake() {
  while (true) {
    ERR_clear_error();
    int r = SSL_do_handshake(ssl_);
    if (r == 1) co_return co_await flush();
    int err = SSL_get_error(ssl_, r);
    if (err == SSL_ERROR_WANT_READ) {
      if (!co_await flush()) {
        error_ = "write failed during the handshake";
        co_return false;
      }
      if (!co_await fill()) {
        error_ = "connection closed during the handshake";
        co_return false;
      }
      continue;
    }
    unsigned long code = ERR_peek_error();
    char buf[256] = "handshake failed";
    if (code) ERR_error_string_n(code, buf, sizeof buf);
    error_ = buf;
    // Send the alert (e.g. unrecognized_name for sniStrict) before giving up.
    co_await flush();
    co_return false;
  }
}

awaitable<std::tuple<error_code, size_t>> TlsStream::readSome(asio::mutable_buffer buffer) {
  while (true) {
    size_t n = 0;
    ERR_clear_error();
    if (SSL_read_ex(ssl_, buffer.data(), buffer.size(), &n) == 1) {
      // The records already received are decrypted into the same read: a stream that reads
      // io::kStreamRead at a time takes up to sixteen records per call instead of one. What
      // stops it (a partial record, close_notify, an error) is met again by the next call.
      while (n < buffer.size() && (SSL_has_pending(ssl_) || received_.end > received_.begin)) {
        size_t more = 0;
        ERR_clear_error();
        if (SSL_read_ex(ssl_, static_cast<char*>(buffer.data()) + n, buffer.size() - n, &more) != 1) {
          ERR_clear_error();
          break;
        }
        n += more;
      }
      // A stream that read everything it was sent may not read again for a while (a pooled
      // upstream connection, a client waiting for its response): the large buffer goes now,
      // not at its next read.
      if (receiveBufferIdle(received_, socket_)) resizeReceived(kCipherChunk);
      co_return std::tuple{error_code(), n};
    }
    int err = SSL_get_error(ssl_, 0);
    if (err == SSL_ERROR_WANT_READ) {
      // Post-handshake messages (session tickets, key updates) may be waiting to go out.
      if (!co_await flush()) co_return std::tuple{error_code(asio::error::broken_pipe), size_t(0)};
      if (!co_await fill()) co_return std::tuple{error_code(asio::error::eof), size_t(0)};
      continue;
    }
    if (err == SSL_ERROR_ZERO_RETURN) co_return std::tuple{error_code(asio::error::eof), size_t(0)};
    co_return std::tuple{error_code(asio::error::connection_reset), size_t(0)};
  }
}

awaitable<std::tuple<error_code, size_t>> TlsStream::write(std::span<const asio::const_buffer> buffers) {
  size_t total = 0;
  for (const auto& b : buffers) total += b.size();
  auto encrypt = [&](const void* data, size_t size) {
    size_t written = 0;
    return SSL_write_ex(ssl_, data, size, &written) == 1;
  };
  if (total <= kCoalesceLimit && buffers.size() > 1) {
    // One record for a head and a small body.
    plain_.clear();
    for (const auto& b : buffers) plain_.append(static_cast<const char*>(b.data()), b.size());
    if (!encrypt(plain_.data(), plain_.size()))
      co_return std::tuple{error_code(asio::error::broken_pipe), size_t(0)};
  } else {
    for (const auto& b : buffers) {
      if (b.size() == 0) continue;
      if (!encrypt(b.data(), b.size())) co_return std::tuple{error_code(asio::error::broken_pipe), size_t(0)};
      // Bound the ciphertext held in memory for large bodies.
      if (pending_.size() > 256 * 1024 && !co_await flush())
        co_return std::tuple{error_code(asio::error::broken_pipe), size_t(0)};
    }
  }
  if (!co_await flush()) co_return std::tuple{error_code(asio::error::broken_pipe), size_t(0)};
  co_return std::tuple{error_code(), total};
}

void TlsStream::closeNotify() {
  if (failed_ || flushing_ || !SSL_is_init_finished(ssl_) || (SSL_get_shutdown(ssl_) & SSL_SENT_SHUTDOWN)) return;
  SSL_shutdown(ssl_);
  ERR_clear_error();
  if (pending_.empty()) return;
  asio::const_buffer alert(pending_.data(), pending_.size());
  io::sendNow(socket_, std::span(&alert, 1));
  pending_.clear();
}

awaitable<void> TlsStream::close() {
  SSL_shutdown(ssl_);
  co_await flush();
}

std::string_view TlsStream::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int length = 0;
  SSL_get0_alpn_selected(ssl_, &data, &length);
  return length ? std::string_view(reinterpret_cast<const char*>(data), length) : std::string_view();
}

std::string_view TlsStream::version() const {
  switch (SSL_version(ssl_)) {
    case TLS1_3_VERSION: return "TLS 1.3";
    case TLS1_2_VERSION: return "TLS 1.2";
    case TLS1_1_VERSION: return "TLS 1.1";
    case TLS1_VERSION: return "TLS 1.0";
    default: return "unknown";
  }
}

std::string_view TlsStream::cipher() const {
  const char* name = SSL_get_cipher_name(ssl_);
  return name ? std::string_view(name) : std::string_view();
}

X509* TlsStream::peerCertificate() const {
  if (!peer_) peer_ = SSL_get1_peer_certificate(ssl_);
  return peer_;
}

}  // namespace causeway::tls
