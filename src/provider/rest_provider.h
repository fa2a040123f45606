// providers.rest: dynamic configuration PUT to causeway's API, as Traefik's REST provider takes
// it (docs/providers.md, "REST"): `PUT /api/providers/rest` with the whole dynamic
// configuration in JSON (or YAML) replaces the provider's configuration. The router is
// rest@internal: on the `traefik` entryPoint with `insecure`, else any router naming it. The
// handler runs on a worker and hands the parsed tree to the control thread (deliver()), which
// emits it like any provider's. Nothing is kept across restarts.
#pragma once

#include <string>

#include "provider/provider.h"

namespace causeway::provider {

class RestProvider final : public Provider {
 public:
  const std::string& name() const override { return name_; }
  // Nothing until the first PUT (not an error).
  LoadResult load() override { return {}; }
  void watch(asio::io_context& control, ConfigSink sink) override;
  void reload() override {}
  // From any thread: the configuration of a PUT, emitted on the control thread. False before
  // watch() (causeway is not serving yet).
  bool deliver(config::Node root);

 private:
  std::string name_ = "rest";
  asio::io_context* control_ = nullptr;
  ConfigSink sink_;
};

}  // namespace causeway::provider
