// Password hashes as Apache's htpasswd writes them, checked the way Traefik's basicAuth
// (abbot/go-http-auth) checks them:
//   "{SHA}<base64 SHA-1>"                 htpasswd -s
//   "$2y$" / "$2a$" / "$2b$" / "$2x$"       bcrypt, htpasswd -B (via libxcrypt's crypt_r)
//   anything else "$<magic>$<salt>$<hash>"  MD5-crypt with that magic ("$apr1$": htpasswd -m;
//                                          "$1$": crypt(3) MD5)
// Every comparison runs in time independent of where the strings differ. Pure and
// thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace causeway::middleware::htpasswd {

// True when `password` matches `secret`.
bool checkSecret(std::string_view password, std::string_view secret);

// True when checking `secret` is expensive (bcrypt): callers run it off the event loop.
bool isSlow(std::string_view secret);

// MD5-crypt: magic + salt + "$" + 22 characters of hash (the salt is used as given).
std::string md5Crypt(std::string_view password, std::string_view salt, std::string_view magic);

// "{SHA}" + base64(SHA-1(password)).
std::string sha1Secret(std::string_view password);

// bcrypt of `password` with the parameters (cost, salt) of `hash`; "" when `hash` is not a
// bcrypt hash. The result starts with "$2b$" whatever the input's variant.
std::string bcryptWithSettingsOf(std::string_view password, std::string_view hash);

}  // namespace causeway::middleware::htpasswd
