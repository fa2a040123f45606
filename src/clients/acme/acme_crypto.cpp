#include "clients/acme/acme_crypto.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "core/bytes.h"

namespace causeway::clients::acme {
namespace {

std::string bignum(EVP_PKEY* key, const char* name, size_t width = 0) {
  BIGNUM* value = nullptr;
  if (!EVP_PKEY_get_bn_param(key, name, &value)) return {};
  size_t size = std::max<size_t>(width, size_t(BN_num_bytes(value)));
  std::string out(size, '\0');
  BN_bn2binpad(value, reinterpret_cast<unsigned char*>(out.data()), int(size));
  BN_free(value);
  return out;
}

bool isRsa(EVP_PKEY* key) { return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA; }

// The EC curve's coordinate size in bytes (32 for P-256, 48 for P-384).
size_t coordinateSize(EVP_PKEY* key) { return size_t(EVP_PKEY_get_bits(key) + 7) / 8; }

}  // namespace

Key generateKey(std::string_view keyType) {
  if (keyType == "EC256") return Key(EVP_EC_gen("P-256"));
  if (keyType == "EC384") return Key(EVP_EC_gen("P-384"));
  unsigned bits = keyType == "RSA2048" ? 2048 : keyType == "RSA8192" ? 8192 : 4096;
  return Key(EVP_RSA_gen(bits));
}

std::string accountKeyDer(EVP_PKEY* key) {
  unsigned char* der = nullptr;
  int size = i2d_PrivateKey(key, &der);  // RSA: PKCS#1
  if (size <= 0) return {};
  std::string out(reinterpret_cast<char*>(der), size_t(size));
  OPENSSL_free(der);
  return out;
}

Key accountKeyFromDer(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  return Key(d2i_PrivateKey(EVP_PKEY_RSA, nullptr, &p, long(der.size())));
}

std::string privateKeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  std::string out;
  if (PEM_write_bio_PrivateKey_traditional(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    out.assign(data, size_t(size));
  }
  BIO_free(bio);
  return out;
}

std::string jwk(EVP_PKEY* key) {
  if (isRsa(key))
    return R"({"e":")" + base64UrlEncode(bignum(key, OSSL_PKEY_PARAM_RSA_E)) + R"(","kty":"RSA","n":")" +
           base64UrlEncode(bignum(key, OSSL_PKEY_PARAM_RSA_N)) + R"("})";
  size_t width = coordinateSize(key);
  std::string crv = width == 32 ? "P-256" : "P-384";
  return R"({"crv":")" + crv + R"(","kty":"EC","x":")" +
         base64UrlEncode(bignum(key, OSSL_PKEY_PARAM_EC_PUB_X, width)) + R"(","y":")" +
         base64UrlEncode(bignum(key, OSSL_PKEY_PARAM_EC_PUB_Y, width)) + R"("})";
}

std::string jwsAlgorithm(EVP_PKEY* key) {
  if (isRsa(key)) return "RS256";
  return coordinateSize(key) == 32 ? "ES256" : "ES384";
}

std::string sha256(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<char*>(digest), size);
}

std::string thumbprint(EVP_PKEY* key) { return base64UrlEncode(sha256(jwk(key))); }

std::string signJws(EVP_PKEY* key, std::string_view protectedHeader, std::string_view payload) {
  std::string protected64 = base64UrlEncode(protectedHeader);
  std::string payload64 = base64UrlEncode(payload);
  std::string input = protected64 + "." + payload64;
  bool rsa = isRsa(key);
  const EVP_MD* digest = rsa || coordinateSize(key) == 32 ? EVP_sha256() : EVP_sha384();
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  std::string signature;
  size_t size = 0;
  if (EVP_DigestSignInit(context, nullptr, digest, nullptr, key) == 1 &&
      EVP_DigestSign(context, nullptr, &size, reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1) {
    signature.resize(size);
    if (EVP_DigestSign(context, reinterpret_cast<unsigned char*>(signature.data()), &size,
                       reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1)
      signature.resize(size);
    else
      signature.clear();
  }
  EVP_MD_CTX_free(context);
  if (signature.empty()) return {};
  if (!rsa) {
    // JWS wants r || s, each the curve's size; OpenSSL gives a DER ECDSA-Sig-Value.
    const unsigned char* p = reinterpret_cast<const unsigned char*>(signature.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, long(signature.size()));
    if (!sig) return {};
    size_t width = coordinateSize(key);
    std::string raw(2 * width, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(raw.data()), int(width));
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(raw.data() + width), int(width));
    ECDSA_SIG_free(sig);
    signature = std::move(raw);
  }
  return R"({"protected":")" + protected64 + R"(","payload":")" + payload64 + R"(","signature":")" +
         base64UrlEncode(signature) + R"("})";
}

std::string signHmacJws(std::string_view macKey, std::string_view protectedHeader, std::string_view payload) {
  std::string protected64 = base64UrlEncode(protectedHeader);
  std::string payload64 = base64UrlEncode(payload);
  std::string input = protected64 + "." + payload64;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (!HMAC(EVP_sha256(), macKey.data(), int(macKey.size()), reinterpret_cast<const unsigned char*>(input.data()),
            input.size(), mac, &size))
    return {};
  return R"({"protected":")" + protected64 + R"(","payload":")" + payload64 + R"(","signature":")" +
         base64UrlEncode(std::string_view(reinterpret_cast<char*>(mac), size)) + R"("})";
}

std::string certificateRequest(EVP_PKEY* key, const std::vector<std::string>& names, bool noCommonName) {
  if (names.empty()) return {};
  X509_REQ* request = X509_REQ_new();
  std::string out;
  X509_NAME* subject = X509_REQ_get_subject_name(request);
  if (!noCommonName && names.front().size() <= 64)
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(names.front().c_str()),
                               -1, -1, 0);
  std::string sans;
  for (const std::string& name : names) sans += (sans.empty() ? "DNS:" : ",DNS:") + name;
  STACK_OF(X509_EXTENSION)* extensions = sk_X509_EXTENSION_new_null();
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, sans.c_str());
  if (san) sk_X509_EXTENSION_push(extensions, san);
  bool ok = san && X509_REQ_add_extensions(request, extensions) == 1 && X509_REQ_set_pubkey(request, key) == 1 &&
            X509_REQ_sign(request, key, EVP_sha256()) > 0;
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  if (ok) {
    unsigned char* der = nullptr;
    int size = i2d_X509_REQ(request, &der);
    if (size > 0) out.assign(reinterpret_cast<char*>(der), size_t(size));
    OPENSSL_free(der);
  }
  X509_REQ_free(request);
  return out;
}

std::pair<std::string, std::string> tlsAlpnCertificate(const std::string& domain, std::string_view keyAuthorization) {
  Key key = generateKey("EC256");
  X509* cert = X509_new();
  std::pair<std::string, std::string> out;
  // id-pe-acmeIdentifier (RFC 8737 §3): critical, its value the DER OCTET STRING of the
  // SHA-256 of the key authorization.
  std::string digest = sha256(keyAuthorization);
  ASN1_OCTET_STRING* inner = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(inner, reinterpret_cast<const unsigned char*>(digest.data()), int(digest.size()));
  unsigned char* der = nullptr;
  int derSize = i2d_ASN1_OCTET_STRING(inner, &der);
  ASN1_OCTET_STRING_free(inner);
  ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
  if (derSize > 0) ASN1_OCTET_STRING_set(value, der, derSize);
  OPENSSL_free(der);
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  X509_EXTENSION* identifier = X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, value);
  ASN1_OBJECT_free(oid);
  ASN1_OCTET_STRING_free(value);
  const std::string san = "DNS:" + domain;
  X509_EXTENSION* names = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  X509_NAME* subject = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("ACME challenge"), -1,
                             -1, 0);
  bool ok = key && derSize > 0 && identifier && names && X509_set_version(cert, 2) == 1 &&
            ASN1_INTEGER_set(X509_get_serialNumber(cert), 1) == 1 && X509_set_issuer_name(cert, subject) == 1 &&
            X509_gmtime_adj(X509_getm_notBefore(cert), -3600) && X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 86400) &&
            X509_add_ext(cert, names, -1) == 1 && X509_add_ext(cert, identifier, -1) == 1 &&
            X509_set_pubkey(cert, key.get()) == 1 && X509_sign(cert, key.get(), EVP_sha256()) > 0;
  if (identifier) X509_EXTENSION_free(identifier);
  if (names) X509_EXTENSION_free(names);
  if (ok) {
    BIO* bio = BIO_new(BIO_s_mem());
    if (PEM_write_bio_X509(bio, cert) == 1) {
      char* data = nullptr;
      long size = BIO_get_mem_data(bio, &data);
      out.first.assign(data, size_t(size));
    }
    BIO_free(bio);
    out.second = privateKeyPem(key.get());
  }
  X509_free(cert);
  return out;
}

}  // namespace causeway::clients::acme
