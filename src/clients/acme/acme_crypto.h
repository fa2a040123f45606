// The cryptography of an ACME client (RFC 8555, RFC 7515/7638): keys, JWS signatures, JWK
// thumbprints, certificate requests. Over OpenSSL; every function reports failure by return
// value, never by exception. docs/acme.md.
#pragma once

#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace causeway::clients::acme {

struct KeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyDeleter>;

// A new key of Traefik's keyType ("RSA2048", "RSA4096", "RSA8192", "EC256", "EC384").
Key generateKey(std::string_view keyType);

// Traefik's acme.json account key: an RSA key as PKCS#1 DER (base64 in the file).
std::string accountKeyDer(EVP_PKEY* key);
Key accountKeyFromDer(std::string_view der);

// PEM of a private key ("RSA PRIVATE KEY" / "EC PRIVATE KEY", as lego writes them).
std::string privateKeyPem(EVP_PKEY* key);

// The public key as a JWK (members in the order RFC 7638 uses for the thumbprint) and the
// JWS algorithm ("RS256", "ES256", "ES384").
std::string jwk(EVP_PKEY* key);
std::string jwsAlgorithm(EVP_PKEY* key);
// base64url(SHA-256(jwk)): the account's thumbprint in key authorizations.
std::string thumbprint(EVP_PKEY* key);

// A flattened JWS: {"protected", "payload", "signature"}. `protectedHeader` is the JSON text.
// Empty on failure.
std::string signJws(EVP_PKEY* key, std::string_view protectedHeader, std::string_view payload);

// HMAC-SHA256 JWS for external account binding (RFC 8555 §7.3.4): `macKey` raw bytes.
std::string signHmacJws(std::string_view macKey, std::string_view protectedHeader, std::string_view payload);

// A PKCS#10 request (DER) for `names` (the first is the common name unless `noCommonName`).
std::string certificateRequest(EVP_PKEY* key, const std::vector<std::string>& names, bool noCommonName);

std::string sha256(std::string_view data);

// The self-signed certificate and key (PEM) a TLS-ALPN-01 challenge presents for `domain`
// (RFC 8737): the domain as its only SAN and the critical acmeIdentifier extension holding
// SHA-256(keyAuthorization). Empty strings on failure.
std::pair<std::string, std::string> tlsAlpnCertificate(const std::string& domain, std::string_view keyAuthorization);

}  // namespace causeway::clients::acme
