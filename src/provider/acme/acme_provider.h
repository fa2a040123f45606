// Certificates from ACME CAs for the routers that name a certificate resolver (Traefik's
// `certificatesResolvers.<name>.acme`; docs/acme.md). A provider like the others: what it
// emits is a `tls.certificates` section with the certificates it holds, so a new
// certificate is served by the next snapshot, without a restart or a dropped connection.
//
// - Storage: Traefik's acme.json (one object per resolver: Account, Certificates), mode 0600
//   enforced (a file open to others is refused, as Traefik refuses it), so an existing file is
//   reused as is and a file causeway writes can be read by Traefik.
// - Orders: each publish hands over what the routers want (request()); what no stored
//   certificate covers, or what expires within Traefik's renewal window, is ordered one at a
//   time, in the background. A failure is retried with a backoff (1 min, doubling to 1 h) and
//   shown on the routers that want the certificate (lastErrors()).
// - Challenges: TLS-ALPN-01 (the challenge certificate, presented in the handshake of a
//   client that offers acme-tls/1), HTTP-01 (answered by the acme-http@internal router) —
//   both through tls::AcmeState — and DNS-01 (dns_solver.h). For each authorization the
//   first the CA offers, in lego's order: tls-alpn-01, http-01, dns-01.
// - State: the order of every wanted certificate (resolver, last error, next attempt) is
//   published to tls::AcmeState for /api/certificates, the dashboard and the routers.
//
// Threading: everything runs on the control thread's io_context.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/json/fwd.hpp>

#include "clients/acme/acme_client.h"
#include "config/static_config.h"
#include "provider/acme/dns_solver.h"
#include "provider/acme/shared_store.h"
#include "provider/provider.h"
#include "tls/acme_state.h"

namespace causeway::provider {

// A certificate some routers want: its resolver and names (main first, then the SANs).
struct CertificateRequest {
  std::string resolver;
  std::vector<std::string> names;
  bool operator<(const CertificateRequest& o) const {
    return std::tie(resolver, names) < std::tie(o.resolver, o.names);
  }
  bool operator==(const CertificateRequest& o) const = default;
};

// Traefik's renewal schedule (pkg/provider/acme/provider.go): how long before expiry a
// certificate of `durationHours` is renewed.
std::chrono::seconds renewBefore(int64_t durationHours);

class AcmeProvider final : public Provider {
 public:
  AcmeProvider(const config::StaticConfig& config, std::shared_ptr<tls::AcmeState> state);
  ~AcmeProvider() override;

  const std::string& name() const override { return name_; }
  // The stored certificates (and errors of unreadable storage files).
  LoadResult load() override;
  void watch(asio::io_context& control, ConfigSink sink) override;
  void reload() override {}

  // What the routers of the current configuration want (control thread, after each publish).
  void request(std::vector<CertificateRequest> wanted);
  // The challenge answers and order states, for acme-http@internal, TLS handshakes and the API.
  std::shared_ptr<tls::AcmeState> state() const { return state_; }
  // The last failure per request ("" once it succeeded): shown on the routers.
  const std::map<CertificateRequest, std::string>& lastErrors() const { return errors_; }

 private:
  struct Stored {
    std::vector<std::string> names;
    std::string certificatePem;
    std::string keyPem;
    int64_t notAfter = 0;  // unix seconds
    std::string serial;    // as the TLS store shows it
  };
  struct Resolver {
    std::string name;
    config::Acme options;
    std::string accountUrl;
    std::string registration;  // JSON text
    std::string accountKeyDer;
    std::vector<Stored> certificates;
    std::unique_ptr<DnsSolver> dns;  // with dnsChallenge, once watching
    std::unique_ptr<SharedStore> shared;  // with sharedStorage, once watching
  };
  enum class Outcome { Obtained, Failed, Waiting };

  static boost::json::object accountEntry(const Resolver& resolver);
  static void readAccount(const boost::json::object& account, Resolver& resolver);
  static boost::json::object certificateEntry(const Stored& stored);
  static std::optional<Stored> readCertificate(const boost::json::value& item);
  bool readStorage(Resolver& resolver, std::string& error);
  bool writeStorage(const std::string& path, std::string& error);
  ProviderConfig current() const;
  const Stored* covering(const Resolver& resolver, const std::vector<std::string>& names) const;
  awaitable<void> work();
  // With sharedStorage: what the store holds, else an order under the store's lock (Waiting
  // while another replica holds it). Without: an order.
  awaitable<Outcome> obtain(Resolver& resolver, const CertificateRequest& request, std::string& error);
  awaitable<bool> order(Resolver& resolver, const CertificateRequest& request, std::string& error);
  // Reads the resolver's keys of the shared store: newer certificates (`changed`), the account
  // when this replica has none, and the challenges other replicas are answering.
  awaitable<bool> pullShared(Resolver& resolver, bool& changed, std::string& error);
  std::string sharedKey(const Resolver& resolver, const std::string& rest) const;
  std::vector<clients::acme::ChallengeSolver> solvers(Resolver& resolver);
  // Publishes the state of every wanted certificate to state_.
  void publishOrders();

  std::string name_ = "acme";
  std::shared_ptr<tls::AcmeState> state_;
  struct SharedChallenge {
    std::string type, domain, token;
  };
  std::map<std::string, SharedChallenge> sharedChallenges_;  // published here from the store, by key
  std::string owner_;  // this replica's lock value
  std::map<std::string, Resolver> resolvers_;
  asio::io_context* control_ = nullptr;
  ConfigSink sink_;
  std::set<CertificateRequest> wanted_;
  std::map<CertificateRequest, std::string> errors_;
  std::map<CertificateRequest, std::chrono::steady_clock::time_point> retryAt_;
  std::map<CertificateRequest, std::chrono::seconds> backoff_;
  std::unique_ptr<asio::steady_timer> wake_;
  bool working_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace causeway::provider
