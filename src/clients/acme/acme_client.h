// An ACME client (RFC 8555) for Traefik's certificate resolvers (docs/acme.md): the
// directory, nonces, account registration (with external account binding), orders, the
// HTTP-01, TLS-ALPN-01 and DNS-01 challenges (answered by the caller's solvers),
// finalization with a CSR and the certificate download (with the preferred chain among the
// alternates). One request at a time over the control plane's HTTP client (clients/http);
// every call has the settings' timeout and the whole order `certificateTimeout`.
//
// Threading: runs on the control thread's io_context. Errors come back as text, with the
// CA's problem document (type and detail) when it sent one: "urn:ietf:params:acme:error:
// rateLimited: too many certificates already issued" is shown on the routers.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "clients/acme/acme_crypto.h"
#include "clients/http/http_client.h"
#include "config/client_tls.h"
#include "io/asio.h"

namespace causeway::clients::acme {

struct Settings {
  std::string directoryUrl;
  config::ClientTls tls;  // `ca`: the PEM of caCertificates ("" : the system's roots)
  std::chrono::milliseconds requestTimeout{std::chrono::seconds(30)};
  std::chrono::milliseconds orderTimeout{std::chrono::seconds(120)};
  std::string email;
  std::string eabKid;      // external account binding: the CA's key id
  std::string eabMacKey;   // and its MAC key (raw bytes)
  std::string keyType = "RSA4096";  // of certificate keys
  bool disableCommonName = false;
  // The chain whose top certificate's issuer has this common name, when the CA offers it
  // among its alternates (RFC 8555 §7.4.2); "" : the CA's default chain.
  std::string preferredChain;
};

struct Account {
  Key key;
  std::string url;           // the account's URL at the CA (its `kid`); "" until registered
  std::string registration;  // the account object the CA returned (JSON text)
};

struct Issued {
  std::string certificatePem;  // leaf first, then the chain
  std::string keyPem;
};

// One challenge of an authorization, with what answers it: `keyAuthorization` is the
// token and the account's thumbprint (RFC 8555 §8.1).
struct Challenge {
  std::string type;  // "http-01", "tls-alpn-01", "dns-01"
  std::string domain;  // without "*." for a wildcard
  bool wildcard = false;
  std::string token;
  std::string keyAuthorization;
};

// One way to answer challenges: `present` makes the answer available (false with `error`),
// `cleanUp` removes it once the CA has validated (or failed to).
struct ChallengeSolver {
  std::string type;
  std::function<awaitable<bool>(const Challenge&, std::string& error)> present;
  std::function<awaitable<void>(const Challenge&)> cleanUp;
};

class Client {
 public:
  Client(asio::io_context& io, Settings settings) : io_(io), settings_(std::move(settings)) {}

  // Registers `account` (whose key is set) when it has no URL yet; false with `error`.
  awaitable<bool> registerAccount(Account& account, std::string& error);
  // Orders a certificate for `names` (the first is the main domain). Each authorization is
  // answered by the first of `solvers` whose type the CA offers for it.
  awaitable<std::optional<Issued>> order(const Account& account, const std::vector<std::string>& names,
                                         const std::vector<ChallengeSolver>& solvers, std::string& error);

 private:
  struct Reply {
    int status = 0;
    std::string body;
    std::string location;
    std::vector<std::string> alternates;  // Link: <url>;rel="alternate"
    std::string error;  // transport error or the CA's problem ("" when the status is 2xx)
  };
  awaitable<bool> directory(std::string& error);
  awaitable<Reply> get(const std::string& url, const std::string& method);
  // A signed POST: with the account's URL as `kid`, or its `jwk` when it has none yet.
  // Retries once on badNonce. `payload` "" is POST-as-GET.
  awaitable<Reply> post(const Account& account, const std::string& url, const std::string& payload,
                        const std::string& accept = {});
  awaitable<std::string> nonce();
  // Polls `url` until its status is valid (nullopt when invalid or past the deadline); the
  // object's JSON text.
  awaitable<std::optional<std::string>> poll(const Account& account, const std::string& url,
                                             std::chrono::steady_clock::time_point deadline, std::string& error);
  // Answers one authorization (nothing to do when it is already valid).
  awaitable<bool> authorize(const Account& account, const std::string& authorizationUrl,
                            const std::vector<ChallengeSolver>& solvers, std::chrono::steady_clock::time_point deadline,
                            std::string& error);
  // The certificate chain at `url`, or the alternate whose top issuer is the preferred chain.
  awaitable<std::optional<std::string>> download(const Account& account, const std::string& url, std::string& error);

  asio::io_context& io_;
  Settings settings_;
  std::string newNonceUrl_, newAccountUrl_, newOrderUrl_;
  std::string nonce_;
};

}  // namespace causeway::clients::acme
