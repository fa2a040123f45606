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
#include "config/client_tls.h"
#include "config/node.h"
#include "config/redis_options.h"

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

struct AcmeDnsPropagation {
  bool disableChecks = false;
  bool disableANSChecks = false;
  bool requireAllRNS = false;
  Duration delayBeforeChecks;

  static void describe(auto& self, auto& v) {
    v("disableChecks", self.disableChecks);
    v("disableANSChecks", self.disableANSChecks);
    v("requireAllRNS", self.requireAllRNS);
    v("delayBeforeChecks", self.delayBeforeChecks);
  }
};

// The DNS providers causeway implements; each reads lego's environment variables, as Traefik
// does (EXEC_PATH, RFC2136_NAMESERVER, ...; docs/acme.md).
inline bool implementedDnsProvider(std::string_view provider) { return provider == "exec" || provider == "rfc2136"; }

struct AcmeDnsChallenge {
  std::string provider;
  std::vector<std::string> resolvers;  // "host:port" asked by the propagation check
  Duration delayBeforeCheck;            // deprecated: propagation.delayBeforeChecks
  bool disablePropagationCheck = false;  // deprecated: propagation.disableChecks
  std::optional<AcmeDnsPropagation> propagation;

  static void describe(auto& self, auto& v) {
    v("provider", self.provider);
    v("resolvers", self.resolvers);
    v("delayBeforeCheck", self.delayBeforeCheck);
    v("disablePropagationCheck", self.disablePropagationCheck);
    v("propagation", self.propagation);
  }

  void validate(DecodeContext& context) const {
    if (provider.empty()) context.error("dnsChallenge.provider is required (exec or rfc2136)");
    else if (!implementedDnsProvider(provider))
      context.unsupported(context.location(), "the DNS provider \"" + provider +
                                                  "\" is not supported yet (exec and rfc2136 are; exec scripts any DNS); "
                                                  "this resolver cannot answer DNS-01 challenges");
  }
  bool checksPropagation() const { return !disablePropagationCheck && !(propagation && propagation->disableChecks); }
  Duration delay() const {
    return propagation && propagation->delayBeforeChecks.value.count() > 0 ? propagation->delayBeforeChecks
                                                                             : delayBeforeCheck;
  }
};

// causeway's own: certificates shared by every replica (docs/acme.md). Each certificate,
// the account and the challenges in progress are keys under `prefix`; a lock per
// certificate lets one replica order it while the others wait, answer the CA's challenges
// from the store and then serve it. One of redis or etcd.
struct AcmeEtcdStore {
  std::vector<std::string> endpoints{"127.0.0.1:2379"};
  std::string username;
  std::string password;
  std::optional<ClientTls> tls;

  static void describe(auto& self, auto& v) {
    v("endpoints", self.endpoints);
    v("username", self.username);
    v("password", self.password);
    v("tls", self.tls);
  }
};

struct AcmeSharedStorage {
  std::optional<RedisOptions> redis;
  std::optional<AcmeEtcdStore> etcd;
  std::string prefix = "causeway/acme";
  Duration lockTTL = std::chrono::minutes(3);

  static void describe(auto& self, auto& v) {
    v("redis", self.redis);
    v("etcd", self.etcd);
    v("prefix", self.prefix);
    v("lockTTL", self.lockTTL);
  }
  void validate(DecodeContext& context) const {
    if (bool(redis) == bool(etcd)) context.error("sharedStorage needs exactly one of redis or etcd");
    if (prefix.empty()) context.error("sharedStorage.prefix must not be empty");
    if (lockTTL.value < std::chrono::seconds(10)) context.error("sharedStorage.lockTTL must be at least 10s");
  }
};

struct Acme {
  std::string email;
  std::string storage = "acme.json";
  std::optional<AcmeSharedStorage> sharedStorage;
  std::string caServer = "https://acme-v02.api.letsencrypt.org/directory";
  std::string keyType = "RSA4096";
  int64_t certificatesDuration = 2160;  // hours
  std::vector<std::string> caCertificates;  // files or PEM: trust for a private CA's directory
  bool caSystemCertPool = false;
  std::string caServerName;
  std::optional<AcmeEab> eab;
  std::optional<AcmeHttpChallenge> httpChallenge;
  std::optional<AcmeTlsChallenge> tlsChallenge;
  std::optional<AcmeDnsChallenge> dnsChallenge;
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
    v("sharedStorage", self.sharedStorage);
    v("caServer", self.caServer);
    v("keyType", self.keyType);  // anything else: RSA4096, as Traefik (which warns)
    v("certificatesDuration", self.certificatesDuration);
    v("caCertificates", self.caCertificates);
    v("caSystemCertPool", self.caSystemCertPool);
    v("caServerName", self.caServerName);
    v("eab", self.eab);
    v("httpChallenge", self.httpChallenge);
    v("tlsChallenge", self.tlsChallenge);
    v("dnsChallenge", self.dnsChallenge);
    v("preferredChain", self.preferredChain);
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
