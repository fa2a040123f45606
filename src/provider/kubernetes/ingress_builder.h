// providers.kubernetesIngress: networking.k8s.io/v1 Ingresses of causeway's class as dynamic
// configuration, with Traefik's names and annotations (docs/kubernetes.md, "kubernetesIngress"):
//
//   each host and path → router `<ns>-<ingress>-<host><path>` (normalized), rule
//     Host(`host`) && PathPrefix(`path`) (Path for pathType Exact; the router.pathmatcher
//     annotation for ImplementationSpecific), with the traefik.ingress.kubernetes.io/router.*
//     annotations;
//   each backend → service `<ns>-<service>-<port>` whose servers are the ready endpoints, with
//     the traefik.ingress.kubernetes.io/service.* annotations of the Service;
//   spec.defaultBackend of an Ingress without rules → router `default-router`
//     (PathPrefix(`/`), lowest priority) to service `default-backend`;
//   spec.tls → the Secrets' certificates (TLS on the routers is the router.tls annotation's);
//   ingressEndpoint → status.loadBalancer.ingress written back to each Ingress.
//
// Pure: a function of the objects (kube_objects.h).
#pragma once

#include <string>
#include <vector>

#include "provider/kubernetes/kube_objects.h"

namespace causeway::provider::kube {

struct IngressOptions {
  std::string ingressClass;  // empty: Ingresses without a class, or of class "traefik"
  bool allowExternalNameServices = false;
  bool allowEmptyServices = false;
  bool nativeLBByDefault = false;
  bool strictPrefixMatching = false;
  bool disableIngressClassLookup = false;
  // ingressEndpoint: what the Ingresses' status says
  std::string endpointIp, endpointHostname, publishedService;
};

// The resources the build reads: Ingresses (selected by `labelSelector`), IngressClasses,
// Services, EndpointSlices and Secrets.
std::vector<WatchedResource> ingressResources();

KubeBuild buildIngressConfig(const KubeObjects& objects, const IngressOptions& options);

}  // namespace causeway::provider::kube
