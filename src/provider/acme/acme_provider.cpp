#include "provider/acme/acme_provider.h"

#include <fcntl.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

#include "core/bytes.h"
#include "core/log.h"
#include "provider/acme/shared_store.h"
#include "tls/tls_store.h"

namespace causeway::provider {
namespace json = boost::json;

std::chrono::seconds renewBefore(int64_t durationHours) {
  using std::chrono::hours;
  if (durationHours >= 265 * 24) return hours(4 * 30 * 24);
  if (durationHours >= 3 * 30 * 24) return hours(30 * 24);
  if (durationHours >= 7 * 24) return hours(24);
  if (durationHours >= 24) return hours(6);
  return std::chrono::minutes(20);
}

namespace {

// How often the stored certificates are looked at for renewal (Traefik's second duration).
std::chrono::seconds checkInterval(int64_t durationHours) {
  using namespace std::chrono;
  if (durationHours >= 265 * 24) return duration_cast<seconds>(hours(24 * 7));
  if (durationHours >= 3 * 30 * 24) return duration_cast<seconds>(hours(24));
  if (durationHours >= 7 * 24) return duration_cast<seconds>(hours(1));
  if (durationHours >= 24) return duration_cast<seconds>(minutes(10));
  return duration_cast<seconds>(minutes(1));
}

std::string traefikKeyType(const std::string& keyType) {
  if (keyType == "EC256") return "P256";
  if (keyType == "EC384") return "P384";
  if (keyType == "RSA2048") return "2048";
  if (keyType == "RSA8192") return "8192";
  return "4096";
}

int64_t notAfter(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), int(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!cert) return 0;
  std::tm tm{};
  int64_t out = ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1 ? int64_t(timegm(&tm)) : 0;
  X509_free(cert);
  return out;
}

// The serial of a certificate as the TLS store (and so the API) shows it.
std::string serialOf(const std::string& certificatePem, const std::string& keyPem) {
  std::string ignored;
  tls::TlsCertificatePtr certificate = tls::certificateFromPem(certificatePem, keyPem, ignored);
  return certificate ? certificate->serial : std::string();
}

bool readFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream text;
  text << in.rdbuf();
  out = text.str();
  return true;
}

// A domain name of a stored certificate covers a wanted one exactly or as a one-label wildcard.
bool covers(const std::string& name, const std::string& wanted) {
  if (name == wanted) return true;
  size_t dot = wanted.find('.');
  return name.starts_with("*.") && dot != std::string::npos && wanted.substr(dot) == name.substr(1);
}

std::string describe(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace

AcmeProvider::AcmeProvider(const config::StaticConfig& config, std::shared_ptr<tls::AcmeState> state)
    : state_(std::move(state)) {
  for (const auto& [name, resolver] : config.certificatesResolvers)
    if (resolver.acme) resolvers_[name] = Resolver{name, *resolver.acme, {}, {}, {}, {}, nullptr, nullptr};
  // This replica's lock value: its host name and a random part.
  unsigned char random[8];
  RAND_bytes(random, sizeof random);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  owner_ = std::string(host) + "/" + std::to_string(::getpid()) + "/" + hexEncode(std::string_view(reinterpret_cast<char*>(random), sizeof random));
}

AcmeProvider::~AcmeProvider() { *alive_ = false; }

// acme.json's Account object, and back.
json::object AcmeProvider::accountEntry(const Resolver& resolver) {
  json::object account;
  account["Email"] = resolver.options.email;
  json::object registration;
  boost::system::error_code ec;
  json::value body = resolver.registration.empty() ? json::value(json::object()) : json::parse(resolver.registration, ec);
  registration["body"] = ec ? json::value(json::object()) : body;
  registration["uri"] = resolver.accountUrl;
  account["Registration"] = resolver.accountUrl.empty() ? json::value(nullptr) : json::value(registration);
  account["PrivateKey"] = base64Encode(resolver.accountKeyDer);
  account["KeyType"] = traefikKeyType(resolver.options.keyType);
  return account;
}

void AcmeProvider::readAccount(const json::object& account, Resolver& resolver) {
  if (auto* key = account.if_contains("PrivateKey"); key && key->is_string()) {
    std::string der;
    if (base64Decode(key->as_string(), der)) resolver.accountKeyDer = der;
  }
  if (auto* registration = account.if_contains("Registration"); registration && registration->is_object()) {
    if (auto* uri = registration->as_object().if_contains("uri"); uri && uri->is_string())
      resolver.accountUrl = std::string(uri->as_string());
    if (auto* body = registration->as_object().if_contains("body")) resolver.registration = json::serialize(*body);
  }
}

// One entry of acme.json's Certificates, and back (nullopt when incomplete).
json::object AcmeProvider::certificateEntry(const Stored& stored) {
  json::object domain;
  domain["main"] = stored.names.front();
  json::array sans;
  for (size_t i = 1; i < stored.names.size(); ++i) sans.emplace_back(stored.names[i]);
  if (!sans.empty()) domain["sans"] = std::move(sans);
  json::object c;
  c["domain"] = std::move(domain);
  c["certificate"] = base64Encode(stored.certificatePem);
  c["key"] = base64Encode(stored.keyPem);
  c["Store"] = "default";
  return c;
}

std::optional<AcmeProvider::Stored> AcmeProvider::readCertificate(const json::value& item) {
  if (!item.is_object()) return std::nullopt;
  const json::object& c = item.as_object();
  Stored stored;
  if (auto* domain = c.if_contains("domain"); domain && domain->is_object()) {
    if (auto* main = domain->as_object().if_contains("main"); main && main->is_string())
      stored.names.emplace_back(main->as_string());
    if (auto* sans = domain->as_object().if_contains("sans"); sans && sans->is_array())
      for (const auto& san : sans->as_array())
        if (san.is_string()) stored.names.emplace_back(san.as_string());
  }
  auto* certificate = c.if_contains("certificate");
  auto* key = c.if_contains("key");
  if (!certificate || !certificate->is_string() || !key || !key->is_string() || stored.names.empty()) return std::nullopt;
  if (!base64Decode(certificate->as_string(), stored.certificatePem) || !base64Decode(key->as_string(), stored.keyPem))
    return std::nullopt;
  stored.notAfter = notAfter(stored.certificatePem);
  stored.serial = serialOf(stored.certificatePem, stored.keyPem);
  return stored;
}

bool AcmeProvider::readStorage(Resolver& resolver, std::string& error) {
  const std::string& path = resolver.options.storage;
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return true;  // nothing stored yet
  if ((info.st_mode & 0077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%o", unsigned(info.st_mode & 0777));
    error = "permissions " + std::string(mode) + " for " + path + " are too open, please use 600";
    return false;
  }
  std::string text;
  if (!readFile(path, text)) {
    error = "cannot read " + path;
    return false;
  }
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return true;
  boost::system::error_code ec;
  json::value document = json::parse(text, ec);
  if (ec || !document.is_object()) {
    error = path + ": not a JSON object (" + (ec ? ec.message() : "another type") + ")";
    return false;
  }
  auto* entry = document.as_object().if_contains(resolver.name);
  if (!entry || !entry->is_object()) return true;
  const json::object& object = entry->as_object();
  if (auto* account = object.if_contains("Account"); account && account->is_object())
    readAccount(account->as_object(), resolver);
  if (auto* certificates = object.if_contains("Certificates"); certificates && certificates->is_array()) {
    for (const auto& item : certificates->as_array())
      if (std::optional<Stored> stored = readCertificate(item)) resolver.certificates.push_back(std::move(*stored));
  }
  return true;
}

bool AcmeProvider::writeStorage(const std::string& path, std::string& error) {
  // Read-modify-write: resolvers sharing the file keep each other's entries.
  json::object document;
  std::string text;
  if (readFile(path, text) && text.find_first_not_of(" \t\r\n") != std::string::npos) {
    boost::system::error_code ec;
    json::value parsed = json::parse(text, ec);
    if (!ec && parsed.is_object()) document = parsed.as_object();
  }
  for (const auto& [name, resolver] : resolvers_) {
    if (resolver.options.storage != path) continue;
    json::array certificates;
    for (const Stored& stored : resolver.certificates) certificates.push_back(certificateEntry(stored));
    json::object entry;
    entry["Account"] = accountEntry(resolver);
    entry["Certificates"] = std::move(certificates);
    document[name] = std::move(entry);
  }
  std::string out = json::serialize(document);
  std::string temporary = path + ".tmp";
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot write " + temporary + ": " + std::strerror(errno);
    return false;
  }
  bool ok = ::fchmod(fd, 0600) == 0 && ::write(fd, out.data(), out.size()) == ssize_t(out.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(temporary.c_str(), path.c_str()) != 0) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    ::unlink(temporary.c_str());
    return false;
  }
  return true;
}

ProviderConfig AcmeProvider::current() const {
  ProviderConfig config;
  config.provider = name_;
  config::Node certificates = config::Node::list();
  for (const auto& [name, resolver] : resolvers_)
    for (const Stored& stored : resolver.certificates) {
      config::Node entry = config::Node::map();
      entry.set("certFile", config::Node::scalar(stored.certificatePem));
      entry.set("keyFile", config::Node::scalar(stored.keyPem));
      certificates.append(std::move(entry));
    }
  config::Node tls = config::Node::map();
  tls.set("certificates", std::move(certificates));
  config.root = config::Node::map();
  config.root.set("tls", std::move(tls));
  for (const auto& [request, error] : errors_)
    if (!error.empty())
      config.notices.push_back({{}, "certificatesResolvers." + request.resolver,
                                "cannot obtain a certificate for " + describe(request.names) + ": " + error, true, false});
  // The notices count in the fingerprint: a new failure alone is delivered (as SourceWatch does).
  config.fingerprint = config::fingerprint(config.root);
  for (const config::ConfigError& notice : config.notices)
    config.fingerprint = config.fingerprint * 1099511628211ULL ^ std::hash<std::string>{}(notice.toString());
  return config;
}

LoadResult AcmeProvider::load() {
  LoadResult result;
  result.ok = true;
  for (auto& [name, resolver] : resolvers_) {
    std::string error;
    const config::Acme& options = resolver.options;
    if (!options.httpChallenge && !options.tlsChallenge && !options.dnsChallenge)
      result.errors.push_back({{}, "certificatesResolvers." + name,
                               "ACME challenge not specified, please select TLS or HTTP or DNS Challenge", true, false});
    if (options.dnsChallenge && config::implementedDnsProvider(options.dnsChallenge->provider)) {
      std::string dnsError;
      resolver.dns = DnsSolver::make(control_, *options.dnsChallenge, dnsError);
      if (!resolver.dns)
        result.errors.push_back({{}, "certificatesResolvers." + name + ".acme.dnsChallenge",
                                 dnsError + "; DNS-01 challenges cannot be answered", true, false});
    }
    if (!readStorage(resolver, error))
      result.errors.push_back({{}, "certificatesResolvers." + name, error + "; no certificate is read from it", true, false});
  }
  result.config = current();
  return result;
}

void AcmeProvider::watch(asio::io_context& control, ConfigSink sink) {
  control_ = &control;
  for (auto& [name, resolver] : resolvers_) {
    const auto& dns = resolver.options.dnsChallenge;
    std::string ignored;  // reported by load()
    if (dns && config::implementedDnsProvider(dns->provider)) resolver.dns = DnsSolver::make(control_, *dns, ignored);
    if (resolver.options.sharedStorage) {
      std::string error;
      resolver.shared = SharedStore::make(control, *resolver.options.sharedStorage, error);
      if (!resolver.shared)
        log::error("ACME shared storage cannot be used; this replica orders on its own",
                   {{"resolver", name}, {"error", error}});
    }
  }
  sink_ = std::move(sink);
  wake_ = std::make_unique<asio::steady_timer>(control);
}

const AcmeProvider::Stored* AcmeProvider::covering(const Resolver& resolver, const std::vector<std::string>& names) const {
  const int64_t now = std::time(nullptr);
  const int64_t renew = std::chrono::duration_cast<std::chrono::seconds>(renewBefore(resolver.options.certificatesDuration)).count();
  for (const Stored& stored : resolver.certificates) {
    if (stored.notAfter != 0 && stored.notAfter - renew <= now) continue;  // due for renewal
    bool all = true;
    for (const std::string& wanted : names) {
      bool one = false;
      for (const std::string& name : stored.names) one = one || covers(name, wanted);
      all = all && one;
    }
    if (all) return &stored;
  }
  return nullptr;
}

void AcmeProvider::request(std::vector<CertificateRequest> wanted) {
  std::set<CertificateRequest> next;
  for (auto& request : wanted)
    if (resolvers_.count(request.resolver) && !request.names.empty()) next.insert(std::move(request));
  wanted_ = std::move(next);
  for (auto it = errors_.begin(); it != errors_.end();)
    it = wanted_.count(it->first) ? std::next(it) : errors_.erase(it);
  publishOrders();
  if (!control_ || working_) return;
  working_ = true;
  asio::co_spawn(*control_, work(), asio::detached);
}

awaitable<void> AcmeProvider::work() {
  std::shared_ptr<bool> alive = alive_;
  while (*alive) {
    auto now = std::chrono::steady_clock::now();
    const CertificateRequest* next = nullptr;
    auto soonest = now + std::chrono::hours(24);
    for (const CertificateRequest& request : wanted_) {
      const Resolver& resolver = resolvers_.at(request.resolver);
      auto retry = retryAt_.find(request);
      if (const Stored* stored = covering(resolver, request.names)) {
        // Looked at again when it falls due for renewal, or at Traefik's check interval.
        auto renew = renewBefore(resolver.options.certificatesDuration);
        auto due = std::chrono::seconds(std::max<int64_t>(1, stored->notAfter - renew.count() - std::time(nullptr)));
        soonest = std::min({soonest, now + checkInterval(resolver.options.certificatesDuration), now + due});
        continue;
      }
      if (retry != retryAt_.end() && retry->second > now) {
        soonest = std::min(soonest, retry->second);
        continue;
      }
      next = &request;
      break;
    }
    if (!next) {
      // Nothing to do now: wait for the next retry or renewal check, or a new request.
      working_ = false;
      if (wanted_.empty()) co_return;
      wake_->expires_at(soonest);
      auto [ec] = co_await wake_->async_wait(nothrow);
      if (ec || !*alive || working_) co_return;
      working_ = true;
      continue;
    }
    CertificateRequest request = *next;
    std::string error;
    Resolver& resolver = resolvers_.at(request.resolver);
    Outcome outcome = co_await obtain(resolver, request, error);
    if (!*alive) co_return;
    if (outcome == Outcome::Waiting) {
      // Another replica holds the lock: look again soon (its challenges are answered here).
      retryAt_[request] = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    } else if (outcome == Outcome::Obtained) {
      errors_.erase(request);
      retryAt_.erase(request);
      backoff_.erase(request);
      log::info("ACME certificate obtained", {{"resolver", request.resolver}, {"domains", describe(request.names)}});
      if (!covering(resolver, request.names)) {
        // Issued for less than the renewal window: renewing at once would loop; wait a check.
        retryAt_[request] = std::chrono::steady_clock::now() + checkInterval(resolver.options.certificatesDuration);
        log::warn("the CA issued a certificate that is already due for renewal; check certificatesDuration",
                  {{"resolver", request.resolver}, {"domains", describe(request.names)}});
      }
    } else {
      auto& delay = backoff_[request];
      delay = delay.count() == 0 ? std::chrono::seconds(60) : std::min(delay * 2, std::chrono::seconds(3600));
      retryAt_[request] = std::chrono::steady_clock::now() + delay;
      errors_[request] = error;
      log::error("ACME certificate not obtained", {{"resolver", request.resolver}, {"domains", describe(request.names)},
                                                   {"error", error}, {"retryInSeconds", int64_t(delay.count())}});
    }
    publishOrders();
    if (sink_) sink_(current());
  }
}

std::string AcmeProvider::sharedKey(const Resolver& resolver, const std::string& rest) const {
  return resolver.options.sharedStorage->prefix + "/" + resolver.name + "/" + rest;
}

awaitable<bool> AcmeProvider::pullShared(Resolver& resolver, bool& changed, std::string& error) {
  const std::string base = sharedKey(resolver, "");
  std::optional<SharedStore::Pairs> pairs = co_await resolver.shared->list(base, error);
  if (!pairs) co_return false;
  std::set<std::string> challenges;
  for (const auto& [key, value] : *pairs) {
    std::string_view rest = std::string_view(key).substr(base.size());
    boost::system::error_code ec;
    json::value parsed = json::parse(value, ec);
    if (ec || !parsed.is_object()) continue;
    if (rest == "account") {
      if (resolver.accountUrl.empty()) readAccount(parsed.as_object(), resolver);
    } else if (rest.starts_with("certificates/")) {
      std::optional<Stored> stored = readCertificate(parsed);
      if (!stored) continue;
      auto same = std::find_if(resolver.certificates.begin(), resolver.certificates.end(),
                               [&](const Stored& s) { return s.names == stored->names; });
      if (same != resolver.certificates.end() && same->notAfter >= stored->notAfter) continue;
      if (same != resolver.certificates.end()) *same = std::move(*stored);
      else resolver.certificates.push_back(std::move(*stored));
      changed = true;
    } else if (rest.starts_with("challenges/")) {
      // Another replica's challenge: answered here too, the CA may reach any replica.
      const json::object& c = parsed.as_object();
      auto text = [&](const char* name) {
        const json::value* v = c.if_contains(name);
        return v && v->is_string() ? std::string(v->as_string()) : std::string();
      };
      std::string type = text("type"), domain = text("domain"), token = text("token"), answer = text("keyAuthorization");
      challenges.insert(key);
      if (sharedChallenges_.count(key)) continue;
      if (type == "http-01") {
        state_->publish(token, answer);
      } else if (type == "tls-alpn-01") {
        auto [certificatePem, keyPem] = clients::acme::tlsAlpnCertificate(domain, answer);
        std::string ignored;
        if (tls::TlsCertificatePtr certificate = tls::certificateFromPem(certificatePem, keyPem, ignored))
          state_->publishTlsAlpn(domain, std::move(certificate));
      }
      sharedChallenges_[key] = {type, domain, token};
    }
  }
  // The challenges gone from the store are withdrawn here too.
  for (auto it = sharedChallenges_.begin(); it != sharedChallenges_.end();) {
    if (challenges.count(it->first) || !it->first.starts_with(base)) {
      ++it;
      continue;
    }
    if (it->second.type == "http-01") state_->withdraw(it->second.token);
    else state_->withdrawTlsAlpn(it->second.domain);
    it = sharedChallenges_.erase(it);
  }
  if (changed) {
    std::string storageError;
    if (!writeStorage(resolver.options.storage, storageError)) log::error("ACME storage", {{"error", storageError}});
  }
  co_return true;
}

awaitable<AcmeProvider::Outcome> AcmeProvider::obtain(Resolver& resolver, const CertificateRequest& request,
                                                      std::string& error) {
  if (!resolver.shared) co_return co_await order(resolver, request, error) ? Outcome::Obtained : Outcome::Failed;
  // What another replica stored may cover it already.
  bool changed = false;
  if (!co_await pullShared(resolver, changed, error)) co_return Outcome::Failed;
  if (covering(resolver, request.names)) co_return Outcome::Obtained;
  const std::string lock = sharedKey(resolver, "locks/" + describe(request.names));
  const auto ttl = std::chrono::duration_cast<std::chrono::seconds>(resolver.options.sharedStorage->lockTTL.value);
  std::optional<bool> taken = co_await resolver.shared->tryLock(lock, owner_, ttl, error);
  if (!taken) co_return Outcome::Failed;
  if (!*taken) co_return Outcome::Waiting;  // another replica orders it; its challenges are answered here
  bool ok = co_await pullShared(resolver, changed, error);  // stored between the first look and the lock
  if (ok && !covering(resolver, request.names)) {
    ok = co_await order(resolver, request, error);
    if (ok) {
      auto stored = std::find_if(resolver.certificates.begin(), resolver.certificates.end(),
                                 [&](const Stored& s) { return s.names == request.names; });
      const std::string key = sharedKey(resolver, "certificates/" + describe(request.names));
      const std::string value = json::serialize(certificateEntry(*stored));
      std::string storeError;
      if (!co_await resolver.shared->put(key, value, storeError))
        log::error("ACME shared storage: the certificate is not shared", {{"error", storeError}});
    }
  }
  co_await resolver.shared->unlock(lock, owner_);
  co_return ok ? Outcome::Obtained : Outcome::Failed;
}

awaitable<bool> AcmeProvider::order(Resolver& resolver, const CertificateRequest& request, std::string& error) {
  const config::Acme& options = resolver.options;
  std::vector<clients::acme::ChallengeSolver> answers = solvers(resolver);
  if (answers.empty()) {
    error = options.httpChallenge || options.tlsChallenge || options.dnsChallenge
                ? "this resolver's dnsChallenge cannot be used (see the warnings) and it has no other challenge"
                : "ACME challenge not specified, please select TLS or HTTP or DNS Challenge";
    co_return false;
  }
  for (const std::string& name : request.names)
    if (name.starts_with("*.") && !resolver.dns) {
      error = "unable to generate a wildcard certificate for " + name + ": ACME needs a DNSChallenge";
      co_return false;
    }
  clients::acme::Settings settings;
  settings.directoryUrl = options.caServer;
  for (const std::string& ca : options.caCertificates) {
    std::string pem;
    if (ca.find("-----BEGIN") != std::string::npos) pem = ca;
    else if (!readFile(ca, pem)) {
      error = "cannot read caCertificates file " + ca;
      co_return false;
    }
    settings.tls.ca += pem + "\n";
  }
  settings.requestTimeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.clientResponseHeaderTimeout.value);
  settings.orderTimeout = std::chrono::duration_cast<std::chrono::milliseconds>(options.clientTimeout.value);
  settings.email = options.email;
  settings.keyType = options.keyType;
  settings.disableCommonName = options.disableCommonName;
  settings.preferredChain = options.preferredChain;
  if (options.eab) {
    settings.eabKid = options.eab->kid;
    if (!base64UrlDecode(options.eab->hmacEncoded, settings.eabMacKey)) {
      error = "eab.hmacEncoded is not base64url";
      co_return false;
    }
  }
  clients::acme::Client client(*control_, settings);
  clients::acme::Account account;
  if (!resolver.accountKeyDer.empty()) account.key = clients::acme::accountKeyFromDer(resolver.accountKeyDer);
  if (!account.key) {
    // Traefik's account keys are RSA 4096 (PKCS#1 in acme.json).
    account.key = clients::acme::generateKey("RSA4096");
    resolver.accountKeyDer = clients::acme::accountKeyDer(account.key.get());
    resolver.accountUrl.clear();
  }
  account.url = resolver.accountUrl;
  if (account.url.empty()) {
    if (!co_await client.registerAccount(account, error)) co_return false;
    resolver.accountUrl = account.url;
    resolver.registration = account.registration;
    std::string storageError;
    if (!writeStorage(options.storage, storageError)) log::error("ACME storage", {{"error", storageError}});
    if (resolver.shared) {
      const std::string key = sharedKey(resolver, "account");
      const std::string value = json::serialize(accountEntry(resolver));
      if (!co_await resolver.shared->put(key, value, storageError))
        log::error("ACME shared storage: the account is not shared", {{"error", storageError}});
    }
  }
  std::optional<clients::acme::Issued> issued = co_await client.order(account, request.names, answers, error);
  if (!issued) co_return false;
  Stored stored;
  stored.names = request.names;
  stored.certificatePem = std::move(issued->certificatePem);
  stored.keyPem = std::move(issued->keyPem);
  stored.notAfter = notAfter(stored.certificatePem);
  stored.serial = serialOf(stored.certificatePem, stored.keyPem);
  // The new certificate replaces one for the same names (a renewal).
  std::erase_if(resolver.certificates, [&](const Stored& s) { return s.names == stored.names; });
  resolver.certificates.push_back(std::move(stored));
  std::string storageError;
  if (!writeStorage(options.storage, storageError)) log::error("ACME storage", {{"error", storageError}});
  co_return true;
}

std::vector<clients::acme::ChallengeSolver> AcmeProvider::solvers(Resolver& resolver) {
  using clients::acme::Challenge;
  std::vector<clients::acme::ChallengeSolver> out;
  std::shared_ptr<tls::AcmeState> state = state_;
  // HTTP-01 and TLS-ALPN-01 answers are also put in the shared store, for the replicas the
  // CA may reach instead of this one; they look every second, so the CA is told 2 s later.
  SharedStore* shared = resolver.shared.get();
  const std::string prefix = shared ? sharedKey(resolver, "challenges/") : std::string();
  asio::io_context* io = control_;
  auto share = [shared, prefix, io](const Challenge& challenge, std::chrono::nanoseconds delay,
                                    std::string& error) -> awaitable<bool> {
    if (shared) {
      json::object entry{{"type", challenge.type}, {"domain", challenge.domain}, {"token", challenge.token},
                         {"keyAuthorization", challenge.keyAuthorization}};
      const std::string key = prefix + challenge.type + "-" + challenge.token, value = json::serialize(entry);
      if (!co_await shared->put(key, value, error)) co_return false;
      delay = std::max<std::chrono::nanoseconds>(delay, std::chrono::seconds(2));
    }
    if (delay.count() > 0) {
      asio::steady_timer timer(*io);
      timer.expires_after(delay);
      co_await timer.async_wait(nothrow);
    }
    co_return true;
  };
  auto unshare = [shared, prefix](const Challenge& challenge) -> awaitable<void> {
    std::string ignored;
    const std::string key = prefix + challenge.type + "-" + challenge.token;
    if (shared) co_await shared->remove(key, ignored);
  };
  const auto tlsDelay = resolver.options.tlsChallenge ? resolver.options.tlsChallenge->delay.value : std::chrono::nanoseconds();
  const auto httpDelay = resolver.options.httpChallenge ? resolver.options.httpChallenge->delay.value : std::chrono::nanoseconds();
  if (resolver.options.tlsChallenge)
    out.push_back({"tls-alpn-01",
                   [state, share, tlsDelay](const Challenge& challenge, std::string& error) -> awaitable<bool> {
                     auto [certificatePem, keyPem] = clients::acme::tlsAlpnCertificate(challenge.domain, challenge.keyAuthorization);
                     tls::TlsCertificatePtr certificate = tls::certificateFromPem(certificatePem, keyPem, error);
                     if (!certificate) co_return false;
                     state->publishTlsAlpn(challenge.domain, std::move(certificate));
                     co_return co_await share(challenge, tlsDelay, error);
                   },
                   [state, unshare](const Challenge& challenge) -> awaitable<void> {
                     state->withdrawTlsAlpn(challenge.domain);
                     co_await unshare(challenge);
                   }});
  if (resolver.options.httpChallenge)
    out.push_back({"http-01",
                   [state, share, httpDelay](const Challenge& challenge, std::string& error) -> awaitable<bool> {
                     state->publish(challenge.token, challenge.keyAuthorization);
                     co_return co_await share(challenge, httpDelay, error);
                   },
                   [state, unshare](const Challenge& challenge) -> awaitable<void> {
                     state->withdraw(challenge.token);
                     co_await unshare(challenge);
                   }});
  if (resolver.dns) {
    DnsSolver* dns = resolver.dns.get();
    out.push_back({"dns-01",
                   [dns](const Challenge& challenge, std::string& error) -> awaitable<bool> {
                     co_return co_await dns->present(challenge, error);
                   },
                   [dns](const Challenge& challenge) -> awaitable<void> { co_await dns->cleanUp(challenge); }});
  }
  return out;
}

void AcmeProvider::publishOrders() {
  std::vector<tls::AcmeOrderStatus> orders;
  const auto steadyNow = std::chrono::steady_clock::now();
  const int64_t now = std::time(nullptr);
  for (const CertificateRequest& request : wanted_) {
    tls::AcmeOrderStatus order;
    order.resolver = request.resolver;
    order.names = request.names;
    const Resolver& resolver = resolvers_.at(request.resolver);
    const Stored* held = covering(resolver, request.names);
    if (!held)  // one due for renewal still serves
      for (const Stored& stored : resolver.certificates)
        if (stored.names == request.names) held = &stored;
    if (held) order.serial = held->serial;
    if (auto error = errors_.find(request); error != errors_.end()) order.lastError = error->second;
    if (auto retry = retryAt_.find(request); retry != retryAt_.end())
      order.nextAttempt = now + std::chrono::duration_cast<std::chrono::seconds>(retry->second - steadyNow).count();
    else if (held && held->notAfter)
      order.nextAttempt = held->notAfter - renewBefore(resolver.options.certificatesDuration).count();
    orders.push_back(std::move(order));
  }
  state_->setOrders(std::move(orders));
}

}  // namespace causeway::provider
