// providers.etcd: dynamic configuration kept in etcd v3, in Traefik's KV layout
// (docs/providers.md, "etcd"), the same keys as the Redis provider's:
// `traefik/http/routers/api/rule` = "Host(`a`)", list items by index, names matched
// case-insensitively.
//
// etcd is spoken to through its v3 JSON gateway (the gRPC API as JSON over HTTP/1.1, served on
// the same client URLs): one range read of the prefix `rootKey/` gives the keys and the store's
// revision; then one watch from the next revision streams every change, which is applied to
// the keys held in memory, so a change costs work in proportion to the change plus one rebuild
// of the tree. When the connection breaks (etcd restarted, a member gone), the watch resumes
// from the last revision seen, on the next endpoint, after a backoff (0.5 s doubling to 30 s);
// only when etcd has compacted that revision away are the keys read whole again. Meanwhile the
// last good configuration keeps serving and the outage is shown in the API's warnings.
// `username`/`password` authenticate (`/v3/auth/authenticate`); `tls` gives https with the
// Traefik ClientTLS options.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "config/static_config.h"
#include "provider/provider.h"

namespace causeway::provider {

class EtcdProvider final : public Provider {
 public:
  explicit EtcdProvider(config::EtcdProvider options);
  ~EtcdProvider() override;
  const std::string& name() const override { return name_; }
  LoadResult load() override;
  void watch(asio::io_context& control, ConfigSink sink) override;
  void reload() override;

  struct State;  // shared with the watch loop, which may outlive the provider by one wake-up

 private:
  std::string name_ = "etcd";
  std::shared_ptr<State> state_;
};

}  // namespace causeway::provider
