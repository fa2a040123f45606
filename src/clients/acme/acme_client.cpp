#include "clients/acme/acme_client.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/json.hpp>

#include "core/bytes.h"
#include "core/log.h"

namespace causeway::clients::acme {
namespace json = boost::json;

namespace {

constexpr int64_t kMaxBody = 1 << 20;

std::string quoted(std::string_view text) { return json::serialize(json::string(text)); }

std::string field(const json::value& value, std::string_view key) {
  if (!value.is_object()) return {};
  auto it = value.as_object().find(key);
  return it != value.as_object().end() && it->value().is_string() ? std::string(it->value().as_string()) : std::string();
}

json::value parse(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  return ec ? json::value() : value;
}

// "type: detail" of an RFC 7807 problem, or the status and body's start.
std::string problem(int status, std::string_view body) {
  json::value document = parse(body);
  std::string type = field(document, "type"), detail = field(document, "detail");
  if (!type.empty()) return type + (detail.empty() ? "" : ": " + detail);
  return "HTTP " + std::to_string(status) + ": " + std::string(body.substr(0, 200));
}

// The URLs of Link: <url>;rel="alternate" headers (one header may list several links).
std::vector<std::string> alternates(const http::Answer& answer) {
  std::vector<std::string> out;
  for (const auto& [name, value] : answer.headers) {
    if (!boost::iequals(name, "Link")) continue;
    std::string_view rest = value;
    while (true) {
      size_t open = rest.find('<'), close = rest.find('>', open);
      if (open == std::string_view::npos || close == std::string_view::npos) break;
      std::string_view url = rest.substr(open + 1, close - open - 1);
      size_t next = rest.find('<', close);
      std::string_view params = rest.substr(close + 1, next == std::string_view::npos ? next : next - close - 1);
      if (params.find("rel=\"alternate\"") != std::string_view::npos || params.find("rel=alternate") != std::string_view::npos)
        out.emplace_back(url);
      if (next == std::string_view::npos) break;
      rest = rest.substr(next);
    }
  }
  return out;
}

// The common name of the issuer of the last certificate of a PEM chain ("" when none).
std::string topIssuer(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  X509* last = nullptr;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (last) X509_free(last);
    last = cert;
  }
  ERR_clear_error();
  BIO_free(bio);
  if (!last) return {};
  std::string out;
  X509_NAME* issuer = X509_get_issuer_name(last);
  int index = X509_NAME_get_index_by_NID(issuer, NID_commonName, -1);
  if (index >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(issuer, index));
    unsigned char* text = nullptr;
    int length = ASN1_STRING_to_UTF8(&text, data);
    if (length > 0) out.assign(reinterpret_cast<char*>(text), size_t(length));
    OPENSSL_free(text);
  }
  X509_free(last);
  return out;
}

}  // namespace

awaitable<Client::Reply> Client::get(const std::string& url, const std::string& method) {
  Reply reply;
  http::Endpoint endpoint;
  std::string error;
  if (!http::parseEndpoint(url, &settings_.tls, endpoint, error)) {
    reply.error = "bad URL " + url + ": " + error;
    co_return reply;
  }
  http::Request request;
  request.method = method;
  request.target = endpoint.target;  // the whole path: nothing is prefixed
  endpoint.basePath.clear();
  request.headers.emplace_back("User-Agent", "causeway-acme");
  http::Answer answer = co_await http::fetch(io_, endpoint, request, settings_.requestTimeout, kMaxBody);
  reply.status = answer.status;
  reply.body = std::move(answer.body);
  reply.location = std::string(answer.header("Location"));
  reply.alternates = alternates(answer);
  if (std::string_view nonce = answer.header("Replay-Nonce"); !nonce.empty()) nonce_ = std::string(nonce);
  if (answer.status == 0) reply.error = url + ": " + answer.error;
  else if (answer.status >= 300) reply.error = problem(answer.status, reply.body);
  co_return reply;
}

awaitable<bool> Client::directory(std::string& error) {
  if (!newOrderUrl_.empty()) co_return true;
  const std::string method = "GET";
  Reply reply = co_await get(settings_.directoryUrl, method);
  if (!reply.error.empty()) {
    // A transport error names the URL already.
    error = "ACME directory " + (reply.status == 0 ? reply.error : settings_.directoryUrl + ": " + reply.error);
    co_return false;
  }
  json::value document = parse(reply.body);
  newNonceUrl_ = field(document, "newNonce");
  newAccountUrl_ = field(document, "newAccount");
  newOrderUrl_ = field(document, "newOrder");
  if (newNonceUrl_.empty() || newAccountUrl_.empty() || newOrderUrl_.empty()) {
    error = "ACME directory " + settings_.directoryUrl + ": not an ACME directory (newNonce, newAccount, newOrder)";
    newOrderUrl_.clear();
    co_return false;
  }
  co_return true;
}

awaitable<std::string> Client::nonce() {
  if (nonce_.empty()) {
    const std::string method = "HEAD";
    co_await get(newNonceUrl_, method);
  }
  std::string out = std::move(nonce_);
  nonce_.clear();
  co_return out;
}

awaitable<Client::Reply> Client::post(const Account& account, const std::string& url, const std::string& payload,
                                      const std::string& accept) {
  Reply reply;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::string nonceValue = co_await nonce();
    if (nonceValue.empty()) {
      reply.error = "no nonce from " + newNonceUrl_;
      co_return reply;
    }
    std::string header = R"({"alg":")" + jwsAlgorithm(account.key.get()) + "\"," +
                         (account.url.empty() ? R"("jwk":)" + jwk(account.key.get())
                                              : R"("kid":)" + quoted(account.url)) +
                         R"(,"nonce":)" + quoted(nonceValue) + R"(,"url":)" + quoted(url) + "}";
    std::string body = signJws(account.key.get(), header, payload);
    if (body.empty()) {
      reply.error = "cannot sign the request";
      co_return reply;
    }
    http::Endpoint endpoint;
    std::string error;
    if (!http::parseEndpoint(url, &settings_.tls, endpoint, error)) {
      reply.error = "bad URL " + url + ": " + error;
      co_return reply;
    }
    http::Request request;
    request.method = "POST";
    request.target = endpoint.target;  // the whole path: nothing is prefixed
    endpoint.basePath.clear();
    request.headers.emplace_back("Content-Type", "application/jose+json");
    request.headers.emplace_back("User-Agent", "causeway-acme");
    if (!accept.empty()) request.headers.emplace_back("Accept", accept);
    request.body = std::move(body);
    http::Answer answer = co_await http::fetch(io_, endpoint, request, settings_.requestTimeout, kMaxBody);
    if (std::string_view next = answer.header("Replay-Nonce"); !next.empty()) nonce_ = std::string(next);
    reply = Reply();
    reply.status = answer.status;
    reply.body = std::move(answer.body);
    reply.location = std::string(answer.header("Location"));
    reply.alternates = alternates(answer);
    if (answer.status == 0) {
      reply.error = url + ": " + answer.error;
      co_return reply;
    }
    if (answer.status < 300) co_return reply;
    reply.error = problem(answer.status, reply.body);
    if (field(parse(reply.body), "type") != "urn:ietf:params:acme:error:badNonce") co_return reply;
  }
  co_return reply;
}

awaitable<bool> Client::registerAccount(Account& account, std::string& error) {
  if (!co_await directory(error)) co_return false;
  if (!account.url.empty()) co_return true;
  std::string payload = R"({"termsOfServiceAgreed":true)";
  if (!settings_.email.empty()) payload += R"(,"contact":[)" + quoted("mailto:" + settings_.email) + "]";
  if (!settings_.eabKid.empty()) {
    // The account key, signed with the CA's MAC key (RFC 8555 §7.3.4).
    std::string header = R"({"alg":"HS256","kid":)" + quoted(settings_.eabKid) + R"(,"url":)" +
                         quoted(newAccountUrl_) + "}";
    payload += R"(,"externalAccountBinding":)" + signHmacJws(settings_.eabMacKey, header, jwk(account.key.get()));
  }
  payload += "}";
  Reply reply = co_await post(account, newAccountUrl_, payload);  // payload: a local
  if (!reply.error.empty() || reply.location.empty()) {
    error = "registering the ACME account: " + (reply.error.empty() ? "no account URL in the answer" : reply.error);
    co_return false;
  }
  account.url = reply.location;
  account.registration = reply.body;
  co_return true;
}

awaitable<std::optional<std::string>> Client::poll(const Account& account, const std::string& url,
                                                   std::chrono::steady_clock::time_point deadline, std::string& error) {
  asio::steady_timer timer(io_);
  const std::string asGet;
  while (true) {
    Reply reply = co_await post(account, url, asGet);
    if (!reply.error.empty()) {
      error = reply.error;
      co_return std::nullopt;
    }
    json::value object = parse(reply.body);
    std::string status = field(object, "status");
    if (status == "valid") co_return reply.body;
    if (status == "invalid") {
      // The first failed challenge's error says why.
      std::string why;
      if (object.is_object())
        if (auto* challenges = object.as_object().if_contains("challenges"); challenges && challenges->is_array())
          for (const auto& challenge : challenges->as_array())
            if (challenge.is_object())
              if (auto* problemValue = challenge.as_object().if_contains("error"))
                why = field(*problemValue, "type") + ": " + field(*problemValue, "detail");
      if (why.empty())
        if (auto* problemValue = object.is_object() ? object.as_object().if_contains("error") : nullptr)
          why = field(*problemValue, "type") + ": " + field(*problemValue, "detail");
      error = url + " is invalid" + (why.empty() ? "" : ": " + why);
      co_return std::nullopt;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      error = url + ": still " + status + " when the certificate timeout passed";
      co_return std::nullopt;
    }
    timer.expires_after(std::chrono::milliseconds(500));
    co_await timer.async_wait(nothrow);
  }
}

awaitable<bool> Client::authorize(const Account& account, const std::string& authorizationUrl,
                                  const std::vector<ChallengeSolver>& solvers,
                                  std::chrono::steady_clock::time_point deadline, std::string& error) {
  const std::string asGet, empty = "{}";
  Reply got = co_await post(account, authorizationUrl, asGet);
  if (!got.error.empty()) {
    error = "authorization: " + got.error;
    co_return false;
  }
  json::value authorization = parse(got.body);
  if (field(authorization, "status") == "valid") co_return true;  // reused
  Challenge challenge;
  challenge.domain = authorization.is_object() && authorization.as_object().contains("identifier")
                         ? field(authorization.as_object().at("identifier"), "value")
                         : std::string();
  if (auto* wildcard = authorization.is_object() ? authorization.as_object().if_contains("wildcard") : nullptr)
    challenge.wildcard = wildcard->is_bool() && wildcard->as_bool();
  const ChallengeSolver* solver = nullptr;
  std::string challengeUrl, offered;
  if (authorization.is_object())
    if (auto* list = authorization.as_object().if_contains("challenges"); list && list->is_array())
      for (const ChallengeSolver& candidate : solvers) {
        for (const auto& item : list->as_array()) {
          if (field(item, "type") != candidate.type) continue;
          solver = &candidate;
          challengeUrl = field(item, "url");
          challenge.type = candidate.type;
          challenge.token = field(item, "token");
        }
        if (solver) break;
      }
  if (!solver || challengeUrl.empty() || challenge.token.empty()) {
    std::string mine;
    for (const ChallengeSolver& candidate : solvers) mine += (mine.empty() ? "" : ", ") + candidate.type;
    error = "the CA offers none of this resolver's challenges (" + mine + ") for " +
            (challenge.wildcard ? "*." : "") + challenge.domain +
            (challenge.wildcard ? " (a wildcard needs dnsChallenge)" : "");
    co_return false;
  }
  challenge.keyAuthorization = challenge.token + "." + thumbprint(account.key.get());
  std::string presentError;
  if (!co_await solver->present(challenge, presentError)) {
    co_await solver->cleanUp(challenge);
    error = "answering the " + challenge.type + " challenge for " + challenge.domain + ": " + presentError;
    co_return false;
  }
  Reply started = co_await post(account, challengeUrl, empty);
  std::optional<std::string> validated;
  if (started.error.empty())
    validated = co_await poll(account, authorizationUrl, deadline, error);
  else
    error = started.error;
  co_await solver->cleanUp(challenge);
  if (!validated) {
    error = "validating " + challenge.domain + " (" + challenge.type + "): " + error;
    co_return false;
  }
  co_return true;
}

awaitable<std::optional<std::string>> Client::download(const Account& account, const std::string& url,
                                                       std::string& error) {
  const std::string asGet, pemChain = "application/pem-certificate-chain";
  Reply reply = co_await post(account, url, asGet, pemChain);
  if (!reply.error.empty() || reply.body.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    error = "downloading the certificate: " + (reply.error.empty() ? "not a PEM chain" : reply.error);
    co_return std::nullopt;
  }
  if (settings_.preferredChain.empty() || topIssuer(reply.body) == settings_.preferredChain) co_return reply.body;
  // The alternates in the CA's order; the first whose top issuer matches wins, else the default.
  for (const std::string& alternate : reply.alternates) {
    Reply other = co_await post(account, alternate, asGet, pemChain);
    if (other.error.empty() && topIssuer(other.body) == settings_.preferredChain) co_return other.body;
  }
  co_return reply.body;
}

awaitable<std::optional<Issued>> Client::order(const Account& account, const std::vector<std::string>& names,
                                               const std::vector<ChallengeSolver>& solvers, std::string& error) {
  if (!co_await directory(error)) co_return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + settings_.orderTimeout;
  std::string identifiers;
  for (const std::string& name : names)
    identifiers += (identifiers.empty() ? "" : ",") + std::string(R"({"type":"dns","value":)") + quoted(name) + "}";
  const std::string newOrder = R"({"identifiers":[)" + identifiers + "]}";
  Reply created = co_await post(account, newOrderUrl_, newOrder);
  if (!created.error.empty() || created.location.empty()) {
    error = "new order: " + (created.error.empty() ? "no order URL" : created.error);
    co_return std::nullopt;
  }
  std::string orderUrl = created.location;
  json::value orderObject = parse(created.body);
  std::vector<std::string> authorizations;
  if (orderObject.is_object())
    if (auto* list = orderObject.as_object().if_contains("authorizations"); list && list->is_array())
      for (const auto& url : list->as_array())
        if (url.is_string()) authorizations.emplace_back(url.as_string());
  std::string finalizeUrl = field(orderObject, "finalize");
  for (const std::string& authorizationUrl : authorizations)
    if (!co_await authorize(account, authorizationUrl, solvers, deadline, error)) co_return std::nullopt;

  Key certificateKey = generateKey(settings_.keyType);
  if (!certificateKey) {
    error = "cannot generate a " + settings_.keyType + " key";
    co_return std::nullopt;
  }
  std::string csr = certificateRequest(certificateKey.get(), names, settings_.disableCommonName);
  if (csr.empty()) {
    error = "cannot build the certificate request";
    co_return std::nullopt;
  }
  const std::string finalize = R"({"csr":")" + base64UrlEncode(csr) + "\"}";
  Reply finalized = co_await post(account, finalizeUrl, finalize);
  if (!finalized.error.empty()) {
    error = "finalizing the order: " + finalized.error;
    co_return std::nullopt;
  }
  std::optional<std::string> ready = co_await poll(account, orderUrl, deadline, error);
  if (!ready) {
    error = "the order: " + error;
    co_return std::nullopt;
  }
  const std::string certificateUrl = field(parse(*ready), "certificate");
  std::optional<std::string> chain = co_await download(account, certificateUrl, error);
  if (!chain) co_return std::nullopt;
  Issued issued;
  issued.certificatePem = std::move(*chain);
  issued.keyPem = privateKeyPem(certificateKey.get());
  co_return issued;
}

}  // namespace causeway::clients::acme
