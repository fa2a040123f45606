#include "tls/quic_credentials.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include <memory>

namespace causeway::tls {
namespace {

bool appendPem(BIO* bio, std::string& out) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  if (n <= 0) return false;
  out.assign(data, size_t(n));
  return true;
}

}  // namespace

bool certificatePem(const TlsCertificate& certificate, std::string& certText, std::string& keyText) {
  std::unique_ptr<BIO, decltype(&BIO_free)> certs(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> key(BIO_new(BIO_s_mem()), BIO_free);
  if (!certs || !key || !PEM_write_bio_X509(certs.get(), certificate.cert)) return false;
  if (certificate.chain)
    for (int i = 0; i < sk_X509_num(certificate.chain); ++i)
      if (!PEM_write_bio_X509(certs.get(), sk_X509_value(certificate.chain, i))) return false;
  if (!PEM_write_bio_PrivateKey(key.get(), certificate.key, nullptr, nullptr, 0, nullptr, nullptr)) return false;
  return appendPem(certs.get(), certText) && appendPem(key.get(), keyText);
}

QuicCredential::~QuicCredential() {
  if (value) gnutls_certificate_free_credentials(value);
}

QuicCredentialPtr QuicCredentials::forName(const TlsStorePtr& store, std::string_view serverName,
                                                          std::string& error) {
  if (store != store_) {
    cache_.clear();  // connections that use them keep their own references
    store_ = store;
  }
  if (!store_) {
    error = "no TLS configuration";
    return nullptr;
  }
  const TlsCertificate* certificate = store_->certificateFor(serverName);
  if (!certificate) {
    error = "no certificate";
    return nullptr;
  }
  if (auto it = cache_.find(certificate); it != cache_.end()) return it->second;
  std::string certText, keyText;
  if (!certificatePem(*certificate, certText, keyText)) {
    error = "the certificate cannot be written as PEM";
    return nullptr;
  }
  auto credentials = std::make_shared<QuicCredential>();
  if (gnutls_certificate_allocate_credentials(&credentials->value) != 0) {
    error = "out of memory";
    return nullptr;
  }
  gnutls_datum_t cert{reinterpret_cast<unsigned char*>(certText.data()), unsigned(certText.size())};
  gnutls_datum_t key{reinterpret_cast<unsigned char*>(keyText.data()), unsigned(keyText.size())};
  int rv = gnutls_certificate_set_x509_key_mem2(credentials->value, &cert, &key, GNUTLS_X509_FMT_PEM, nullptr, 0);
  OPENSSL_cleanse(keyText.data(), keyText.size());
  if (rv < 0) {
    error = std::string("GnuTLS does not take the certificate: ") + gnutls_strerror(rv);
    return nullptr;
  }
  cache_.emplace(certificate, credentials);
  return credentials;
}

}  // namespace causeway::tls
