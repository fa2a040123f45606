// Static configuration: `certificatesResolvers.<name>` (reference §1.10; docs/acme.md), with
// Traefik's key names and defaults.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/decode.h"
#include "config/duration.h"
#include "config/node.h"

namespace causeway::config {

struct AcmeEab {
  std::string kid;
  std::string hmacEncoded;  // base64url, as the CA gives it

  static void describe(auto& self, auto& v) {
    v("kid", self.kid);
    v("hmacEncoded", self.hmacEncoded);
  }
};

struct AcmeHttpChallenge {
  std::string entryPoint;
  Duration delay;

  static void describe(auto& self, auto& v) {
    v("entryPoint", self.entryPoint);
    v("delay", self.delay);
  }
};

struct AcmeTlsChallenge {
  Duration delay;

  static void describe(auto& self, auto& v) { v("delay", self.delay); }
};

struct Acme {
  std::string email;
  std::string storage = "acme.json";
  std::string caServer = "https://acme-v02.api.letsencrypt.org/directory";
  std::string keyType = "RSA4096";
  int64_t certificatesDuration = 2160;  // hours
  std::vector<std::string> caCertificates;  // files or PEM: trust for a private CA's directory
  bool caSystemCertPool = false;
  std::string caServerName;
  std::optional<AcmeEab> eab;
  std::optional<AcmeHttpChallenge> httpChallenge;
  std::optional<AcmeTlsChallenge> tlsChallenge;
  std::optional<Node> dnsChallenge;
  std::string preferredChain;
  std::string profile;
  std::vector<std::string> emailAddresses;
  bool disableCommonName = false;
  Duration certificateTimeout = std::chrono::seconds(30);
  Duration clientTimeout = std::chrono::seconds(120);
  Duration clientResponseHeaderTimeout = std::chrono::seconds(30);

  static void describe(auto& self, auto& v) {
    v("email", self.email);
    v("storage", self.storage);
    v("caServer", self.caServer);
    v("keyType", self.keyType);  // anything else: RSA4096, as Traefik (which warns)
    v("certificatesDuration", self.certificatesDuration);
    v("caCertificates", self.caCertificates);
    v("caSystemCertPool", self.caSystemCertPool);
    v("caServerName", self.caServerName);
    v("eab", self.eab);
    v("httpChallenge", self.httpChallenge);
    v("tlsChallenge", self.tlsChallenge, NotYet{"the TLS-ALPN-01 challenge is not supported yet; use httpChallenge"});
    v("dnsChallenge", self.dnsChallenge, NotYet{"the DNS-01 challenge is not supported yet; use httpChallenge"});
    v("preferredChain", self.preferredChain, NotYet{"preferredChain is not supported yet; the CA's default chain is used"});
    v("profile", self.profile, NotYet{"ACME profiles are not supported yet; the CA's default profile is used"});
    v("emailAddresses", self.emailAddresses);
    v("disableCommonName", self.disableCommonName);
    v("certificateTimeout", self.certificateTimeout);
    v("clientTimeout", self.clientTimeout);
    v("clientResponseHeaderTimeout", self.clientResponseHeaderTimeout);
  }

  void validate(DecodeContext& context) const {
    // A resolver without any challenge is the provider's warning, as in Traefik (it starts).
    if (certificatesDuration < 1) context.error("certificatesDuration must be at least 1 (hour)");
  }
};

struct CertificatesResolver {
  std::optional<Acme> acme;
  std::optional<Node> tailscale;

  static void describe(auto& self, auto& v) {
    v("acme", self.acme);
    v("tailscale", self.tailscale, NotYet{"the Tailscale certificate resolver is not supported yet"});
  }
};

}  // namespace causeway::config
