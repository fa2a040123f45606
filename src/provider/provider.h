// A provider discovers dynamic configuration (file, KV stores, Docker, Kubernetes, ...)
// and emits it as a generic tree. It knows nothing of routers or sockets (design:
// "A provider only emits configuration").
//
// Threading: providers run on the control thread's io_context; they call the sink from
// that thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config_error.h"
#include "config/node.h"
#include "io/asio.h"

namespace causeway::provider {

// One complete configuration from one provider (not a diff).
struct ProviderConfig {
  std::string provider;  // "file", "redis", ... (the @suffix of qualified names)
  config::Node root;     // dynamic configuration: {http: ..., tls: ..., tcp: ..., udp: ...}
  // Instead of `root`: a tree the provider keeps and shares (it copies it before changing it
  // while the pipeline still holds it), so that a large configuration is not copied per change.
  std::shared_ptr<const config::Node> shared;
  uint64_t fingerprint = 0;  // config::fingerprint of the tree when the provider computed it (0: not)
  // What the provider could not turn into configuration, with where it was (a Kubernetes
  // object's kind and name): shown in the API's and the dashboard's warnings. Part of the
  // fingerprint SourceWatch computes, so that a new notice alone is delivered.
  std::vector<config::ConfigError> notices;

  const config::Node& tree() const { return shared ? *shared : root; }
};

// Outcome of loading: `ok` false means the configuration could not be read at all and
// the previous one must stay (errors say why, with file and line).
struct LoadResult {
  bool ok = false;
  ProviderConfig config;
  std::vector<config::ConfigError> errors;  // errors and warnings
};

using ConfigSink = std::function<void(ProviderConfig)>;

class Provider {
 public:
  virtual ~Provider() = default;
  virtual const std::string& name() const = 0;
  // Reads the configuration once, synchronously (start-up and `causeway check`).
  virtual LoadResult load() = 0;
  // Starts watching; calls `sink` with every new complete configuration.
  virtual void watch(asio::io_context& control, ConfigSink sink) = 0;
  // Re-reads now (SIGHUP).
  virtual void reload() = 0;

  // Where the provider reports that it cannot read its source now ("" once it can again), for
  // the API's and the dashboard's warnings. Set before watch(); called on the control thread.
  void onStatus(std::function<void(const std::string& error)> status) { status_ = std::move(status); }

 protected:
  void reportStatus(const std::string& error) const {
    if (status_) status_(error);
  }
  // reportStatus as a callable, for a provider's watch.
  std::function<void(const std::string&)> statusReporter() const {
    return [this](const std::string& error) { reportStatus(error); };
  }

 private:
  std::function<void(const std::string&)> status_;
};

}  // namespace causeway::provider
