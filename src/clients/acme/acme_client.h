// An ACME client (RFC 8555) for Traefik's certificate resolvers (docs/acme.md): the
// directory, nonces, account registration (with external account binding), orders, the
// HTTP-01 challenge, finalization with a CSR and the certificate download. One request at a
// time over the control plane's HTTP client (clients/http); every call has the settings'
// timeout and the whole order `certificateTimeout`.
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

// Publishing an HTTP-01 answer: token → key authorization, served at
// /.well-known/acme-challenge/<token> while the CA validates.
struct ChallengeHooks {
  std::function<void(const std::string& token, const std::string& keyAuthorization)> publish;
  std::function<void(const std::string& token)> unpublish;
};

class Client {
 public:
  Client(asio::io_context& io, Settings settings) : io_(io), settings_(std::move(settings)) {}

  // Registers `account` (whose key is set) when it has no URL yet; false with `error`.
  awaitable<bool> registerAccount(Account& account, std::string& error);
  // Orders a certificate for `names` (the first is the main domain).
  awaitable<std::optional<Issued>> order(const Account& account, const std::vector<std::string>& names,
                                         const ChallengeHooks& hooks, std::string& error);

 private:
  struct Reply {
    int status = 0;
    std::string body;
    std::string location;
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

  asio::io_context& io_;
  Settings settings_;
  std::string newNonceUrl_, newAccountUrl_, newOrderUrl_;
  std::string nonce_;
};

}  // namespace causeway::clients::acme
