// Dynamic configuration: the `tls` section (reference §2.5).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/decode.h"
#include "config/domain.h"

namespace causeway::config {

// A certificate and its key: file paths or inline PEM.
struct CertificateFiles {
  std::string certFile;
  std::string keyFile;

  static void describe(auto& self, auto& v) {
    v("certFile", self.certFile);
    v("keyFile", self.keyFile);
  }
};

struct TlsCertificate {
  std::string certFile;
  std::string keyFile;
  std::vector<std::string> stores; // ignored by Traefik (always "default")

  static void describe(auto& self, auto& v) {
    v("certFile", self.certFile);
    v("keyFile", self.keyFile);
    v("stores", self.stores);
  }
};

struct ClientAuth {
  std::vector<std::string> caFiles;
  std::string clientAuthType; // empty → NoClientCert

  static void describe(auto& self, auto& v) {
    v("caFiles", self.caFiles);
    v("clientAuthType", self.clientAuthType,
      OneOf{"", "NoClientCert", "RequestClientCert", "RequireAnyClientCert",
            "VerifyClientCertIfGiven", "RequireAndVerifyClientCert"});
  }
};

inline constexpr OneOf kTlsVersions{"", "VersionTLS10", "VersionTLS11", "VersionTLS12",
                                    "VersionTLS13"};

struct TlsOptions {
  std::string minVersion = "VersionTLS12";
  std::string maxVersion;                // empty → the highest supported
  std::vector<std::string> cipherSuites; // Go names; empty → secure defaults
  std::vector<std::string> curvePreferences;
  ClientAuth clientAuth;
  bool sniStrict = false;
  std::vector<std::string> alpnProtocols = {"h2", "http/1.1", "acme-tls/1"};
  bool disableSessionTickets = false;
  std::optional<bool> preferServerCipherSuites; // deprecated in Traefik; accepted, ignored

  static void describe(auto& self, auto& v) {
    v("minVersion", self.minVersion, kTlsVersions);
    v("maxVersion", self.maxVersion, kTlsVersions);
    v("cipherSuites", self.cipherSuites);
    v("curvePreferences", self.curvePreferences);
    v("clientAuth", self.clientAuth);
    v("sniStrict", self.sniStrict);
    v("alpnProtocols", self.alpnProtocols);
    v("disableSessionTickets", self.disableSessionTickets);
    v("preferServerCipherSuites", self.preferServerCipherSuites);
  }
};

struct GeneratedCert {
  std::string resolver;
  std::optional<Domain> domain;

  static void describe(auto& self, auto& v) {
    v("resolver", self.resolver);
    v("domain", self.domain);
  }
};

struct TlsStore {
  std::optional<CertificateFiles> defaultCertificate;
  std::optional<GeneratedCert> defaultGeneratedCert;

  static void describe(auto& self, auto& v) {
    v("defaultCertificate", self.defaultCertificate);
    v("defaultGeneratedCert", self.defaultGeneratedCert,
      NotYet{"defaultGeneratedCert needs a certificate resolver (ACME), which is not supported yet; the default "
             "certificate is used"});
  }
};

struct TlsConfig {
  std::vector<TlsCertificate> certificates;
  std::map<std::string, TlsOptions> options;
  std::map<std::string, TlsStore> stores; // only "default" is honoured

  static void describe(auto& self, auto& v) {
    v("certificates", self.certificates);
    v("options", self.options);
    v("stores", self.stores);
  }
};

} // namespace causeway::config
