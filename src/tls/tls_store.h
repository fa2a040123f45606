// TLS configuration as the data plane uses it (Traefik's dynamic `tls` section, reference
// §2.5 and §8): the certificates chosen by SNI (exact name, then one-label wildcard, then
// the default certificate), and the TLS option sets chosen per entryPoint by the SNI
// host (a router's Host() domains carry its `tls.options`).
//
// A TlsStore is immutable and part of a Snapshot; workers read it during handshakes.
// Loading certificates is cached across builds by file identity, so a reload re-reads only
// certificate files that changed.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <map>
#include <set>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/dynamic_tls.h"
#include "tls/acme_state.h"

namespace causeway::tls {

struct TlsCertificate {
  TlsCertificate() = default;
  TlsCertificate(const TlsCertificate&) = delete;
  TlsCertificate& operator=(const TlsCertificate&) = delete;
  ~TlsCertificate();

  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  STACK_OF(X509)* chain = nullptr;  // intermediates, may be null
  std::vector<std::string> names;   // lower-case DNS names (SANs, or CN without SANs) and IPs
  std::string commonName;
  std::string issuer;               // the issuer's common name (else its one-line name)
  std::string serial;
  int64_t notBefore = 0;            // unix seconds
  int64_t notAfter = 0;             // unix seconds
};
using TlsCertificatePtr = std::shared_ptr<const TlsCertificate>;

// A certificate and its key from PEM text (the certificate first, then its chain); null with
// `error` naming `certLabel`/`keyLabel` when either does not parse or they do not match.
TlsCertificatePtr certificateFromPem(const std::string& certText, const std::string& keyText, std::string& error,
                                     const std::string& certLabel = "the certificate",
                                     const std::string& keyLabel = "the key");

// One `tls.options` entry, ready to apply to a connection.
struct TlsOptionSet {
  TlsOptionSet() = default;
  TlsOptionSet(const TlsOptionSet&) = delete;
  TlsOptionSet& operator=(const TlsOptionSet&) = delete;
  ~TlsOptionSet();

  std::string name;  // "default" or qualified ("mtls@file")
  int minVersion = TLS1_2_VERSION;
  int maxVersion = 0;     // 0: the highest OpenSSL supports
  std::string cipherList;  // TLS ≤ 1.2 suites in OpenSSL names (empty: secure defaults)
  std::string groups;      // key exchange groups (empty: OpenSSL defaults)
  int verifyMode = SSL_VERIFY_NONE;
  bool verifyChain = false;  // check client certificates against caStore
  X509_STORE* caStore = nullptr;
  STACK_OF(X509_NAME)* caNames = nullptr;
  bool sniStrict = false;
  std::vector<unsigned char> alpn;  // wire format, server preference order
  bool disableSessionTickets = false;
};

class TlsStore {
 public:
  // The certificate for a server name: exact match, then the most specific wildcard, then
  // the default certificate. Never null.
  const TlsCertificate* certificateFor(std::string_view serverName) const;
  // True when a certificate (not the default) covers the name (sniStrict).
  bool covers(std::string_view serverName) const;
  // The option set for a server name on an entryPoint: the options of the routers whose
  // Host() is that name, else "default".
  const TlsOptionSet* optionsFor(size_t entryPointIndex, std::string_view serverName) const;
  const TlsOptionSet* options(std::string_view name) const;
  // True when option set `name` was configured but could not be built (a router that uses
  // it is not served: failing open would drop client authentication).
  bool invalid(std::string_view name) const { return invalid_.count(name) > 0; }
  const TlsOptionSet& defaultOptions() const { return *defaultOptions_; }
  // Every loaded certificate (for metrics and the API).
  const std::vector<TlsCertificatePtr>& certificates() const { return all_; }
  // The provider each of certificates() came from ("file", "acme", ...), in the same order.
  const std::vector<std::string>& certificateProviders() const { return providers_; }
  // The ACME provider's challenges and order states; null without certificate resolvers.
  const AcmeState* acme() const { return acme_.get(); }

 private:
  friend class TlsStoreBuilder;
  const TlsCertificate* match(std::string_view serverName) const;  // exact or wildcard, else null
  std::unordered_map<std::string, TlsCertificatePtr> exact_;
  std::unordered_map<std::string, TlsCertificatePtr> wildcard_;  // by parent domain
  TlsCertificatePtr default_;
  std::vector<TlsCertificatePtr> all_;
  std::vector<std::string> providers_;
  std::shared_ptr<const AcmeState> acme_;
  std::map<std::string, std::shared_ptr<const TlsOptionSet>, std::less<>> options_;
  std::set<std::string, std::less<>> invalid_;
  const TlsOptionSet* defaultOptions_ = nullptr;
  // Per entryPoint: host (exact or "*.parent") → options.
  std::vector<std::unordered_map<std::string, const TlsOptionSet*>> hostOptions_;
};
using TlsStorePtr = std::shared_ptr<const TlsStore>;

// Builds TlsStores; keeps loaded certificates between builds (control thread only).
class TlsStoreBuilder {
 public:
  using Providers = std::vector<std::pair<std::string, const config::TlsConfig*>>;  // provider, tls
  // Router host bindings: (entryPoint index, lower-case host or "*.parent", options name).
  using HostOptions = std::vector<std::tuple<size_t, std::string, std::string>>;

  // Builds the options and certificates; problems are appended to `errors` (file names
  // included). A broken certificate is skipped and a broken option set is marked invalid;
  // the store always has a default certificate and options.
  std::shared_ptr<TlsStore> build(const Providers& providers, std::vector<std::string>& errors);
  // The ACME state every store built from now on carries (TLS-ALPN-01 answers, the API).
  void setAcme(std::shared_ptr<const AcmeState> acme) { acme_ = std::move(acme); }
  // Binds routers' hosts to their options, once the routers are known.
  // Hosts given different options by different routers on one entryPoint get the default
  // options; each such (entryPoint, host) is added to `conflicts`.
  static void bindHosts(TlsStore& store, size_t entryPoints, const HostOptions& hostOptions,
                        std::vector<std::pair<size_t, std::string>>& conflicts);

 private:
  struct Cached {
    std::string signature;  // identity of the files (or PEM text) it was loaded from
    TlsCertificatePtr certificate;
  };
  TlsCertificatePtr load(const std::string& certFile, const std::string& keyFile, std::string& error);
  std::shared_ptr<const AcmeState> acme_;
  std::map<std::string, Cached> cache_;
};

// The self-signed certificate served when nothing else matches (Traefik's "TRAEFIK DEFAULT
// CERT"), generated once per process.
TlsCertificatePtr generatedDefaultCertificate();

// Options by Traefik name: "VersionTLS12" → TLS1_2_VERSION (0 for ""); -1 if unknown.
int tlsVersionFromName(std::string_view name);
// Go cipher suite name → OpenSSL name; "" if unknown (or a TLS 1.3 suite).
std::string_view opensslCipherName(std::string_view goName);

}  // namespace causeway::tls
