// providers.redis: dynamic configuration kept in Redis, in Traefik's KV layout
// (docs/providers.md, "Redis"). Every key under `rootKey` + "/" is one value of the tree:
// `traefik/http/routers/api/rule` = "Host(`a`)", list items by index
// (`traefik/http/routers/api/entryPoints/0` = "web"); names match case-insensitively, as every
// configuration source's do. Values are plain strings (a JSON object is not expanded).
//
// The keys are read with SCAN (MATCH rootKey/*) and MGET, and read again every `pollInterval`
// (1 s), or at once when a keyspace notification says a key under the root changed (when the
// server publishes them); a new configuration is emitted only when the keys or values changed. When Redis cannot
// be reached or answers an error, the last good configuration keeps serving, the error is logged
// once (and once more when Redis is back), and the next poll reconnects. Runs on the control
// thread's event loop, with a watchdog of its own for the client's timeouts.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/static_config.h"
#include "provider/provider.h"

namespace causeway::provider {

class RedisProvider final : public Provider {
 public:
  explicit RedisProvider(config::RedisProvider options);
  ~RedisProvider() override;
  const std::string& name() const override { return name_; }
  LoadResult load() override;
  void watch(asio::io_context& control, ConfigSink sink) override;
  void reload() override;

  struct State;  // shared with the poll loop, which may outlive the provider by one wake-up

 private:
  std::string name_ = "redis";
  std::shared_ptr<State> state_;
};

}  // namespace causeway::provider
