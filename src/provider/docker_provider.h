// providers.docker: routers and services from the labels of Docker containers
// (docs/providers.md, "Docker"; the label grammar and auto-wiring in docker_labels.h).
//
// The Engine API is read over `endpoint` (the unix socket by default; tcp://host:port is plain
// HTTP, https with `tls`): GET /containers/json lists the running containers and
// GET /containers/{id}/json inspects each. With `watch` (the default), GET /events streams the
// containers' events and any of them (start, die, health_status, …) lists the containers again,
// a burst coalesced over 100 ms; the list is also read again every 30 s, in case an event was
// lost while the stream reconnected. When the engine cannot be reached, the last good
// configuration keeps serving and the outage is shown in the API's warnings.
#pragma once

#include <memory>
#include <string>

#include "config/static_config.h"
#include "provider/provider.h"

namespace causeway::provider {

class DockerProvider final : public Provider {
 public:
  explicit DockerProvider(config::DockerProvider options);
  ~DockerProvider() override;
  const std::string& name() const override { return name_; }
  LoadResult load() override;
  void watch(asio::io_context& control, ConfigSink sink) override;
  void reload() override;
  // The configuration of `docker inspect` output (a JSON list of containers) with this
  // provider's options, instead of the engine's: `causeway check --dockerInspect`.
  LoadResult loadInspect(const std::string& path) const;

  struct State;  // shared with the loops, which may outlive the provider by one wake-up

 private:
  std::string name_ = "docker";
  std::shared_ptr<State> state_;
};

}  // namespace causeway::provider
