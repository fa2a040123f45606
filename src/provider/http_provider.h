// providers.http: a dynamic configuration served by an HTTP endpoint of the user's platform
// (docs/providers.md, "HTTP"). The endpoint is read every `pollInterval` (5 s), each read
// bounded by `pollTimeout` (5 s) and `maxResponseBodySize` (no bound by default); the answer
// must be 200 with the configuration in JSON (or YAML). A configuration is emitted only when
// it changed. An endpoint that cannot be reached, answers another status, times out, sends too
// much or sends something that does not parse leaves the last good configuration serving,
// logged once and shown in the API's warnings until a read succeeds again.
#pragma once

#include <memory>
#include <string>

#include "config/static_config.h"
#include "provider/provider.h"

namespace causeway::provider {

class HttpProvider final : public Provider {
 public:
  explicit HttpProvider(config::HttpProvider options);
  ~HttpProvider() override;
  const std::string& name() const override { return name_; }
  LoadResult load() override;
  void watch(asio::io_context& control, ConfigSink sink) override;
  void reload() override;

  struct State;  // shared with the poll loop, which may outlive the provider by one wake-up

 private:
  std::string name_ = "http";
  std::shared_ptr<State> state_;
};

}  // namespace causeway::provider
