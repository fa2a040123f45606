// providers.zooKeeper: dynamic configuration kept in ZooKeeper, in Traefik's KV layout
// (docs/providers.md, "ZooKeeper"): the znode /traefik/http/routers/app/rule holds "Host(`a`)";
// a znode without children is a value, one with children a directory (its own data unused).
//
// The tree under /rootKey is read level by level, each level's requests pipelined on one
// session (clients/zookeeper), every read leaving a watch; a fired watch reads the tree again
// (a burst coalesced over 100 ms). The session is kept alive with pings. When ZooKeeper cannot
// be reached or the session is lost, the last good configuration keeps serving, the outage is
// logged once and shown in the API's warnings, and the next endpoint is tried after a backoff.
// `username`/`password` authenticate with the digest scheme.
#pragma once

#include <memory>
#include <string>

#include "config/static_config.h"
#include "provider/provider.h"

namespace causeway::provider {

class ZooKeeperProvider final : public Provider {
 public:
  explicit ZooKeeperProvider(config::ZooKeeperProvider options);
  ~ZooKeeperProvider() override;
  const std::string& name() const override { return name_; }
  LoadResult load() override;
  void watch(asio::io_context& control, ConfigSink sink) override;
  void reload() override;

  struct State;  // shared with the watch loop, which may outlive the provider by one wake-up

 private:
  std::string name_ = "zookeeper";
  std::shared_ptr<State> state_;
};

}  // namespace causeway::provider
