// providers.consul: dynamic configuration kept in Consul KV, in Traefik's KV layout
// (docs/providers.md, "Consul KV"), the same keys as the Redis and etcd providers'.
//
// The keys under `rootKey/` are read with one recursive GET of Consul's KV HTTP API, then
// followed with blocking queries: the same GET with `index=<X-Consul-Index of the last answer>`
// and `wait=55s`, which Consul holds until something under the prefix changes. So a change is
// seen at once and an idle store costs one request a minute. An index that goes backwards
// (Consul restored from a snapshot, another server) starts over from a plain read, as Consul's
// documentation says. When Consul cannot be reached or answers an error, the last good
// configuration keeps serving, the outage is logged once and shown in the API's warnings, and
// the next endpoint is tried after a backoff (0.5 s doubling to 30 s). `token` goes in
// `X-Consul-Token`; `tls` gives https with the Traefik ClientTLS options.
#pragma once

#include <memory>
#include <string>

#include "config/static_config.h"
#include "provider/provider.h"

namespace causeway::provider {

class ConsulProvider final : public Provider {
 public:
  explicit ConsulProvider(config::ConsulProvider options);
  ~ConsulProvider() override;
  const std::string& name() const override { return name_; }
  LoadResult load() override;
  void watch(asio::io_context& control, ConfigSink sink) override;
  void reload() override;

  struct State;  // shared with the watch loop, which may outlive the provider by one wake-up

 private:
  std::string name_ = "consul";
  std::shared_ptr<State> state_;
};

}  // namespace causeway::provider
