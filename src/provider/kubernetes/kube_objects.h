// What a Kubernetes provider's build reads: the objects its reflectors keep, by kind, and the
// helpers every builder needs to read them (fields of JSON objects, Traefik's name
// normalisation, Services and their endpoints) and to report a problem with one object.
//
// Pure: no I/O, so that the builders are tested with objects written in the test.
#pragma once

#include <boost/json/value.hpp>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "clients/kubernetes/kube_client.h"
#include "config/config_error.h"
#include "config/node.h"
#include "provider/normalize.h"

namespace causeway::provider::kube {

namespace json = boost::json;
using clients::kubernetes::StoredObject;
using Object = clients::kubernetes::Object;
using ObjectMap = std::map<std::string, Object>;  // "namespace/name" → object

// The label that ties an EndpointSlice to its Service; the reflectors of EndpointSlices keep its
// value beside each object (StoredObject::indexed) so that slices are found without reading them.
inline constexpr std::string_view kServiceNameLabel = "kubernetes.io/service-name";

// The objects of every kind the provider reads (several maps per kind when it reads several
// namespaces one by one). The reflectors keep objects as text; an object is parsed when a build
// first reads it, into an arena that lives as long as this KubeObjects (one build), so pointers
// and views into objects stay valid until the build ends and no parsed document outlives it.
class KubeObjects {
 public:
  KubeObjects();
  ~KubeObjects();
  KubeObjects(KubeObjects&&) noexcept;
  KubeObjects& operator=(KubeObjects&&) noexcept;

  void add(const std::string& kind, const ObjectMap* objects) { kinds_[kind].push_back(objects); }
  const json::object* find(std::string_view kind, std::string_view ns, std::string_view name) const;
  // Every object of `kind`, by namespace then name (each one read).
  void each(std::string_view kind, const std::function<void(const json::object&)>& visit) const;
  // The EndpointSlices of the Service ns/name (label kubernetes.io/service-name), indexed on
  // first use so that a build is linear in the objects.
  const std::vector<const json::object*>& slicesOf(std::string_view ns, std::string_view service) const;

  // Without reading the objects (for a build that only checks what changed):
  // every object of `kind` with its key ("namespace/name");
  void eachStored(std::string_view kind,
                  const std::function<void(std::string_view key, const StoredObject&)>& visit) const;
  // the resourceVersion of an object ("" when there is none);
  std::string_view versionOf(std::string_view kind, std::string_view ns, std::string_view name) const;
  // the EndpointSlices of a Service.
  const std::vector<const StoredObject*>& storedSlicesOf(std::string_view ns, std::string_view service) const;
  // The object of a stored entry, read on first use (null when its text is not a JSON object).
  const json::object* read(const StoredObject& stored) const;
  // How many objects this build has read (tests: an incremental build reads what changed).
  size_t readCount() const;

 private:
  const StoredObject* findStored(std::string_view kind, std::string_view ns, std::string_view name) const;

  std::map<std::string, std::vector<const ObjectMap*>, std::less<>> kinds_;
  mutable std::map<std::string, std::vector<const StoredObject*>, std::less<>> slices_;  // "ns/service" → slices
  mutable std::map<std::string, std::vector<const json::object*>, std::less<>> readSlices_;
  mutable std::string key_;  // lookup keys, reused
  mutable bool slicesIndexed_ = false;
  struct Parsed;  // the arena and the objects read from it
  mutable std::unique_ptr<Parsed> parsed_;
};

// A resource a provider reads; `selected`: the provider's `labelSelector` applies to it (the
// provider's own kinds, not the Services and Secrets they refer to).
struct WatchedResource {
  clients::kubernetes::Resource resource;
  bool selected = false;
};

// A write of an object's status: a merge patch to `path` (…/status).
struct StatusWrite {
  std::string path;
  std::string patch;  // JSON merge patch
};

// What a build makes of the objects.
struct KubeBuild {
  config::Node root;                         // the dynamic configuration, or
  std::shared_ptr<const config::Node> shared;  // one the builder keeps (ProviderConfig::shared)
  std::vector<config::ConfigError> notices;  // per object: what could not be served, and why
  std::vector<StatusWrite> statusWrites;     // statuses that differ from what the objects say
};

// Field access that never throws: a missing field or one of another type reads as empty.
const json::object* objectAt(const json::object* o, std::string_view key);
const json::array* arrayAt(const json::object* o, std::string_view key);
std::string stringAt(const json::object* o, std::string_view key);
// The same without a copy: valid while the object is.
std::string_view stringViewAt(const json::object* o, std::string_view key);
// A number or a numeric string; `fallback` otherwise.
int64_t intAt(const json::object* o, std::string_view key, int64_t fallback = 0);
// true/false or "true"/"false"; `fallback` otherwise.
bool boolAt(const json::object* o, std::string_view key, bool fallback = false);
const json::value* valueAt(const json::object* o, std::string_view key);

std::string nameOf(const json::object& object);
std::string namespaceOf(const json::object& object);
std::string annotation(const json::object& object, std::string_view key);
std::string label(const json::object& object, std::string_view key);

using provider::normalizeName;

// The location of an object, for errors: "IngressRoute default/whoami".
config::Location locationOf(std::string_view kind, const json::object& object);

// A JSON value as a configuration tree (scalars as their text: numbers in decimal, booleans
// as true/false), every node located at `where`.
config::Node toNode(const json::value& value, const config::Location& where);

// Kubernetes' label selector syntax (equality and set based): true when `labels` match.
// False with `error` set when the selector is malformed.
bool parseSelector(std::string_view selector, std::vector<std::function<bool(const json::object*)>>& out,
                   std::string& error);

// The servers of a Service's port, from its EndpointSlices (endpoints that are serving and
// not terminating, each IP once — see docs/kubernetes.md), as "ip:port".
struct ServicePort {
  const json::object* service = nullptr;
  const json::object* port = nullptr;  // the matching entry of spec.ports
};
// The port of `service` named `port` (a number or a port name); null port when none matches.
ServicePort findServicePort(const KubeObjects& objects, std::string_view ns, std::string_view service,
                            const json::value* port);
// `readyOnly`: the Gateway provider's rule instead (conditions.ready must be true).
std::vector<std::string> endpointAddresses(const KubeObjects& objects, const ServicePort& port, bool readyOnly = false);

// How a Service becomes a load balancer's servers.
struct ServersOptions {
  std::string scheme;  // empty: https for port 443 or a port named https, else http
  bool nativeLB = false;  // the ClusterIP and port as the one server
  bool allowExternalNameServices = false;
  bool allowEmptyServices = false;
};
// The server URLs of port `port` (a number or a name) of the Service `ns/name`; false with
// `error` when it cannot be served (missing Service or port, no ready endpoints, …).
bool serviceServers(const KubeObjects& objects, const std::string& ns, const std::string& name,
                    const json::value* port, const ServersOptions& options, std::vector<std::string>& urls,
                    std::string& error);
// "80" or "http" as written.
std::string portText(const json::value* port);

// The dynamic configuration of a build's parts, each section left out when empty:
// {http: {routers, services, middlewares, serversTransports}, tcp: {the same},
//  udp: {routers, services}, tls: {certificates, options, stores}}.
struct DynamicParts {
  config::Node routers = config::Node::map(), services = config::Node::map(), middlewares = config::Node::map(),
               transports = config::Node::map(), certificates = config::Node::list(),
               tlsOptions = config::Node::map(), stores = config::Node::map();
  config::Node tcpRouters = config::Node::map(), tcpServices = config::Node::map(),
               tcpMiddlewares = config::Node::map(), tcpTransports = config::Node::map(),
               udpRouters = config::Node::map(), udpServices = config::Node::map();
  config::Node assemble() &&;
  // The `tcp` or `udp` section alone (an empty map when there is nothing).
  config::Node layer4(std::string_view protocol) &&;
};

// `servers: [{url: …}, …]` of a load balancer.
config::Node serversNode(const std::vector<std::string>& urls, const config::Location& where);

// A kubernetes.io/tls Secret's certificate and key (PEM) as {certFile, keyFile}; false with
// `error` when the Secret is missing or lacks tls.crt or tls.key.
bool tlsCertificate(const KubeObjects& objects, const std::string& ns, const std::string& name,
                    const config::Location& where, config::Node& out, std::string& error);

// The status write of an Ingress whose status.loadBalancer.ingress should be `wanted` (nothing
// when it already is).
void ingressStatus(const json::object& ingress, const json::array& wanted, std::vector<StatusWrite>& writes);

// A problem with one object: the warning the API and the dashboard show next to its name.
config::ConfigError objectError(std::string_view kind, const json::object& object, std::string message);

}  // namespace causeway::provider::kube
