// providers.kubernetesIngressNGINX: Ingresses of ingress-nginx's class with their
// `nginx.ingress.kubernetes.io/*` annotations, as Traefik's provider of the same name reads them,
// for users leaving the retired ingress-nginx (docs/kubernetes.md, "Migrating from ingress-nginx"):
//
//   path pi of rule ri → routers `<ns>-<ingress>-rule-<ri>-path-<pi>` (the non-TLS entryPoints)
//     and `…-tls` (the TLS ones), rule Host("h") && PathPrefix / Path / PathRegexp("(?i)^p") for
//     a host in regex mode (use-regex or rewrite-target on any of its Ingresses);
//   backend → service `<ns>-<ingress>-<service>-<port>`, servers transport `<ns>-<ingress>`;
//   annotations → middlewares `<router>-<suffix>` (redirect-scheme, rewrite-target, cors,
//     basic-auth, limit-rps, allowed-source-range, redirect, custom-headers, retry, …);
//   canary Ingresses → weighted services `<service>-wrr` and header/cookie routers `…-canary`.
//
// Every annotation causeway does not implement is reported on the Ingress (Traefik says nothing);
// snippets are refused unless allowSnippetAnnotations, as in Traefik.
//
// Pure: a function of the objects (kube_objects.h).
#pragma once

#include <string>
#include <vector>

#include "provider/kubernetes/kube_objects.h"

namespace causeway::provider::kube {

struct NginxOptions {
  std::string ingressClass = "nginx";
  std::string controllerClass = "k8s.io/ingress-nginx";
  bool watchIngressWithoutClass = false;
  bool ingressClassByName = false;
  std::string publishService;                    // ns/name whose address goes to the Ingress status
  std::vector<std::string> publishStatusAddress;  // or these
  std::string defaultBackendService;             // ns/name: the catch-all backend
  bool allowSnippetAnnotations = false;
  bool allowCrossNamespaceResources = false;
  bool strictValidatePathType = true;
  bool disableSvcExternalName = false;
  std::vector<std::string> globalAllowedResponseHeaders;
  std::vector<std::string> nonTlsEntryPoints;  // httpEntryPoint, else the entryPoints without http.tls
  std::vector<std::string> tlsEntryPoints;     // httpsEntryPoint, else none (the default entryPoints)
  int64_t proxyBodySize = 1048576;
  int proxyConnectTimeout = 60, proxyReadTimeout = 60, proxySendTimeout = 60, upstreamKeepaliveTimeout = 60;
  int proxyNextUpstreamTries = 3;
};

std::vector<WatchedResource> nginxResources();

KubeBuild buildNginxConfig(const KubeObjects& objects, const NginxOptions& options);

}  // namespace causeway::provider::kube
