#include "gateway/api/jose.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <boost/json/parse.hpp>

#include "core/bytes.h"

namespace causeway::gateway::api::jose {
namespace json = boost::json;
namespace {

struct AlgInfo {
  Alg alg;
  std::string_view name;
};
constexpr AlgInfo kAlgs[] = {
    {Alg::HS256, "HS256"}, {Alg::HS384, "HS384"},     {Alg::HS512, "HS512"}, {Alg::RS256, "RS256"},
    {Alg::RS384, "RS384"}, {Alg::RS512, "RS512"},     {Alg::PS256, "PS256"}, {Alg::PS384, "PS384"},
    {Alg::PS512, "PS512"}, {Alg::ES256, "ES256"},     {Alg::ES384, "ES384"}, {Alg::ES512, "ES512"},
    {Alg::EdDSA, "EdDSA"}, {Alg::Ed25519, "Ed25519"},
};

// The digest of an algorithm (null for EdDSA, which hashes by itself).
const EVP_MD* digestOf(Alg alg) {
  switch (alg) {
  case Alg::HS256:
  case Alg::RS256:
  case Alg::PS256:
  case Alg::ES256:
    return EVP_sha256();
  case Alg::HS384:
  case Alg::RS384:
  case Alg::PS384:
  case Alg::ES384:
    return EVP_sha384();
  case Alg::HS512:
  case Alg::RS512:
  case Alg::PS512:
  case Alg::ES512:
    return EVP_sha512();
  case Alg::EdDSA:
  case Alg::Ed25519:
    return nullptr;
  }
  return nullptr;
}

using PkeyPtr = std::shared_ptr<EVP_PKEY>;
PkeyPtr own(EVP_PKEY* p) {
  return PkeyPtr(p, EVP_PKEY_free);
}

std::string_view stringMember(const json::object& o, std::string_view name) {
  const json::value* v = o.if_contains(name);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// A base64url member decoded; false when missing or not base64url.
bool bytesMember(const json::object& o, std::string_view name, std::string& out) {
  std::string_view text = stringMember(o, name);
  out.clear();
  return !text.empty() && base64UrlDecode(text, out) && !out.empty();
}

PkeyPtr fromParams(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* pkey = nullptr;
  if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1)
    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pkey ? own(pkey) : nullptr;
}

// An EC public key must be a point of its curve (an invalid-curve point leaks nothing for
// verification, but a key that is not one is a configuration mistake worth naming).
bool publicKeyValid(EVP_PKEY* pkey) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
  bool ok = ctx && EVP_PKEY_public_check(ctx) == 1;
  EVP_PKEY_CTX_free(ctx);
  return ok;
}

std::optional<KeyType> typeOfPkey(EVP_PKEY* pkey, std::string& error) {
  switch (EVP_PKEY_get_base_id(pkey)) {
  case EVP_PKEY_RSA:
    if (EVP_PKEY_get_bits(pkey) < 2048) {
      error = "RSA keys need 2048 bits or more";
      return std::nullopt;
    }
    return KeyType::Rsa;
  case EVP_PKEY_ED25519:
    return KeyType::Ed25519;
  case EVP_PKEY_ED448:
    return KeyType::Ed448;
  case EVP_PKEY_EC: {
    char group[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                       &len) != 1)
      break;
    std::string_view g(group, len);
    if (g == "prime256v1" || g == "P-256") return KeyType::P256;
    if (g == "secp384r1" || g == "P-384") return KeyType::P384;
    if (g == "secp521r1" || g == "P-521") return KeyType::P521;
    error = "EC curve " + std::string(g) + " is not one of P-256, P-384, P-521";
    return std::nullopt;
  }
  default:
    break;
  }
  error = "the key is not an RSA, EC (P-256/384/521) or Ed25519/Ed448 public key";
  return std::nullopt;
}

// ES*: the JWS signature is r || s, each as long as the curve's order; OpenSSL wants DER.
bool ecdsaToDer(std::string_view raw, size_t half, std::string& der) {
  if (raw.size() != 2 * half) return false;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), static_cast<int>(half),
                        nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data() + half),
                        static_cast<int>(half), nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig);
    return false;
  }
  unsigned char* out = nullptr;
  int len = i2d_ECDSA_SIG(sig, &out);
  ECDSA_SIG_free(sig);
  if (len <= 0) return false;
  der.assign(reinterpret_cast<char*>(out), static_cast<size_t>(len));
  OPENSSL_free(out);
  return true;
}

size_t ecHalf(KeyType type) {
  return type == KeyType::P256 ? 32 : type == KeyType::P384 ? 48 : 66;
}

}  // namespace

std::optional<Alg> algFromName(std::string_view name) {
  for (const AlgInfo& a : kAlgs)
    if (a.name == name) return a.alg;
  return std::nullopt;
}

std::string_view algName(Alg alg) {
  for (const AlgInfo& a : kAlgs)
    if (a.alg == alg) return a.name;
  return "?";
}

bool fits(Alg alg, KeyType type) {
  switch (alg) {
  case Alg::HS256:
  case Alg::HS384:
  case Alg::HS512:
    return type == KeyType::Secret;
  case Alg::RS256:
  case Alg::RS384:
  case Alg::RS512:
  case Alg::PS256:
  case Alg::PS384:
  case Alg::PS512:
    return type == KeyType::Rsa;
  case Alg::ES256:
    return type == KeyType::P256;
  case Alg::ES384:
    return type == KeyType::P384;
  case Alg::ES512:
    return type == KeyType::P521;
  case Alg::EdDSA:
    return type == KeyType::Ed25519 || type == KeyType::Ed448;
  case Alg::Ed25519:
    return type == KeyType::Ed25519;
  }
  return false;
}

std::optional<Key> keyFromJwk(const json::value& jwk, std::string& error) {
  if (!jwk.is_object()) {
    error = "a JWK must be a JSON object";
    return std::nullopt;
  }
  const json::object& o = jwk.get_object();
  Key key;
  key.kid = std::string(stringMember(o, "kid"));
  if (std::string_view use = stringMember(o, "use"); !use.empty() && use != "sig") {
    error = "key \"" + key.kid + "\" is for " + std::string(use) + ", not signatures";
    return std::nullopt;
  }
  if (std::string_view alg = stringMember(o, "alg"); !alg.empty()) {
    key.alg = algFromName(alg);
    if (!key.alg) {
      error = "key \"" + key.kid + "\": algorithm " + std::string(alg) + " is not supported";
      return std::nullopt;
    }
  }
  std::string_view kty = stringMember(o, "kty");
  std::string a, b;
  if (kty == "oct") {
    if (!bytesMember(o, "k", a)) {
      error = "key \"" + key.kid + "\": oct key without k";
      return std::nullopt;
    }
    key.type = KeyType::Secret;
    key.secret = std::move(a);
  } else if (kty == "RSA") {
    if (!bytesMember(o, "n", a) || !bytesMember(o, "e", b)) {
      error = "key \"" + key.kid + "\": RSA key without n and e";
      return std::nullopt;
    }
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    BIGNUM* n = BN_bin2bn(reinterpret_cast<const unsigned char*>(a.data()),
                          static_cast<int>(a.size()), nullptr);
    BIGNUM* e = BN_bin2bn(reinterpret_cast<const unsigned char*>(b.data()),
                          static_cast<int>(b.size()), nullptr);
    if (bld && n && e && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
      key.pkey = fromParams("RSA", bld);
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
  } else if (kty == "EC") {
    std::string_view crv = stringMember(o, "crv");
    const char* group = crv == "P-256"   ? "prime256v1"
                        : crv == "P-384" ? "secp384r1"
                        : crv == "P-521" ? "secp521r1"
                                         : nullptr;
    if (!group) {
      error = "key \"" + key.kid + "\": EC curve \"" + std::string(crv) +
              "\" is not one of P-256, P-384, P-521";
      return std::nullopt;
    }
    size_t size = crv == "P-256" ? 32 : crv == "P-384" ? 48 : 66;
    if (!bytesMember(o, "x", a) || !bytesMember(o, "y", b) || a.size() != size ||
        b.size() != size) {
      error = "key \"" + key.kid + "\": EC key without x and y of the curve's size";
      return std::nullopt;
    }
    std::string point = "\x04" + a + b;
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    if (bld && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) == 1 &&
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                         point.size()) == 1)
      key.pkey = fromParams("EC", bld);
    OSSL_PARAM_BLD_free(bld);
    if (key.pkey && !publicKeyValid(key.pkey.get())) {
      error = "key \"" + key.kid + "\": the EC point is not on the curve";
      return std::nullopt;
    }
  } else if (kty == "OKP") {
    std::string_view crv = stringMember(o, "crv");
    int id = crv == "Ed25519" ? EVP_PKEY_ED25519 : crv == "Ed448" ? EVP_PKEY_ED448 : 0;
    if (!id) {
      error =
          "key \"" + key.kid + "\": OKP curve \"" + std::string(crv) + "\" is not Ed25519 or Ed448";
      return std::nullopt;
    }
    if (!bytesMember(o, "x", a)) {
      error = "key \"" + key.kid + "\": OKP key without x";
      return std::nullopt;
    }
    EVP_PKEY* p = EVP_PKEY_new_raw_public_key(
        id, nullptr, reinterpret_cast<const unsigned char*>(a.data()), a.size());
    if (p) key.pkey = own(p);
  } else {
    error =
        "key \"" + key.kid + "\": key type \"" + std::string(kty) + "\" is not RSA, EC, OKP or oct";
    return std::nullopt;
  }
  if (kty != "oct") {
    // Never fall back to the default type: a public key that did not build is no key at all.
    if (!key.pkey) {
      error = "key \"" + key.kid + "\": not a valid " + std::string(kty) + " public key";
      return std::nullopt;
    }
    std::optional<KeyType> type = typeOfPkey(key.pkey.get(), error);
    if (!type) {
      error = "key \"" + key.kid + "\": " + error;
      return std::nullopt;
    }
    key.type = *type;
  }
  if (key.alg && !fits(*key.alg, key.type)) {
    error = "key \"" + key.kid + "\": algorithm " + std::string(algName(*key.alg)) +
            " does not fit a " + std::string(kty) + " key";
    return std::nullopt;
  }
  return key;
}

bool parseJwks(std::string_view text, std::vector<Key>& keys, std::vector<std::string>& skipped,
               std::string& error) {
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 16;
  json::value doc = json::parse(text, ec, {}, opts);
  const json::value* list = !ec && doc.is_object() ? doc.get_object().if_contains("keys") : nullptr;
  if (!list || !list->is_array()) {
    error = "not a JWK set (a JSON object with a \"keys\" array)";
    return false;
  }
  keys.clear();
  for (const json::value& jwk : list->get_array()) {
    if (keys.size() == 64) {
      skipped.push_back("keys after the 64th");
      break;
    }
    std::string why;
    if (std::optional<Key> key = keyFromJwk(jwk, why))
      keys.push_back(std::move(*key));
    else
      skipped.push_back(std::move(why));
  }
  return true;
}

std::optional<Key> keyFromPem(std::string_view pem, std::string& error) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = bio ? PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr) : nullptr;
  if (!pkey && bio) {
    (void)BIO_reset(bio);
    // "RSA PUBLIC KEY" (PKCS#1).
    OSSL_DECODER_CTX* dctx = OSSL_DECODER_CTX_new_for_pkey(&pkey, "PEM", "type-specific", "RSA",
                                                           EVP_PKEY_PUBLIC_KEY, nullptr, nullptr);
    if (dctx) OSSL_DECODER_from_bio(dctx, bio);
    OSSL_DECODER_CTX_free(dctx);
  }
  if (!pkey && bio) {
    (void)BIO_reset(bio);
    if (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
      pkey = X509_get_pubkey(cert);
      X509_free(cert);
    }
  }
  BIO_free(bio);
  if (!pkey) {
    error = "not a PEM public key or certificate";
    return std::nullopt;
  }
  Key key;
  key.pkey = own(pkey);
  std::optional<KeyType> type = typeOfPkey(pkey, error);
  if (!type) return std::nullopt;
  key.type = *type;
  return key;
}

Key keyFromSecret(std::string secret) {
  Key key;
  key.type = KeyType::Secret;
  key.secret = std::move(secret);
  return key;
}

bool parse(std::string_view compact, Token& token, std::string& error) {
  size_t dot1 = compact.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : compact.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || compact.find('.', dot2 + 1) != std::string_view::npos) {
    error = "the token is not a signed JWT (three dot-separated parts)";
    return false;
  }
  std::string header, payload;
  if (!base64UrlDecode(compact.substr(0, dot1), header) ||
      !base64UrlDecode(compact.substr(dot1 + 1, dot2 - dot1 - 1), payload) ||
      !base64UrlDecode(compact.substr(dot2 + 1), token.signature)) {
    error = "the token is not base64url";
    return false;
  }
  json::parse_options opts;
  opts.max_depth = 32;
  boost::system::error_code ec;
  json::value h = json::parse(header, ec, {}, opts);
  if (ec || !h.is_object()) {
    error = "the token's header is not a JSON object";
    return false;
  }
  const json::object& ho = h.get_object();
  std::string_view alg = stringMember(ho, "alg");
  std::optional<Alg> known = algFromName(alg);
  if (!known) {
    error = alg.empty() ? "the token names no algorithm"
                        : "algorithm " + std::string(alg.substr(0, 16)) + " is not accepted";
    return false;
  }
  token.alg = *known;
  if (ho.contains("crit")) {
    error = "the token has critical header extensions";
    return false;
  }
  if (const json::value* b64 = ho.if_contains("b64"); b64 && !(b64->is_bool() && b64->get_bool())) {
    error = "unencoded payloads are not accepted";
    return false;
  }
  token.kid = std::string(stringMember(ho, "kid"));
  token.claims = json::parse(payload, ec, {}, opts);
  if (ec || !token.claims.is_object()) {
    error = "the token's payload is not a JSON object";
    return false;
  }
  token.signingInput = compact.substr(0, dot2);
  return true;
}

bool verify(const Token& token, const Key& key) {
  if (!fits(token.alg, key.type) || (key.alg && *key.alg != token.alg)) return false;
  const EVP_MD* md = digestOf(token.alg);
  const auto* data = reinterpret_cast<const unsigned char*>(token.signingInput.data());
  if (key.type == KeyType::Secret) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(md, key.secret.data(), static_cast<int>(key.secret.size()), data,
              token.signingInput.size(), mac, &len))
      return false;
    return constantTimeEquals(std::string_view(reinterpret_cast<char*>(mac), len), token.signature);
  }
  std::string der;
  std::string_view signature = token.signature;
  if (key.type == KeyType::P256 || key.type == KeyType::P384 || key.type == KeyType::P521) {
    if (!ecdsaToDer(signature, ecHalf(key.type), der)) return false;
    signature = der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, key.pkey.get()) == 1;
  if (ok && (token.alg == Alg::PS256 || token.alg == Alg::PS384 || token.alg == Alg::PS512))
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  ok = ok && EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()),
                              signature.size(), data, token.signingInput.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace causeway::gateway::api::jose
