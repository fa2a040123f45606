// JSON Web Signatures as the jwt middleware checks them (RFC 7515, 7517, 7518, 8037): the
// compact form `header.payload.signature`, keys from JWK sets, PEM public keys or a shared
// secret, and the algorithms HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512 and
// EdDSA (Ed25519, Ed448; also the fully specified name `Ed25519`).
//
// What is refused, whatever the key (docs/api-gateway.md, "JWT"; docs/security.md A01–A04):
//  - `alg: none` and any algorithm not listed above;
//  - algorithm confusion: an algorithm checks only keys of its own family and size (HS* only a
//    shared secret, RS*/PS* only RSA keys of 2048 bits or more, ES256 only a P-256 key, ES384
//    P-384, ES512 P-521, EdDSA only an Ed25519/Ed448 key), and a key whose JWK names an `alg`
//    checks that algorithm only;
//  - `crit` headers (no extension is understood) and unencoded payloads (`b64: false`);
//  - a payload that is not a JSON object.
// Signatures are checked with OpenSSL; HMACs are compared in constant time.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace causeway::gateway::api::jose {

enum class Alg : uint8_t {
  HS256,
  HS384,
  HS512,
  RS256,
  RS384,
  RS512,
  PS256,
  PS384,
  PS512,
  ES256,
  ES384,
  ES512,
  EdDSA,
  Ed25519
};
std::optional<Alg> algFromName(std::string_view name);
std::string_view algName(Alg alg);

enum class KeyType : uint8_t { Secret, Rsa, P256, P384, P521, Ed25519, Ed448 };

// One verification key.
struct Key {
  std::string kid;
  std::optional<Alg> alg;  // the JWK's "alg": the only algorithm this key checks
  KeyType type = KeyType::Secret;
  std::string secret;  // KeyType::Secret
  std::shared_ptr<EVP_PKEY> pkey;
};

// Whether `alg` may be checked with a key of `type` (the algorithm-confusion rule above).
bool fits(Alg alg, KeyType type);

// A JWK (RFC 7517 §4) as a key: kty RSA (n, e), EC (crv P-256/P-384/P-521, x, y; the point must
// be on the curve), OKP (crv Ed25519/Ed448, x) or oct (k). nullopt with `error` for anything
// else, and for keys meant for encryption (`use: enc`) or too weak (RSA under 2048 bits).
std::optional<Key> keyFromJwk(const boost::json::value& jwk, std::string& error);

// A JWK set ({"keys": [...]}): the usable keys, at most 64. Keys that cannot be used are
// skipped and described in `skipped`; false with `error` when the text is not a JWK set.
bool parseJwks(std::string_view text, std::vector<Key>& keys, std::vector<std::string>& skipped,
               std::string& error);

// A PEM public key ("PUBLIC KEY", "RSA PUBLIC KEY") or certificate; nullopt with `error`.
std::optional<Key> keyFromPem(std::string_view pem, std::string& error);

Key keyFromSecret(std::string secret);

// A compact JWS taken apart. The views point into the token text given to parse().
struct Token {
  std::string_view signingInput;  // header.payload, what the signature covers
  std::string signature;          // decoded
  Alg alg = Alg::HS256;
  std::string kid;
  boost::json::value claims;  // the payload, a JSON object
};

// Splits and decodes `compact` and checks its header (alg, crit, b64). False with `error` (a
// short description without the token) when it is not a well-formed signed JWT.
bool parse(std::string_view compact, Token& token, std::string& error);

// Whether `key` may check `token` (fits and the key's alg), and its signature is good.
bool verify(const Token& token, const Key& key);

}  // namespace causeway::gateway::api::jose
