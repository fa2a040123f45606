// The DNS-01 challenge (RFC 8555 §8.4; docs/acme.md): the TXT record
// _acme-challenge.<domain> = base64url(SHA-256(key authorization)) is set, its propagation
// checked at the resolvers, the CA told, and the record removed again. Two providers, each
// configured by lego's environment variables as Traefik's are:
//
// - exec: a program of yours (EXEC_PATH) is run as `program present|cleanup <fqdn> <value>`,
//   or with EXEC_MODE=RAW as `program present|cleanup -- <domain> <token> <keyAuthorization>`,
//   so any DNS can be scripted; a non-zero exit fails the challenge with its output;
// - rfc2136: a dynamic update (RFC 2136) to RFC2136_NAMESERVER, signed with TSIG
//   (RFC2136_TSIG_KEY, RFC2136_TSIG_SECRET, RFC2136_TSIG_ALGORITHM, default hmac-sha1.) for
//   the zone the nameserver reports for the record.
//
// Every variable X can also be given as X_FILE, a file holding the value. Control thread only.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "clients/acme/acme_client.h"
#include "clients/dns/dns_message.h"
#include "config/acme_config.h"
#include "io/asio.h"

namespace causeway::provider {

// A variable of the environment, or the content of the file named by NAME_FILE (without its
// trailing newline); `fallback` when neither is set.
std::string environmentValue(const std::string& name, const std::string& fallback = {});

// The TXT value of a DNS-01 challenge: base64url(SHA-256(keyAuthorization)).
std::string dnsChallengeValue(const std::string& keyAuthorization);

class DnsSolver {
 public:
  // From the resolver's dnsChallenge and the environment; null with `error` naming the missing
  // variable or the unknown provider. `io` may be null to only check the configuration.
  static std::unique_ptr<DnsSolver> make(asio::io_context* io, const config::AcmeDnsChallenge& options,
                                         std::string& error);

  awaitable<bool> present(const clients::acme::Challenge& challenge, std::string& error);
  awaitable<void> cleanUp(const clients::acme::Challenge& challenge);

 private:
  DnsSolver(asio::io_context* io, const config::AcmeDnsChallenge& options) : io_(*io), options_(options) {}
  awaitable<bool> run(const std::string& action, const clients::acme::Challenge& challenge, std::string& error);
  awaitable<bool> update(const clients::acme::Challenge& challenge, bool remove, std::string& error);
  awaitable<bool> propagated(const std::string& fqdn, const std::string& value, std::string& error);

  asio::io_context& io_;
  config::AcmeDnsChallenge options_;
  std::string provider_;
  // exec
  std::string program_;
  bool raw_ = false;
  // rfc2136
  std::string nameserver_;
  clients::dns::TsigKey key_;
  uint32_t ttl_ = 120;
  std::chrono::milliseconds dnsTimeout_{std::chrono::seconds(10)};
  // both
  std::chrono::milliseconds propagationTimeout_{std::chrono::seconds(60)};
  std::chrono::milliseconds pollingInterval_{std::chrono::seconds(2)};
  std::map<std::string, std::string> zones_;  // fqdn → zone found for it
};

}  // namespace causeway::provider
