// What the Kubernetes providers (kubernetesCRD, kubernetesIngress) share: the API client, one
// reflector per resource (and per namespace when `namespaces` is set), the build of a complete
// configuration from the objects once every resource has been listed, again after a change
// (coalesced over `throttleDuration`, 5 ms by default), and status writes back to the
// objects (the Ingress status). The build itself is the provider's: a pure function of the
// objects (crd_builder.h, ingress_builder.h).
//
// When the API server cannot be reached or refuses, the last good configuration keeps
// serving and the outage is shown in the API's warnings, as with the other remote providers.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "clients/kubernetes/kube_client.h"
#include "config/static_config.h"
#include "provider/kubernetes/kube_objects.h"
#include "provider/provider.h"

namespace causeway::provider {

class KubernetesProvider : public Provider {
 public:
  using Build = std::function<kube::KubeBuild(const kube::KubeObjects&)>;

  // `name`: the @suffix ("kubernetescrd"); `optionsPath`: for messages
  // ("providers.kubernetesCRD"); `resources`: what the build reads (cluster-scoped ones once,
  // namespaced ones per namespace of `options.namespaces`).
  KubernetesProvider(std::string name, std::string optionsPath, const config::KubernetesOptions& options,
                     std::vector<kube::WatchedResource> resources, Build build);
  ~KubernetesProvider() override;

  const std::string& name() const override { return name_; }
  LoadResult load() override;
  void watch(asio::io_context& control, ConfigSink sink) override;
  void reload() override;

  struct State;  // shared with the loops, which may outlive the provider by one wake-up

 private:
  std::string name_;
  std::shared_ptr<State> state_;
};

}  // namespace causeway::provider
