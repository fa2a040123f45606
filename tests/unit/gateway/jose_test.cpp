// The JWS checks of the jwt middleware (gateway/api/jose.h): a known answer from RFC 7515,
// signatures made here with OpenSSL for every key family, and what must be refused (none,
// algorithm confusion, crit, weak keys, points off the curve).
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <boost/json.hpp>

#include "core/bytes.h"
#include "gateway/api/jose.h"

namespace causeway::gateway::api::jose {
namespace {

// RFC 7515 Appendix A.1: HS256 over a token with CRLFs in its JSON.
constexpr const char* kRfcToken = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
                                  "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt"
                                  "cGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
                                  "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr const char* kRfcKey =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

TEST(JoseTest, Rfc7515HmacExampleVerifies) {
  std::string secret;
  ASSERT_TRUE(base64UrlDecode(kRfcKey, secret));
  Token t;
  std::string error;
  ASSERT_TRUE(parse(kRfcToken, t, error)) << error;
  EXPECT_EQ(t.alg, Alg::HS256);
  EXPECT_EQ(t.claims.at("iss"), "joe");
  EXPECT_TRUE(verify(t, keyFromSecret(secret)));
  EXPECT_FALSE(verify(t, keyFromSecret(secret + "x")));
  // The same token with one signature byte changed.
  std::string tampered = kRfcToken;
  tampered[tampered.size() - 10] = tampered[tampered.size() - 10] == 'A' ? 'B' : 'A';
  ASSERT_TRUE(parse(tampered, t, error));
  EXPECT_FALSE(verify(t, keyFromSecret(secret)));
}

std::string b64(std::string_view s) {
  return base64UrlEncode(s);
}

std::shared_ptr<EVP_PKEY> generate(const char* type, const char* curve = nullptr, int bits = 0) {
  EVP_PKEY* key = nullptr;
  if (curve && std::string_view(type) == "EC")
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve);
  else if (bits)
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  else
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, type);
  return std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
}

std::string publicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

// Signs header.payload with `key` as JWS `alg` does (ECDSA as r || s).
std::string sign(std::string_view alg, EVP_PKEY* key, std::string_view payload, size_t ecHalf = 0) {
  std::string input = b64(R"({"alg":")" + std::string(alg) + R"("})") + "." + b64(payload);
  const EVP_MD* md = alg.ends_with("256")   ? EVP_sha256()
                     : alg.ends_with("384") ? EVP_sha384()
                     : alg.ends_with("512") ? EVP_sha512()
                                            : nullptr;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx, &pctx, md, nullptr, key);
  if (alg.starts_with("PS")) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (ecHalf) {
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    std::string raw(2 * ecHalf, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(es), reinterpret_cast<unsigned char*>(raw.data()),
                 static_cast<int>(ecHalf));
    BN_bn2binpad(ECDSA_SIG_get0_s(es), reinterpret_cast<unsigned char*>(raw.data() + ecHalf),
                 static_cast<int>(ecHalf));
    ECDSA_SIG_free(es);
    sig = raw;
  }
  return input + "." + b64(sig);
}

struct Case {
  const char* alg;
  const char* type;
  const char* curve;
  int bits;
  size_t half;
  KeyType expected;
};

TEST(JoseTest, EveryFamilyVerifiesWithItsKeyAndNoOther) {
  const Case cases[] = {
      {"RS256", "RSA", nullptr, 2048, 0, KeyType::Rsa},
      {"PS384", "RSA", nullptr, 2048, 0, KeyType::Rsa},
      {"ES256", "EC", "P-256", 0, 32, KeyType::P256},
      {"ES384", "EC", "P-384", 0, 48, KeyType::P384},
      {"ES512", "EC", "P-521", 0, 66, KeyType::P521},
      {"EdDSA", "ED25519", nullptr, 0, 0, KeyType::Ed25519},
      {"EdDSA", "ED448", nullptr, 0, 0, KeyType::Ed448},
  };
  std::vector<Key> keys;
  std::vector<std::string> tokens;
  for (const Case& c : cases) {
    auto pkey = generate(c.type, c.curve, c.bits);
    ASSERT_TRUE(pkey) << c.alg;
    std::string error;
    auto key = keyFromPem(publicPem(pkey.get()), error);
    ASSERT_TRUE(key) << c.alg << ": " << error;
    EXPECT_EQ(key->type, c.expected) << c.alg;
    keys.push_back(*key);
    tokens.push_back(sign(c.alg, pkey.get(), R"({"sub":"a"})", c.half));
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    Token t;
    std::string error;
    ASSERT_TRUE(parse(tokens[i], t, error)) << error;
    for (size_t k = 0; k < keys.size(); ++k)
      EXPECT_EQ(verify(t, keys[k]), i == k) << cases[i].alg << " with key of " << cases[k].alg;
  }
}

TEST(JoseTest, AlgorithmConfusionIsRefused) {
  // An HS256 token whose secret is the RSA public key's PEM text: the classic confusion.
  auto rsa = generate("RSA", nullptr, 2048);
  std::string pem = publicPem(rsa.get());
  std::string error;
  auto key = keyFromPem(pem, error);
  ASSERT_TRUE(key);
  std::string input = b64(R"({"alg":"HS256"})") + "." + b64(R"({"sub":"a"})");
  unsigned char mac[32];
  unsigned len = 0;
  HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  Token t;
  std::string token = input + "." + b64(std::string_view(reinterpret_cast<char*>(mac), len));
  ASSERT_TRUE(parse(token, t, error));  // t's views point into token
  EXPECT_FALSE(verify(t, *key));
  EXPECT_TRUE(verify(t, keyFromSecret(pem)));  // only a configured secret checks HS256
  // A JWK that names RS256 does not check PS256.
  auto jwk = boost::json::parse(R"({"kty":"oct","k":"c2VjcmV0","alg":"HS384"})");
  auto hs384 = keyFromJwk(jwk, error);
  ASSERT_TRUE(hs384);
  EXPECT_FALSE(verify(t, *hs384));
  EXPECT_FALSE(fits(Alg::ES256, KeyType::P384));
  EXPECT_FALSE(fits(Alg::Ed25519, KeyType::Ed448));
}

TEST(JoseTest, MalformedAndUnacceptedTokensDoNotParse) {
  std::string error;
  Token t;
  std::string payload = b64(R"({"sub":"a"})");
  EXPECT_FALSE(parse(b64(R"({"alg":"none"})") + "." + payload + ".", t, error));
  EXPECT_NE(error.find("none"), std::string::npos);
  EXPECT_FALSE(parse(b64(R"({"alg":"HS256","crit":["exp"]})") + "." + payload + ".AA", t, error));
  EXPECT_FALSE(parse(b64(R"({"alg":"HS256","b64":false})") + "." + payload + ".AA", t, error));
  EXPECT_FALSE(parse(b64(R"({"alg":"HS256"})") + "." + b64("[1]") + ".AA", t, error));
  EXPECT_FALSE(parse(b64(R"({"alg":"HS256"})") + "." + payload, t, error));
  EXPECT_FALSE(parse(b64(R"({"alg":"HS256"})") + "." + payload + ".AA.AA", t, error));
  EXPECT_FALSE(parse("e30.e30.!!", t, error));
  EXPECT_FALSE(parse(b64(R"({"typ":"JWT"})") + "." + payload + ".AA", t, error));
}

TEST(JoseTest, JwksKeepUsableKeysAndSayWhyOthersAreSkipped) {
  auto ec = generate("EC", "P-256");
  // x and y of a real P-256 key, then the same x with a y that is off the curve.
  BIGNUM *x = nullptr, *y = nullptr;
  EVP_PKEY_get_bn_param(ec.get(), "qx", &x);
  EVP_PKEY_get_bn_param(ec.get(), "qy", &y);
  std::string xs(32, '\0'), ys(32, '\0');
  BN_bn2binpad(x, reinterpret_cast<unsigned char*>(xs.data()), 32);
  BN_bn2binpad(y, reinterpret_cast<unsigned char*>(ys.data()), 32);
  BN_free(x);
  BN_free(y);
  std::string bad = ys;
  bad[31] ^= 1;
  auto small = generate("RSA", nullptr, 1024);
  BIGNUM* n = nullptr;
  EVP_PKEY_get_bn_param(small.get(), "n", &n);
  std::string ns(static_cast<size_t>(BN_num_bytes(n)), '\0');
  BN_bn2bin(n, reinterpret_cast<unsigned char*>(ns.data()));
  BN_free(n);
  std::string text = R"({"keys":[
    {"kty":"EC","crv":"P-256","kid":"good","x":")" +
                     b64(xs) + R"(","y":")" + b64(ys) + R"("},
    {"kty":"EC","crv":"P-256","kid":"off","x":")" +
                     b64(xs) + R"(","y":")" + b64(bad) + R"("},
    {"kty":"RSA","kid":"small","n":")" +
                     b64(ns) + R"(","e":"AQAB"},
    {"kty":"EC","crv":"P-256","kid":"enc","use":"enc","x":")" +
                     b64(xs) + R"(","y":")" + b64(ys) + R"("},
    {"kty":"EC","crv":"secp256k1","kid":"k1","x":"AA","y":"AA"},
    {"kty":"oct","kid":"mac","k":"c2VjcmV0"}]})";
  std::vector<Key> keys;
  std::vector<std::string> skipped;
  std::string error;
  ASSERT_TRUE(parseJwks(text, keys, skipped, error)) << error;
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kid, "good");
  EXPECT_EQ(keys[0].type, KeyType::P256);
  EXPECT_EQ(keys[1].kid, "mac");
  ASSERT_EQ(skipped.size(), 4u);
  EXPECT_NE(skipped[0].find("\"off\""), std::string::npos) << skipped[0];
  EXPECT_EQ(keys[0].pkey != nullptr, true);
  EXPECT_TRUE(keys[1].secret == "secret");
  EXPECT_NE(skipped[1].find("2048"), std::string::npos) << skipped[1];
  EXPECT_NE(skipped[2].find("enc"), std::string::npos) << skipped[2];
  EXPECT_FALSE(parseJwks("[]", keys, skipped, error));
}

}  // namespace
}  // namespace causeway::gateway::api::jose
