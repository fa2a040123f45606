// The ACME client's cryptography (clients/acme/acme_crypto.h): JWS signatures that verify,
// RFC 7638 member order in JWKs, Traefik's PKCS#1 account keys, CSRs with every name.
#include "clients/acme/acme_crypto.h"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/json.hpp>

#include "core/bytes.h"

namespace causeway::clients::acme {
namespace {

std::string part(const std::string& jws, const char* name) {
  return std::string(boost::json::parse(jws).as_object().at(name).as_string());
}

// Verifies a flattened JWS with the key's public half.
bool verifies(EVP_PKEY* key, const std::string& jws) {
  std::string input = part(jws, "protected") + "." + part(jws, "payload");
  std::string signature;
  if (!base64UrlDecode(part(jws, "signature"), signature)) return false;
  const EVP_MD* digest = EVP_sha256();
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
    // r || s back to DER for OpenSSL.
    size_t half = signature.size() / 2;
    if (half == 48) digest = EVP_sha384();
    ECDSA_SIG* sig = ECDSA_SIG_new();
    ECDSA_SIG_set0(sig, BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data()), int(half), nullptr),
                   BN_bin2bn(reinterpret_cast<const unsigned char*>(signature.data() + half), int(half), nullptr));
    unsigned char* der = nullptr;
    int size = i2d_ECDSA_SIG(sig, &der);
    signature.assign(reinterpret_cast<char*>(der), size_t(size));
    OPENSSL_free(der);
    ECDSA_SIG_free(sig);
  }
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(context, nullptr, digest, nullptr, key) == 1 &&
            EVP_DigestVerify(context, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  EVP_MD_CTX_free(context);
  return ok;
}

TEST(AcmeCrypto, JwsVerifiesForEveryKeyType) {
  for (const char* type : {"EC256", "EC384", "RSA2048"}) {
    Key key = generateKey(type);
    ASSERT_TRUE(key) << type;
    std::string jws = signJws(key.get(), R"({"alg":")" + jwsAlgorithm(key.get()) + R"("})", R"({"a":1})");
    ASSERT_FALSE(jws.empty()) << type;
    EXPECT_TRUE(verifies(key.get(), jws)) << type;
    std::string payload;
    ASSERT_TRUE(base64UrlDecode(part(jws, "payload"), payload));
    EXPECT_EQ(payload, R"({"a":1})");
  }
  EXPECT_EQ(jwsAlgorithm(generateKey("EC256").get()), "ES256");
  EXPECT_EQ(jwsAlgorithm(generateKey("EC384").get()), "ES384");
}

TEST(AcmeCrypto, JwkMembersInThumbprintOrder) {
  Key ec = generateKey("EC256");
  std::string ecJwk = jwk(ec.get());
  EXPECT_EQ(ecJwk.rfind(R"({"crv":"P-256","kty":"EC","x":")", 0), 0u) << ecJwk;
  auto object = boost::json::parse(ecJwk).as_object();
  std::string x;
  ASSERT_TRUE(base64UrlDecode(object.at("x").as_string(), x));
  EXPECT_EQ(x.size(), 32u);  // fixed width, leading zeros kept
  Key rsa = generateKey("RSA2048");
  EXPECT_EQ(jwk(rsa.get()).rfind(R"({"e":"AQAB","kty":"RSA","n":")", 0), 0u);
  EXPECT_EQ(thumbprint(rsa.get()), base64UrlEncode(sha256(jwk(rsa.get()))));
  EXPECT_EQ(thumbprint(rsa.get()).size(), 43u);
}

TEST(AcmeCrypto, AccountKeyRoundTripsAsPkcs1) {
  Key key = generateKey("RSA2048");
  std::string der = accountKeyDer(key.get());
  ASSERT_FALSE(der.empty());
  // PKCS#1 RSAPrivateKey: a SEQUENCE starting with version 0, not PKCS#8's AlgorithmIdentifier.
  EXPECT_EQ(uint8_t(der[0]), 0x30);
  Key back = accountKeyFromDer(der);
  ASSERT_TRUE(back);
  EXPECT_EQ(jwk(back.get()), jwk(key.get()));
  EXPECT_FALSE(accountKeyFromDer("not a key"));
  EXPECT_NE(privateKeyPem(key.get()).find("-----BEGIN RSA PRIVATE KEY-----"), std::string::npos);
  EXPECT_NE(privateKeyPem(generateKey("EC256").get()).find("-----BEGIN EC PRIVATE KEY-----"), std::string::npos);
}

TEST(AcmeCrypto, CertificateRequestNamesEveryDomain) {
  Key key = generateKey("EC256");
  std::string der = certificateRequest(key.get(), {"a.example.test", "b.example.test"}, false);
  ASSERT_FALSE(der.empty());
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509_REQ* request = d2i_X509_REQ(nullptr, &p, long(der.size()));
  ASSERT_TRUE(request);
  EXPECT_EQ(X509_REQ_verify(request, key.get()), 1);
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(request), NID_commonName, cn, sizeof cn);
  EXPECT_STREQ(cn, "a.example.test");
  STACK_OF(X509_EXTENSION)* extensions = X509_REQ_get_extensions(request);
  std::vector<std::string> names;
  for (int i = 0; i < sk_X509_EXTENSION_num(extensions); ++i) {
    X509_EXTENSION* extension = sk_X509_EXTENSION_value(extensions, i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(extension)) != NID_subject_alt_name) continue;
    auto* sans = static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(extension));
    for (int j = 0; j < sk_GENERAL_NAME_num(sans); ++j) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(sans, j);
      if (name->type == GEN_DNS)
        names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(name->d.dNSName)),
                           size_t(ASN1_STRING_length(name->d.dNSName)));
    }
    GENERAL_NAMES_free(sans);
  }
  sk_X509_EXTENSION_pop_free(extensions, X509_EXTENSION_free);
  X509_REQ_free(request);
  EXPECT_EQ(names, (std::vector<std::string>{"a.example.test", "b.example.test"}));
  EXPECT_TRUE(certificateRequest(key.get(), {}, false).empty());
}

}  // namespace
}  // namespace causeway::clients::acme
