#include "provider/rest_provider.h"

namespace causeway::provider {

void RestProvider::watch(asio::io_context& control, ConfigSink sink) {
  control_ = &control;
  sink_ = std::move(sink);
}

bool RestProvider::deliver(config::Node root) {
  if (!control_) return false;
  asio::post(*control_, [this, root = std::move(root)]() mutable {
    ProviderConfig config;
    config.provider = "rest";
    config.root = std::move(root);
    sink_(std::move(config));
  });
  return true;
}

}  // namespace causeway::provider
