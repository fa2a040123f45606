// GnuTLS credentials for QUIC (HTTP/3). Debian 12 packages ngtcp2's crypto backend for GnuTLS
// only, so QUIC handshakes run on GnuTLS while TCP's run on OpenSSL (docs/http3.md). The
// certificates are the same: each one the TLS store holds is turned into GnuTLS credentials
// the first time a handshake needs it, and kept while that store is current.
#pragma once

#include <gnutls/gnutls.h>

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tls/tls_store.h"

namespace causeway::tls {

// GnuTLS credentials; a session points to them until gnutls_deinit, so a connection keeps
// its own reference.
struct QuicCredential {
  QuicCredential() = default;
  QuicCredential(const QuicCredential&) = delete;
  QuicCredential& operator=(const QuicCredential&) = delete;
  ~QuicCredential();
  gnutls_certificate_credentials_t value = nullptr;
};
using QuicCredentialPtr = std::shared_ptr<QuicCredential>;

// One per worker (not thread-safe).
class QuicCredentials {
 public:
  QuicCredentials() = default;
  QuicCredentials(const QuicCredentials&) = delete;
  QuicCredentials& operator=(const QuicCredentials&) = delete;

  // The credentials of the certificate `store` picks for `serverName` (exact, wildcard, else
  // the default certificate); null with `error` when it cannot be converted. A new store
  // drops the credentials of the previous one.
  QuicCredentialPtr forName(const TlsStorePtr& store, std::string_view serverName, std::string& error);

 private:
  TlsStorePtr store_;
  std::unordered_map<const TlsCertificate*, QuicCredentialPtr> cache_;
};

// The certificate, its chain and its key as PEM text (what GnuTLS reads).
bool certificatePem(const TlsCertificate& certificate, std::string& certText, std::string& keyText);

}  // namespace causeway::tls
