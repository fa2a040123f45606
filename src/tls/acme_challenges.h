// The answers an ACME CA asks for while it validates a domain (docs/acme.md): HTTP-01 key
// authorizations by token, served by the acme-http@internal router. The ACME provider
// publishes and withdraws them on the control thread; workers read them while serving
// /.well-known/acme-challenge/<token>. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

namespace causeway::tls {

class AcmeChallenges {
 public:
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

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> http01_;
};

}  // namespace causeway::tls
