// providers.kubernetesGateway: the Gateway API (gateway.networking.k8s.io) as dynamic
// configuration, with Traefik's generated names and the statuses the Gateway API specifies
// (docs/kubernetes.md, "kubernetesGateway"):
//
//   GatewayClass (controllerName traefik.io/gateway-controller) → Accepted;
//   Gateway listener → the entryPoint whose address has the listener's port; HTTPS listeners'
//     certificateRefs → certificates (another namespace needs a ReferenceGrant);
//   HTTPRoute / GRPCRoute rule match, per listener it attaches to → router
//     `httproute-<ns>-<name>-gw-<gwNs>-<gw>-ep-<ep>-<rule>-<first 10 bytes of sha256(rule) in hex>`
//     with service `<router>-wrr` (weighted) over `<router>-svc-<ns>-<service>-<i>`;
//   filters → middlewares `<router>-<type>-<i>` (headers, redirectRegex, replacePath…);
//   BackendTLSPolicy → a serversTransport for the backend;
//   statuses written back: GatewayClass, Gateway (listeners, attachedRoutes, addresses), routes'
//     parents (Accepted, ResolvedRefs).
//
// A backend that cannot be used (missing, refused by ReferenceGrant, wrong kind) answers 500
// through `invalid-backend@internal`, as Traefik's internal 500 child does. TLSRoute and
// TCPRoute need TCP routers, which causeway does not have yet: they are reported per object.
//
// Pure: a function of the objects (kube_objects.h) and of the entryPoints.
#pragma once

#include <string>
#include <vector>

#include "provider/kubernetes/kube_objects.h"

namespace causeway::provider::kube {

struct GatewayEntryPoint {
  std::string name;
  int port = 0;
  bool httpTls = false;  // http.tls set: not a target of HTTP listeners
};

struct GatewayOptions {
  std::vector<GatewayEntryPoint> entryPoints;
  // statusAddress: what the Gateways' status.addresses say (ip, else hostname, else a Service's
  // load balancer).
  std::string statusIp, statusHostname, statusServiceName, statusServiceNamespace;
  bool nativeLBByDefault = false;
  bool experimentalChannel = false;
};

std::vector<WatchedResource> gatewayResources(bool experimentalChannel);

KubeBuild buildGatewayConfig(const KubeObjects& objects, const GatewayOptions& options);

// Go's %q of `text` (Traefik writes the Gateway rules' values so).
std::string goQuote(std::string_view text);

}  // namespace causeway::provider::kube
