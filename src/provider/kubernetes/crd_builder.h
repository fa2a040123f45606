// providers.kubernetesCRD: Traefik's custom resources (traefik.io/v1alpha1) as dynamic
// configuration, with the names Traefik generates (docs/kubernetes.md, "kubernetesCRD"):
//
//   IngressRoute   → routers `<ns>-<name>-<first 10 bytes of sha256(match) in hex>`, each with
//                    the service of its one backend or a weighted service of its backends;
//   Service refs   → load-balancer services `<ns>-<service>-<port>` whose servers are the
//                    ready endpoints of the Service's EndpointSlices (or its ClusterIP with
//                    nativeLB, or its externalName when allowed);
//   Middleware, TraefikService, ServersTransport, TLSOption → `<ns>-<name>`;
//   TLSStore `default` → the default store; Secrets → certificates, CAs and credentials.
//
// An object that cannot be served (a missing Service or Secret, a reference to another
// namespace without allowCrossNamespace, a malformed field) becomes a notice on that object
// and the rest is served. IngressRouteTCP, IngressRouteUDP, MiddlewareTCP and
// ServersTransportTCP are read and reported as not supported yet.
//
// Pure: a function of the objects (kube_objects.h).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "provider/kubernetes/kube_objects.h"

namespace causeway::provider::kube {

struct CrdOptions {
  std::string ingressClass;  // only objects with this kubernetes.io/ingress.class annotation
  bool allowCrossNamespace = false;
  bool allowExternalNameServices = false;
  bool allowEmptyServices = false;
  bool nativeLBByDefault = false;
};

// The resources the build reads: Traefik's kinds (selected by `labelSelector`), Services,
// EndpointSlices, Secrets and ConfigMaps.
std::vector<WatchedResource> crdResources();

// What a build keeps for the next one: the configuration tree it made (shared with the pipeline,
// copied only if the pipeline still holds it), and for each IngressRoute the routers and
// services it put there, its certificates and notices, with the resourceVersions of the objects
// they were made from (the IngressRoute, and the Services, EndpointSlices, Secrets and
// TraefikServices it refers to). An IngressRoute none of whose objects changed is left as it is
// in the tree: a change of one EndpointSlice among 5,000 IngressRoutes rebuilds the routes
// that use it.
struct CrdCache {
  struct Entry {
    std::string version;
    std::vector<std::pair<std::string, std::string>> dependencies;  // "Kind ns/name" → resourceVersion ("" absent)
    std::vector<std::string> routers, services;  // what it put in the tree
    config::Node certificates = config::Node::list();
    std::vector<config::ConfigError> notices;
    uint64_t seenIn = 0;  // the last scan that found the IngressRoute
  };
  std::map<std::string, Entry, std::less<>> routes;  // by "ns/name" of the IngressRoute
  std::map<std::string, std::string, std::less<>> otherClass;  // IngressRoutes of another class → version
  uint64_t scans = 0;
  std::shared_ptr<config::Node> tree;
  std::map<std::string, int> routerOwners;   // a router → how many IngressRoutes put it there (a name
                                             // can collide: a/b-c and a-b/c)
  std::map<std::string, int> serviceOwners;  // a service of IngressRoutes → how many put it there
  std::set<std::string> otherServices;       // the services of TraefikServices and middlewares
};

KubeBuild buildCrdConfig(const KubeObjects& objects, const CrdOptions& options, CrdCache* cache = nullptr);

// Traefik's generated names.
std::string makeId(std::string_view ns, std::string_view name);                 // "<ns>-<name>"
std::string crdRouterName(std::string_view ns, std::string_view name, std::string_view match);
std::string serviceName(std::string_view ns, std::string_view service, std::string_view port);

}  // namespace causeway::provider::kube
