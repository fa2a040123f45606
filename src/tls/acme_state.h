// What the ACME provider shares with the data plane and the API (docs/acme.md):
//
// - the answers a CA asks for while it validates a domain: HTTP-01 key authorizations by
//   token (served by the acme-http@internal router at /.well-known/acme-challenge/<token>)
//   and TLS-ALPN-01 certificates by domain (presented in the TLS handshake of a client that
//   offers ALPN acme-tls/1, RFC 8737);
// - the state of every certificate the routers want: its resolver, last error and next
//   attempt, for /api/certificates and the dashboard.
//
// The provider writes on the control thread; workers read while serving. Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace causeway::tls {

struct TlsCertificate;

// One certificate the routers want from a resolver.
struct AcmeOrderStatus {
  std::string resolver;
  std::vector<std::string> names;  // main domain first
  std::string serial;              // of the certificate held (hex, as the API shows it); "" when none
  std::string lastError;           // "" once it succeeded
  int64_t nextAttempt = 0;         // unix seconds of the next order or renewal check; 0: none planned
};

class AcmeState {
 public:
  // HTTP-01.
  void publish(const std::string& token, const std::string& keyAuthorization) {
    std::lock_guard lock(mutex_);
    http01_[token] = keyAuthorization;
  }
  void withdraw(const std::string& token) {
    std::lock_guard lock(mutex_);
    http01_.erase(token);
  }
  std::optional<std::string> keyAuthorization(const std::string& token) const {
    std::lock_guard lock(mutex_);
    auto it = http01_.find(token);
    if (it == http01_.end()) return std::nullopt;
    return it->second;
  }

  // TLS-ALPN-01: the challenge certificate for a domain (lower-case).
  void publishTlsAlpn(const std::string& domain, std::shared_ptr<const TlsCertificate> certificate) {
    std::lock_guard lock(mutex_);
    tlsAlpn01_[domain] = std::move(certificate);
  }
  void withdrawTlsAlpn(const std::string& domain) {
    std::lock_guard lock(mutex_);
    tlsAlpn01_.erase(domain);
  }
  std::shared_ptr<const TlsCertificate> tlsAlpnCertificate(const std::string& domain) const {
    std::lock_guard lock(mutex_);
    auto it = tlsAlpn01_.find(domain);
    return it == tlsAlpn01_.end() ? nullptr : it->second;
  }

  // The wanted certificates, replaced as a whole after every change.
  void setOrders(std::vector<AcmeOrderStatus> orders) {
    std::lock_guard lock(mutex_);
    orders_ = std::move(orders);
  }
  std::vector<AcmeOrderStatus> orders() const {
    std::lock_guard lock(mutex_);
    return orders_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> http01_;
  std::map<std::string, std::shared_ptr<const TlsCertificate>> tlsAlpn01_;
  std::vector<AcmeOrderStatus> orders_;
};

}  // namespace causeway::tls
