// From a middleware's `redis` options (config/redis_options.h) to the client's settings, the
// same way for every middleware that keeps state in Redis.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "clients/redis/redis_client.h"
#include "config/redis_options.h"

namespace causeway::clients::redis {

// nullopt with `error` set when the options cannot be used (no endpoint, bad TLS files).
// `workers` shares maxActiveConns out between the workers (go-redis limits the process).
std::optional<RedisSettings> settingsFrom(const config::RedisOptions& options, unsigned workers, std::string& error);

// The SHA-1 of a Lua script in hex, as EVALSHA names it.
std::string scriptSha1(std::string_view script);

}  // namespace causeway::clients::redis
