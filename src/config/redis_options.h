// The `redis` block of the middlewares that keep their state in Redis (Traefik's rateLimit,
// and causeway's ai-rate-limit and ai-quota): where Redis is and how to reach it, as Traefik
// spells it. clients/redis/redis_settings.h turns it into client settings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/client_tls.h"
#include "config/duration.h"

namespace causeway::config {

struct RedisOptions {
  std::vector<std::string> endpoints{"localhost:6379"};
  std::optional<ClientTls> tls;
  std::string username;
  std::string password;
  int64_t db = 0;
  int64_t poolSize = 0;
  int64_t minIdleConns = 0;
  int64_t maxActiveConns = 0;
  Duration readTimeout = std::chrono::seconds(3);
  Duration writeTimeout = std::chrono::seconds(3);
  Duration dialTimeout = std::chrono::seconds(5);

  static void describe(auto& self, auto& v) {
    v("endpoints", self.endpoints);
    v("tls", self.tls);
    v("username", self.username);
    v("password", self.password);
    v("db", self.db);
    v("poolSize", self.poolSize);
    v("minIdleConns", self.minIdleConns);
    v("maxActiveConns", self.maxActiveConns);
    v("readTimeout", self.readTimeout);
    v("writeTimeout", self.writeTimeout);
    v("dialTimeout", self.dialTimeout);
  }
};

}  // namespace causeway::config
