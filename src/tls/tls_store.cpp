#include "tls/tls_store.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <array>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

#include "core/strings.h"

namespace causeway::tls {
namespace {

std::string lastOpensslError() {
  unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

bool isInlinePem(std::string_view value) { return value.find("-----BEGIN") != std::string_view::npos; }

bool readText(const std::string& path, std::string& out, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read " + path;
    return false;
  }
  std::ostringstream buffer;
  buffer << in.rdbuf();
  out = buffer.str();
  return true;
}

std::string fileSignature(const std::string& value) {
  if (isInlinePem(value)) return "pem:" + std::to_string(std::hash<std::string>{}(value));
  struct stat st{};
  if (::stat(value.c_str(), &st) != 0) return "missing:" + value;
  return value + ":" + std::to_string(st.st_ino) + ":" + std::to_string(st.st_size) + ":" +
         std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + ":" +
         std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec);
}

int64_t toUnix(const ASN1_TIME* time) {
  std::tm tm{};
  if (!time || ASN1_TIME_to_tm(time, &tm) != 1) return 0;
  return int64_t(timegm(&tm));
}

void describeCertificate(TlsCertificate& c) {
  char cn[256] = {};
  if (X509_NAME* subject = X509_get_subject_name(c.cert))
    X509_NAME_get_text_by_NID(subject, NID_commonName, cn, sizeof cn - 1);
  c.commonName = cn;
  if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c.cert), nullptr)) {
    if (char* hex = BN_bn2hex(bn)) {
      c.serial = toLower(hex);
      OPENSSL_free(hex);
    }
    BN_free(bn);
  }
  c.notBefore = toUnix(X509_get0_notBefore(c.cert));
  c.notAfter = toUnix(X509_get0_notAfter(c.cert));
  if (X509_NAME* issuer = X509_get_issuer_name(c.cert)) {
    char text[256] = {};
    if (X509_NAME_get_text_by_NID(issuer, NID_commonName, text, sizeof text - 1) > 0) {
      c.issuer = text;
    } else if (char* line = X509_NAME_oneline(issuer, nullptr, 0)) {
      c.issuer = line;
      OPENSSL_free(line);
    }
  }
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(c.cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, i);
      if (name->type == GEN_DNS) {
        const unsigned char* data = ASN1_STRING_get0_data(name->d.dNSName);
        c.names.push_back(toLower(std::string(reinterpret_cast<const char*>(data),
                                              size_t(ASN1_STRING_length(name->d.dNSName)))));
      } else if (name->type == GEN_IPADD) {
        const unsigned char* data = ASN1_STRING_get0_data(name->d.iPAddress);
        int length = ASN1_STRING_length(name->d.iPAddress);
        char text[64] = {};
        if (length == 4) std::snprintf(text, sizeof text, "%d.%d.%d.%d", data[0], data[1], data[2], data[3]);
        if (text[0]) c.names.push_back(text);
      }
    }
    GENERAL_NAMES_free(sans);
  }
  if (c.names.empty() && cn[0]) c.names.push_back(toLower(cn));
  for (auto& name : c.names)
    if (!name.empty() && name.back() == '.') name.pop_back();
}

struct GoCipher {
  std::string_view go;
  std::string_view openssl;
};
constexpr std::array<GoCipher, 18> kCiphers = {{
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
}};

// Go's secure defaults for TLS 1.2: ECDHE with AES-GCM or ChaCha20-Poly1305.
constexpr const char* kDefaultCiphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

std::string_view opensslGroupName(std::string_view go) {
  if (iequals(go, "CurveP256") || iequals(go, "secp256r1") || iequals(go, "P-256")) return "P-256";
  if (iequals(go, "CurveP384") || iequals(go, "secp384r1") || iequals(go, "P-384")) return "P-384";
  if (iequals(go, "CurveP521") || iequals(go, "secp521r1") || iequals(go, "P-521")) return "P-521";
  if (iequals(go, "X25519")) return "X25519";
  return {};
}

std::shared_ptr<const TlsOptionSet> buildOptions(const std::string& name, const config::TlsOptions& o,
                                                 std::vector<std::string>& errors) {
  auto set = std::make_shared<TlsOptionSet>();
  set->name = name;
  std::string where = "tls.options." + name + ": ";
  set->minVersion = tlsVersionFromName(o.minVersion);
  if (set->minVersion == 0) set->minVersion = TLS1_2_VERSION;
  set->maxVersion = tlsVersionFromName(o.maxVersion);
  for (const auto& suite : o.cipherSuites) {
    std::string_view mapped = opensslCipherName(suite);
    if (mapped.empty()) {
      if (suite.rfind("TLS_AES_", 0) == 0 || suite.rfind("TLS_CHACHA20_", 0) == 0) continue;  // TLS 1.3
      errors.push_back(where + "unknown cipher suite \"" + suite + "\"");
      continue;
    }
    if (!set->cipherList.empty()) set->cipherList += ':';
    set->cipherList += mapped;
  }
  if (set->cipherList.empty()) set->cipherList = kDefaultCiphers;
  for (const auto& curve : o.curvePreferences) {
    std::string_view group = opensslGroupName(curve);
    if (group.empty()) {
      errors.push_back(where + "unknown curve \"" + curve + "\"");
      continue;
    }
    if (!set->groups.empty()) set->groups += ':';
    set->groups += group;
  }
  set->sniStrict = o.sniStrict;
  set->disableSessionTickets = o.disableSessionTickets;
  for (const auto& protocol : o.alpnProtocols) {
    if (protocol.empty() || protocol.size() > 255) continue;
    set->alpn.push_back(static_cast<unsigned char>(protocol.size()));
    set->alpn.insert(set->alpn.end(), protocol.begin(), protocol.end());
  }
  // Client authentication: CA files alone mean RequireAndVerifyClientCert (as Traefik).
  std::string type = o.clientAuth.clientAuthType;
  if (!o.clientAuth.caFiles.empty()) {
    set->caStore = X509_STORE_new();
    set->caNames = sk_X509_NAME_new_null();
    for (const auto& ca : o.clientAuth.caFiles) {
      std::string text, error;
      if (isInlinePem(ca)) text = ca;
      else if (!readText(ca, text, error)) {
        errors.push_back(where + "clientAuth.caFiles: " + error);
        continue;
      }
      BIO* bio = BIO_new_mem_buf(text.data(), int(text.size()));
      int loaded = 0;
      while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
        X509_STORE_add_cert(set->caStore, cert);
        if (X509_NAME* subject = X509_get_subject_name(cert))
          sk_X509_NAME_push(set->caNames, X509_NAME_dup(subject));
        X509_free(cert);
        ++loaded;
      }
      ERR_clear_error();
      BIO_free(bio);
      if (loaded == 0) errors.push_back(where + "clientAuth.caFiles: no certificate in " + ca);
    }
    if (type.empty()) type = "RequireAndVerifyClientCert";
  }
  if (type.empty() || type == "NoClientCert") {
    set->verifyMode = SSL_VERIFY_NONE;
  } else if (type == "RequestClientCert") {
    set->verifyMode = SSL_VERIFY_PEER;
  } else if (type == "RequireAnyClientCert") {
    set->verifyMode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
  } else if (type == "VerifyClientCertIfGiven" || type == "RequireAndVerifyClientCert") {
    if (!set->caStore) {
      errors.push_back(where + "clientAuthType " + type + " needs clientAuth.caFiles");
      return nullptr;
    }
    set->verifyMode = SSL_VERIFY_PEER | (type == "RequireAndVerifyClientCert" ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    set->verifyChain = true;
  } else {
    errors.push_back(where + "unknown clientAuthType \"" + type + "\"");
    return nullptr;
  }
  return set;
}

std::string qualifyOptions(const std::string& name, const std::string& provider) {
  if (name == "default" || name.find('@') != std::string::npos) return name;
  return name + "@" + provider;
}

}  // namespace

TlsCertificate::~TlsCertificate() {
  if (cert) X509_free(cert);
  if (key) EVP_PKEY_free(key);
  if (chain) sk_X509_pop_free(chain, X509_free);
}

TlsOptionSet::~TlsOptionSet() {
  if (caStore) X509_STORE_free(caStore);
  if (caNames) sk_X509_NAME_pop_free(caNames, X509_NAME_free);
}

int tlsVersionFromName(std::string_view name) {
  if (name.empty()) return 0;
  if (name == "VersionTLS10") return TLS1_VERSION;
  if (name == "VersionTLS11") return TLS1_1_VERSION;
  if (name == "VersionTLS12") return TLS1_2_VERSION;
  if (name == "VersionTLS13") return TLS1_3_VERSION;
  return -1;
}

std::string_view opensslCipherName(std::string_view goName) {
  for (const auto& c : kCiphers)
    if (c.go == goName) return c.openssl;
  return {};
}

const TlsCertificate* TlsStore::match(std::string_view serverName) const {
  if (serverName.empty()) return nullptr;
  if (auto it = exact_.find(std::string(serverName)); it != exact_.end()) return it->second.get();
  size_t dot = serverName.find('.');
  if (dot != std::string_view::npos) {
    if (auto it = wildcard_.find(std::string(serverName.substr(dot + 1))); it != wildcard_.end())
      return it->second.get();
  }
  return nullptr;
}

const TlsCertificate* TlsStore::certificateFor(std::string_view serverName) const {
  if (const TlsCertificate* found = match(serverName)) return found;
  // The generated certificate is made on the first handshake that needs it, so a
  // configuration without TLS never initializes OpenSSL.
  return default_ ? default_.get() : generatedDefaultCertificate().get();
}

bool TlsStore::covers(std::string_view serverName) const { return match(serverName) != nullptr; }

const TlsOptionSet* TlsStore::optionsFor(size_t entryPointIndex, std::string_view serverName) const {
  if (entryPointIndex < hostOptions_.size() && !serverName.empty()) {
    const auto& hosts = hostOptions_[entryPointIndex];
    if (auto it = hosts.find(std::string(serverName)); it != hosts.end()) return it->second;
    size_t dot = serverName.find('.');
    if (dot != std::string_view::npos) {
      if (auto it = hosts.find("*." + std::string(serverName.substr(dot + 1))); it != hosts.end())
        return it->second;
    }
  }
  return defaultOptions_;
}

const TlsOptionSet* TlsStore::options(std::string_view name) const {
  auto it = options_.find(name);
  return it == options_.end() ? nullptr : it->second.get();
}

TlsCertificatePtr certificateFromPem(const std::string& certText, const std::string& keyText, std::string& error,
                                     const std::string& certLabel, const std::string& keyLabel) {
  auto c = std::make_shared<TlsCertificate>();
  BIO* bio = BIO_new_mem_buf(certText.data(), int(certText.size()));
  c->cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  if (!c->cert) {
    BIO_free(bio);
    error = "no PEM certificate in " + certLabel;
    ERR_clear_error();
    return nullptr;
  }
  while (X509* extra = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (!c->chain) c->chain = sk_X509_new_null();
    sk_X509_push(c->chain, extra);
  }
  ERR_clear_error();
  BIO_free(bio);
  bio = BIO_new_mem_buf(keyText.data(), int(keyText.size()));
  c->key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!c->key) {
    error = "no PEM private key in " + keyLabel + ": " + lastOpensslError();
    return nullptr;
  }
  if (X509_check_private_key(c->cert, c->key) != 1) {
    error = "the key in " + keyLabel + " does not match the certificate";
    ERR_clear_error();
    return nullptr;
  }
  describeCertificate(*c);
  return c;
}

TlsCertificatePtr TlsStoreBuilder::load(const std::string& certFile, const std::string& keyFile,
                                        std::string& error) {
  std::string signature = fileSignature(certFile) + "|" + fileSignature(keyFile);
  std::string key = certFile + "|" + keyFile;
  if (auto it = cache_.find(key); it != cache_.end() && it->second.signature == signature)
    return it->second.certificate;

  std::string certText, keyText;
  if (isInlinePem(certFile)) certText = certFile;
  else if (!readText(certFile, certText, error)) return nullptr;
  if (isInlinePem(keyFile)) keyText = keyFile;
  else if (!readText(keyFile, keyText, error)) return nullptr;

  TlsCertificatePtr c = certificateFromPem(certText, keyText, error,
                                           isInlinePem(certFile) ? std::string("inline certFile") : certFile,
                                           isInlinePem(keyFile) ? std::string("inline keyFile") : keyFile);
  if (!c) return nullptr;
  cache_[key] = {signature, c};
  return c;
}

std::shared_ptr<TlsStore> TlsStoreBuilder::build(const Providers& providers, std::vector<std::string>& errors) {
  auto store = std::make_shared<TlsStore>();
  store->acme_ = acme_;
  // Options: "default" (from any provider, else built in), then name@provider.
  config::TlsOptions defaults;
  for (const auto& [provider, tls] : providers) {
    if (auto it = tls->options.find("default"); it != tls->options.end()) defaults = it->second;
  }
  // A broken "default" still leaves built-in defaults for handshakes with no router, but
  // routers that use "default" are not served.
  if (auto set = buildOptions("default", defaults, errors)) {
    store->options_["default"] = set;
  } else {
    store->options_["default"] = buildOptions("default", config::TlsOptions{}, errors);
    store->invalid_.insert("default");
  }
  store->defaultOptions_ = store->options_["default"].get();
  for (const auto& [provider, tls] : providers) {
    for (const auto& [name, options] : tls->options) {
      if (name == "default") continue;
      std::string qualified = qualifyOptions(name, provider);
      if (auto set = buildOptions(qualified, options, errors)) store->options_[qualified] = set;
      else store->invalid_.insert(qualified);
    }
  }

  // Certificates.
  for (const auto& [provider, tls] : providers) {
    for (const auto& entry : tls->certificates) {
      std::string error;
      TlsCertificatePtr c = load(entry.certFile, entry.keyFile, error);
      if (!c) {
        errors.push_back("tls.certificates: " + error);
        continue;
      }
      store->all_.push_back(c);
      store->providers_.push_back(provider);
      for (const auto& name : c->names) {
        if (name.rfind("*.", 0) == 0) store->wildcard_.emplace(name.substr(2), c);
        else store->exact_.emplace(name, c);
      }
    }
    if (auto it = tls->stores.find("default"); it != tls->stores.end() && it->second.defaultCertificate) {
      std::string error;
      const auto& d = *it->second.defaultCertificate;
      if (TlsCertificatePtr c = load(d.certFile, d.keyFile, error)) store->default_ = c;
      else errors.push_back("tls.stores.default.defaultCertificate: " + error);
    }
  }
  return store;
}

void TlsStoreBuilder::bindHosts(TlsStore& store, size_t entryPoints, const HostOptions& hostOptions,
                                std::vector<std::pair<size_t, std::string>>& conflicts) {
  // Which options serve which host, per entryPoint.
  store.hostOptions_.assign(entryPoints, {});
  std::map<std::pair<size_t, std::string>, std::string> chosen;
  for (const auto& [entryPoint, host, optionsName] : hostOptions) {
    if (entryPoint >= entryPoints) continue;
    auto [it, inserted] = chosen.emplace(std::make_pair(entryPoint, host), optionsName);
    if (!inserted && it->second != optionsName && it->second != "default") {
      conflicts.emplace_back(entryPoint, host);
      it->second = "default";
    } else if (!inserted && it->second == "default" && optionsName != "default" &&
               std::find(conflicts.begin(), conflicts.end(), std::make_pair(entryPoint, host)) == conflicts.end()) {
      conflicts.emplace_back(entryPoint, host);
    }
  }
  for (const auto& [where, optionsName] : chosen) {
    const TlsOptionSet* set = store.options(optionsName);
    if (set) store.hostOptions_[where.first][where.second] = set;
  }
}

TlsCertificatePtr generatedDefaultCertificate() {
  static std::once_flag once;
  static TlsCertificatePtr certificate;
  std::call_once(once, [] {
    auto c = std::make_shared<TlsCertificate>();
    c->key = EVP_EC_gen("P-256");
    c->cert = X509_new();
    X509_set_version(c->cert, 2);
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(c->cert));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(c->cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(c->cert), 365L * 24 * 3600);
    X509_set_pubkey(c->cert, c->key);
    X509_NAME* name = X509_get_subject_name(c->cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("TRAEFIK DEFAULT CERT"), -1, -1, 0);
    X509_set_issuer_name(c->cert, name);
    unsigned char random[16];
    RAND_bytes(random, sizeof random);
    char hex[33];
    for (int i = 0; i < 16; ++i) std::snprintf(hex + 2 * i, 3, "%02x", random[i]);
    std::string san = "DNS:" + std::string(hex, 32) + ".traefik.default";
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, c->cert, c->cert, nullptr, nullptr, 0);
    if (X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str())) {
      X509_add_ext(c->cert, ext, -1);
      X509_EXTENSION_free(ext);
    }
    X509_sign(c->cert, c->key, EVP_sha256());
    describeCertificate(*c);
    certificate = c;
  });
  return certificate;
}

}  // namespace causeway::tls
