#include "clients/redis/redis_settings.h"

#include <openssl/sha.h>

#include <algorithm>

#include "core/bytes.h"
#include "tls/tls_stream.h"

namespace causeway::clients::redis {

std::optional<RedisSettings> settingsFrom(const config::RedisOptions& r, unsigned workers, std::string& error) {
  if (r.endpoints.empty()) {
    error = "redis.endpoints is empty";
    return std::nullopt;
  }
  RedisSettings s;
  s.endpoints = r.endpoints;
  s.username = r.username;
  s.password = r.password;
  s.db = r.db;
  s.poolSize = r.poolSize;
  workers = std::max(1u, workers);
  s.maxActiveConns = r.maxActiveConns > 0 ? std::max<int64_t>(1, (r.maxActiveConns + workers - 1) / workers) : 0;
  s.readTimeout = r.readTimeout.value;
  s.writeTimeout = r.writeTimeout.value;
  // go-redis keeps its 5 s default for a dial timeout that is not positive.
  s.dialTimeout = r.dialTimeout.value.count() > 0 ? r.dialTimeout.value : std::chrono::seconds(5);
  if (r.tls) {
    std::string tlsError;
    s.tls.context = tls::makeClientContext(*r.tls, tlsError);
    if (!s.tls.context) {
      error = "creating redis TLS config: " + tlsError;
      return std::nullopt;
    }
    s.tls.verify = !r.tls->insecureSkipVerify;
    s.useTls = true;
  }
  return s;
}

std::string scriptSha1(std::string_view script) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(script.data()), script.size(), digest);
  return hexEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

}  // namespace causeway::clients::redis
