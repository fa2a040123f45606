#include "provider/kubernetes/crd_builder.h"

#include <openssl/sha.h>

#include <boost/json.hpp>

#include "core/bytes.h"
#include "core/strings.h"

namespace causeway::provider::kube {

namespace k8s = clients::kubernetes;

std::vector<WatchedResource> crdResources() {
  auto traefik = [](const char* plural, const char* kind) {
    return WatchedResource{{"traefik.io", "v1alpha1", plural, kind, true}, true};
  };
  return {
      traefik("ingressroutes", "IngressRoute"),
      traefik("ingressroutetcps", "IngressRouteTCP"),
      traefik("ingressrouteudps", "IngressRouteUDP"),
      traefik("middlewares", "Middleware"),
      traefik("middlewaretcps", "MiddlewareTCP"),
      traefik("traefikservices", "TraefikService"),
      traefik("serverstransports", "ServersTransport"),
      traefik("serverstransporttcps", "ServersTransportTCP"),
      traefik("tlsoptions", "TLSOption"),
      traefik("tlsstores", "TLSStore"),
      {{"", "v1", "services", "Service", true}, false},
      {{"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true}, false},
      {{"", "v1", "secrets", "Secret", true}, false},
      {{"", "v1", "configmaps", "ConfigMap", true}, false},
  };
}

std::string makeId(std::string_view ns, std::string_view name) {
  return ns.empty() ? std::string(name) : std::string(ns) + "-" + std::string(name);
}

namespace {
// The first `bytes` bytes of the SHA-256 of `text`, in hex.
std::string sha256Prefix(std::string_view text, size_t bytes) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return hexEncode(std::string_view(reinterpret_cast<const char*>(digest), bytes));
}
}  // namespace

std::string crdRouterName(std::string_view ns, std::string_view name, std::string_view match) {
  // Go's %.10x of the digest: its first 10 bytes, in hex.
  return normalizeName(makeId(ns, name) + "-" + sha256Prefix(match, 10));
}

std::string serviceName(std::string_view ns, std::string_view service, std::string_view port) {
  return normalizeName(std::string(ns) + "-" + std::string(service) + "-" + std::string(port));
}

namespace {

using config::Node;
using config::NodeEntry;

class CrdBuild {
 public:
  CrdBuild(const KubeObjects& objects, const CrdOptions& options, CrdCache* cache)
      : objects_(objects), options_(options), cache_(cache) {}

  KubeBuild run() {
    objects_.each("Middleware", [&](const json::object& o) { middleware(o); });
    objects_.each("TraefikService", [&](const json::object& o) { traefikService(o); });
    objects_.each("ServersTransport", [&](const json::object& o) { serversTransport(o); });
    objects_.each("TLSOption", [&](const json::object& o) { tlsOption(o); });
    objects_.each("TLSStore", [&](const json::object& o) { tlsStore(o); });
    if (!cache_) objects_.each("IngressRoute", [&](const json::object& o) { if (wanted(o)) ingressRoute(o); });
    objects_.each("MiddlewareTCP", [&](const json::object& o) { middlewareTcp(o); });
    objects_.each("ServersTransportTCP", [&](const json::object& o) { serversTransportTcp(o); });
    objects_.each("IngressRouteTCP", [&](const json::object& o) { if (wanted(o)) ingressRouteTcp(o); });
    objects_.each("IngressRouteUDP", [&](const json::object& o) { if (wanted(o)) ingressRouteUdp(o); });
    if (defaultOptions_ > 1) {
      parts_.tlsOptions.erase("default");
      out_.notices.push_back({{}, "tls.options.default", "more than one TLSOption is named default; none of them is used", true, false});
    }
    if (cache_) return runCached();
    out_.root = std::move(parts_).assemble();
    return std::move(out_);
  }

 private:
  // The IngressRoutes of our class: spec.ingressClassName, else the kubernetes.io/ingress.class
  // annotation, equal to `ingressClass`; without it, no class or "traefik". (Middlewares and
  // the other kinds have no class.)
  bool wanted(const json::object& o) const {
    std::string cls = stringAt(objectAt(&o, "spec"), "ingressClassName");
    if (cls.empty()) cls = annotation(o, "kubernetes.io/ingress.class");
    if (options_.ingressClass.empty()) return cls.empty() || cls == "traefik";
    return cls == options_.ingressClass;
  }

  // A provider-qualified reference (x@provider): @kubernetescrd points into this provider,
  // possibly another namespace, which allowCrossNamespace must allow.
  bool qualified(const std::string& name, std::string& error) const {
    if (name.ends_with("@kubernetescrd") && !options_.allowCrossNamespace) {
      error = "the reference " + name + ": when allowCrossNamespace is false, @kubernetescrd references are not allowed";
      return false;
    }
    return true;
  }

  void fail(std::string_view kind, const json::object& o, std::string message) {
    noticesOut_->push_back(objectError(kind, o, std::move(message)));
  }

  // A warning on the object being built (building_), from deep inside its build;
  // `unsupported`: an option causeway does not implement yet.
  void warnBuilding(std::string message, bool unsupported) {
    if (!building_.second) return;
    config::ConfigError e = objectError(building_.first, *building_.second, std::move(message));
    e.unsupported = unsupported;
    noticesOut_->push_back(std::move(e));
  }

  // objects_.find, recorded as a dependency of the IngressRoute being built.
  const json::object* lookup(std::string_view kind, const std::string& ns, const std::string& name) const {
    if (recording_)
      recording_->dependencies.emplace_back(std::string(kind) + " " + ns + "/" + name,
                                            std::string(objects_.versionOf(kind, ns, name)));
    return objects_.find(kind, ns, name);
  }
  std::string slicesVersion(const std::string& ns, const std::string& service) const {
    std::string versions;
    for (const StoredObject* slice : objects_.storedSlicesOf(ns, service)) versions += slice->version + ",";
    return versions;
  }
  // Whether slicesVersion(ns, service) would be `recorded`, without making it.
  bool sameSlicesVersion(std::string_view ns, std::string_view service, std::string_view recorded) const {
    for (const StoredObject* slice : objects_.storedSlicesOf(ns, service)) {
      std::string_view v = slice->version;
      if (!recorded.starts_with(v) || recorded.substr(v.size(), 1) != ",") return false;
      recorded.remove_prefix(v.size() + 1);
    }
    return recorded.empty();
  }
  // Whether the objects an IngressRoute's build read are as they were (no copies, and no object
  // read: every IngressRoute is asked on every change).
  bool unchanged(const CrdCache::Entry& entry) const {
    for (const auto& [key, version] : entry.dependencies) {
      std::string_view k = key;
      size_t space = k.find(' '), slash = k.find('/', space);
      std::string_view kind = k.substr(0, space), ns = k.substr(space + 1, slash - space - 1),
                       name = k.substr(slash + 1);
      bool same = kind == "EndpointSlices" ? sameSlicesVersion(ns, name, version)
                                           : objects_.versionOf(kind, ns, name) == version;
      if (!same) return false;
    }
    return true;
  }

  static Node& mapAt(Node& parent, const char* key) {
    Node* n = parent.find(key);
    return n && n->isMap() ? *n : parent.set(key, Node::map());
  }

  // The build with a cache: the previous tree patched where IngressRoutes changed.
  KubeBuild runCached() {
    CrdCache& c = *cache_;
    if (!c.tree) c.tree = std::make_shared<Node>(Node::map());
    else if (c.tree.use_count() > 1) c.tree = std::make_shared<Node>(*c.tree);  // the pipeline still holds it
    Node& root = *c.tree;
    Node& http = mapAt(root, "http");
    mapAt(http, "routers");
    mapAt(http, "services");  // both exist before either is held: a new entry moves the others
    Node& routers = *http.find("routers");
    Node& services = *http.find("services");
    // The services of TraefikServices and middlewares: replaced whole (there are few).
    for (const std::string& name : c.otherServices)
      if (!c.serviceOwners.count(name)) services.erase(name);
    c.otherServices.clear();
    for (const NodeEntry& e : parts_.services.entries()) {
      c.otherServices.insert(e.key);
      services.set(e.key, e.value);
    }
    // First what changed or went away is taken out (in one pass over each map), then the changed
    // IngressRoutes are built and put in.
    std::vector<std::string> goneRouters, goneServices;
    auto release = [](std::map<std::string, int>& owners, const std::string& name) {
      auto owner = owners.find(name);
      if (owner == owners.end() || --owner->second > 0) return false;
      owners.erase(owner);
      return true;
    };
    auto drop = [&](const CrdCache::Entry& entry) {
      for (const std::string& name : entry.routers)
        if (release(c.routerOwners, name)) goneRouters.push_back(name);
      for (const std::string& name : entry.services)
        if (release(c.serviceOwners, name) && !c.otherServices.count(name)) goneServices.push_back(name);
    };
    struct Changed {
      std::string_view key;
      const StoredObject* stored;
      const json::object* object;
    };
    std::vector<Changed> changed;
    uint64_t scan = ++c.scans;  // the IngressRoutes still there are marked with it
    // Only the IngressRoutes that changed, or whose objects did, are read (parsed); those of
    // another class are remembered with their versions, so that they are not read again.
    std::map<std::string, std::string, std::less<>> otherClass;
    objects_.eachStored("IngressRoute", [&](std::string_view key, const StoredObject& stored) {
      auto it = c.routes.find(key);
      if (it != c.routes.end() && it->second.version == stored.version && unchanged(it->second)) {
        it->second.seenIn = scan;
        return;
      }
      if (auto other = c.otherClass.find(key); other != c.otherClass.end() && other->second == stored.version) {
        otherClass.emplace(other->first, other->second);
        return;
      }
      const json::object* o = objects_.read(stored);
      if (!o) return;
      if (!wanted(*o)) {  // one it had built goes with the sweep below
        otherClass.emplace(key, stored.version);
        return;
      }
      if (it != c.routes.end()) {
        drop(it->second);
        c.routes.erase(it);
      }
      changed.push_back({key, &stored, o});
    });
    c.otherClass = std::move(otherClass);
    for (auto it = c.routes.begin(); it != c.routes.end();) {
      if (it->second.seenIn == scan) {
        ++it;
        continue;
      }
      drop(it->second);
      it = c.routes.erase(it);
    }
    routers.eraseKeys(goneRouters);
    services.eraseKeys(goneServices);
    for (const auto& [key, stored, o] : changed) {
      CrdCache::Entry entry;
      entry.version = stored->version;
      Node builtRouters = Node::map(), builtServices = Node::map();
      recording_ = &entry;
      routersOut_ = &builtRouters;
      servicesOut_ = &builtServices;
      certificatesOut_ = &entry.certificates;
      noticesOut_ = &entry.notices;
      ingressRoute(*o);
      recording_ = nullptr;
      routersOut_ = &parts_.routers;
      servicesOut_ = &parts_.services;
      certificatesOut_ = &parts_.certificates;
      noticesOut_ = &out_.notices;
      for (const NodeEntry& r : builtRouters.entries()) {
        routers.set(r.key, r.value);
        ++c.routerOwners[r.key];
        entry.routers.push_back(r.key);
      }
      for (const NodeEntry& sv : builtServices.entries()) {
        services.set(sv.key, sv.value);  // the newest wins (IngressRoutes sharing a Service build it alike)
        ++c.serviceOwners[sv.key];
        entry.services.push_back(sv.key);
      }
      entry.seenIn = scan;
      c.routes.emplace(key, std::move(entry));
    }
    for (const auto& [key, entry] : c.routes) {
      out_.notices.insert(out_.notices.end(), entry.notices.begin(), entry.notices.end());
      for (const Node& cert : entry.certificates.items()) addCertificate(cert);
    }
    auto place = [](Node& parent, const char* key, Node value) {
      if (value.size()) parent.set(key, std::move(value));
      else parent.erase(key);
    };
    // (routers and services are not used from here: a new entry of http may move them.)
    place(http, "middlewares", std::move(parts_.middlewares));
    place(http, "serversTransports", std::move(parts_.transports));
    Node tls = Node::map();
    if (parts_.certificates.size()) tls.set("certificates", std::move(parts_.certificates));
    if (parts_.tlsOptions.size()) tls.set("options", std::move(parts_.tlsOptions));
    if (parts_.stores.size()) tls.set("stores", std::move(parts_.stores));
    place(root, "tls", std::move(tls));
    place(root, "tcp", std::move(parts_).layer4("tcp"));
    place(root, "udp", std::move(parts_).layer4("udp"));
    out_.shared = c.tree;
    return std::move(out_);
  }

  // The namespace a reference points to, or "" with `error` when it may not.
  std::string referencedNamespace(const json::object* ref, const std::string& ownNs, std::string_view what,
                                  std::string& error) const {
    std::string ns = stringAt(ref, "namespace");
    if (ns.empty()) return ownNs;
    if (ns != ownNs && !options_.allowCrossNamespace) {
      error = std::string(what) + " " + ns + "/" + stringAt(ref, "name") +
              " is in another namespace, and allowCrossNamespace is false";
      return "";
    }
    return ns;
  }

  // A reference to a Middleware (or a provider-qualified name) → its configuration name.
  std::string middlewareRef(const json::object* ref, const std::string& ownNs, std::string& error) const {
    std::string name = stringAt(ref, "name");
    if (name.empty()) {
      error = "a middleware reference without a name";
      return "";
    }
    if (name.find('@') != std::string::npos) return qualified(name, error) ? name : "";
    std::string ns = referencedNamespace(ref, ownNs, "the middleware", error);
    return ns.empty() ? "" : normalizeName(makeId(ns, name));
  }

  // A Secret's data field, decoded; false when the Secret or the field is missing.
  bool secretData(const std::string& ns, const std::string& name, std::initializer_list<std::string_view> keys,
                  std::string& out, std::string& error) const {
    const json::object* secret = this->secret(ns, name);
    if (!secret) {
      error = "the Secret " + ns + "/" + name + " does not exist";
      return false;
    }
    for (std::string_view key : keys) {
      std::string encoded = stringAt(objectAt(secret, "data"), key);
      if (encoded.empty()) {
        if (std::string plain = stringAt(objectAt(secret, "stringData"), key); !plain.empty()) {
          out = plain;
          return true;
        }
        continue;
      }
      if (!base64Decode(encoded, out)) {
        error = "the Secret " + ns + "/" + name + " has a " + std::string(key) + " that is not base64";
        return false;
      }
      return true;
    }
    std::string expected;
    for (std::string_view key : keys) expected += (expected.empty() ? "" : " or ") + std::string(key);
    error = "the Secret " + ns + "/" + name + " has no " + expected;
    return false;
  }

  // A Secret; Helm's release Secrets (label owner=helm) are not visible, as in Traefik.
  const json::object* secret(const std::string& ns, const std::string& name) const {
    const json::object* s = lookup("Secret", ns, name);
    return s && label(*s, "owner") != "helm" ? s : nullptr;
  }

  // The one data field of a Secret (basicAuth's and digestAuth's users), decoded.
  bool onlySecretData(const std::string& ns, const std::string& name, std::string& out, std::string& error) const {
    const json::object* s = secret(ns, name);
    const json::object* data = objectAt(s, "data");
    if (!s || !data || data->size() != 1) {
      error = !s ? "the Secret " + ns + "/" + name + " does not exist"
                 : "the Secret " + ns + "/" + name + " must have exactly one data key (the users, one per line)";
      return false;
    }
    const json::value& value = data->begin()->value();
    if (!value.is_string() || !base64Decode(value.as_string(), out)) {
      error = "the Secret " + ns + "/" + name + " has data that is not base64";
      return false;
    }
    return true;
  }

  // A kubernetes.io/tls Secret as {certFile, keyFile} (PEM text).
  bool certificate(const std::string& ns, const std::string& name, const config::Location& where, Node& out,
                   std::string& error) const {
    std::string cert, key;
    if (!secretData(ns, name, {"tls.crt"}, cert, error) || !secretData(ns, name, {"tls.key"}, key, error)) return false;
    out = Node::map(where);
    out.set("certFile", Node::scalar(cert, where));
    out.set("keyFile", Node::scalar(key, where));
    return true;
  }

  // A CA bundle from a Secret (tls.ca or ca.crt) or a ConfigMap (the same keys, not encoded).
  bool caBundle(const std::string& ns, const json::object* ref, std::string& out, std::string& error) const {
    if (std::string secret = stringAt(ref, "secret"); !secret.empty())
      return secretData(ns, secret, {"tls.ca", "ca.crt"}, out, error);
    if (std::string map = stringAt(ref, "configMap"); !map.empty()) {
      const json::object* configMap = lookup("ConfigMap", ns, map);
      if (!configMap) {
        error = "the ConfigMap " + ns + "/" + map + " does not exist";
        return false;
      }
      for (const char* key : {"tls.ca", "ca.crt"})
        if (std::string ca = stringAt(objectAt(configMap, "data"), key); !ca.empty()) {
          out = ca;
          return true;
        }
      error = "the ConfigMap " + ns + "/" + map + " has no tls.ca or ca.crt";
      return false;
    }
    error = "a root CA reference needs a secret or a configMap";
    return false;
  }

  // A Service (or TraefikService) reference → the name of the configuration's service,
  // building a load balancer for a Kubernetes Service. "" with `error`.
  // `as`: the name of the load balancer of a Kubernetes Service (default <ns>-<service>-<port>).
  std::string serviceRef(const json::object* ref, const std::string& ownNs, std::string& error, std::string as = "") {
    std::string name = stringAt(ref, "name"), kind = stringAt(ref, "kind");
    if (name.empty()) {
      error = "a service reference without a name";
      return "";
    }
    if (kind == "TraefikService") {
      // Traefik 3.7 applies a reference's middlewares to the load balancer of a Kubernetes
      // Service only; a TraefikService's are its own services'.
      if (const json::array* mws = arrayAt(ref, "middlewares"); mws && !mws->empty())
        warnBuilding("the middlewares of the TraefikService reference " + name +
                         " are not applied (only a Kubernetes Service reference's are)",
                     false);
      if (name.ends_with("@kubernetescrd")) {
        if (!qualified(name, error)) return "";
        return normalizeName(makeId(stringAt(ref, "namespace"), name.substr(0, name.size() - 14)));
      }
      if (name.find('@') != std::string::npos) return name;
      std::string ns = referencedNamespace(ref, ownNs, "the TraefikService", error);
      if (ns.empty()) return "";
      if (!lookup("TraefikService", ns, name)) {
        error = "the TraefikService " + ns + "/" + name + " does not exist";
        return "";
      }
      return normalizeName(makeId(ns, name));
    }
    if (!kind.empty() && kind != "Service") {
      error = "a service reference of kind " + kind + "; expected Service or TraefikService";
      return "";
    }
    std::string ns = referencedNamespace(ref, ownNs, "the Service", error);
    if (ns.empty()) return "";
    Node lb;
    std::string port = portText(valueAt(ref, "port"));
    if (!loadBalancer(ref, ns, lb, error)) return "";
    std::string id = as.empty() ? serviceName(ns, name, port) : as;
    Node service = Node::map(lb.location());
    // The reference's middlewares (Traefik 3.7): service-level, for every router using it,
    // looked up in the Service's namespace. A weighted child named <ns>-<service>-<port> is
    // shared by every reference to that port, so one with middlewares gets a name of its own
    // (Traefik's names collide there, and the last written wins): another reference's load
    // balancer never gains or loses them.
    if (const json::array* refs = arrayAt(ref, "middlewares"); refs && !refs->empty()) {
      Node names = Node::list(lb.location());
      std::string joined;
      for (const json::value& m : *refs) {
        std::string mw = middlewareRef(m.if_object(), ns, error);
        if (mw.empty()) {
          error = "middlewares: " + error;
          return "";
        }
        joined += mw + ",";
        names.append(Node::scalar(mw, lb.location()));
      }
      service.set("middlewares", std::move(names));
      if (as.empty()) id += "-mw-" + sha256Prefix(joined, 4);
    }
    service.set("loadBalancer", std::move(lb));
    if (!servicesOut_->find(id)) servicesOut_->set(id, std::move(service));
    return id;
  }

  bool loadBalancer(const json::object* ref, const std::string& ns, Node& out, std::string& error) {
    std::string name = stringAt(ref, "name");
    ServersOptions how;
    how.scheme = stringAt(ref, "scheme");
    how.nativeLB = boolAt(ref, "nativeLB", options_.nativeLBByDefault);
    if (boolAt(ref, "nodePortLB"))
      warnBuilding("nodePortLB (service " + name + ") is not supported yet; the endpoints are used", true);
    how.allowExternalNameServices = options_.allowExternalNameServices;
    how.allowEmptyServices = options_.allowEmptyServices;
    std::vector<std::string> urls;
    const json::object* service = lookup("Service", ns, name);
    if (recording_) recording_->dependencies.emplace_back("EndpointSlices " + ns + "/" + name, slicesVersion(ns, name));
    if (!serviceServers(objects_, ns, name, valueAt(ref, "port"), how, urls, error)) return false;
    config::Location where = locationOf("Service", *service);
    if (valueAt(ref, "healthCheck") && stringAt(objectAt(service, "spec"), "type") != "ExternalName") {
      error = "healthCheck is only allowed for ExternalName Services; the Service " + ns + "/" + name + " is not one";
      return false;
    }
    out = Node::map(where);
    out.set("servers", serversNode(urls, where));
    for (std::string_view key : {"passHostHeader", "responseForwarding", "sticky", "strategy", "healthCheck"})
      if (const json::value* v = valueAt(ref, key)) out.set(std::string(key), toNode(*v, where));
    return transportRef(ref, ns, where, out, error);
  }

  // A backend's `serversTransport` (a name in its namespace, or provider-qualified) onto `lb`.
  bool transportRef(const json::object* ref, const std::string& ns, const config::Location& where, Node& lb,
                    std::string& error) const {
    std::string transport = stringAt(ref, "serversTransport");
    if (transport.empty()) return true;
    if (transport.find('@') != std::string::npos) {
      if (!qualified(transport, error)) return false;
    } else {
      transport = normalizeName(makeId(ns, transport));
    }
    lb.set("serversTransport", Node::scalar(transport, where));
    return true;
  }

  // A weighted service over `children` ({name, weight} entries).
  static Node weightedService(Node children, const config::Location& where) {
    Node weighted = Node::map(where);
    weighted.set("services", std::move(children));
    Node service = Node::map(where);
    service.set("weighted", std::move(weighted));
    return service;
  }

  // One {name, weight} entry of a weighted service, the weight from the backend reference (1).
  static void addWeighted(Node& children, const std::string& name, const json::object* ref,
                          const config::Location& where) {
    Node entry = Node::map(where);
    entry.set("name", Node::scalar(name, where));
    const json::value* weight = valueAt(ref, "weight");
    entry.set("weight", weight ? toNode(*weight, where) : Node::scalar("1", where));
    children.append(std::move(entry));
  }

  // spec.routes of an IngressRoute of any kind; null after failing the object when it has none.
  const json::array* routesOf(std::string_view kind, const json::object& o) {
    const json::array* routes = arrayAt(objectAt(&o, "spec"), "routes");
    if (routes && !routes->empty()) return routes;
    fail(kind, o, "spec.routes: expected at least one route");
    return nullptr;
  }

  // What HTTP and TCP routers of an IngressRoute share: the rule, the object's entryPoints, the
  // route's priority, syntax and middlewares. False with `error` ("middlewares: …").
  bool routerBase(const json::object* spec, const json::object* route, const std::string& match, const std::string& ns,
                  const config::Location& where, Node& router, std::string& error) const {
    router = Node::map(where);
    router.set("rule", Node::scalar(match, where));
    if (const json::value* eps = valueAt(spec, "entryPoints")) router.set("entryPoints", toNode(*eps, where));
    if (const json::value* priority = valueAt(route, "priority"); priority && !priority->is_null())
      router.set("priority", toNode(*priority, where));
    if (std::string syntax = stringAt(route, "syntax"); !syntax.empty())
      router.set("ruleSyntax", Node::scalar(syntax, where));
    Node middlewares = Node::list(where);
    if (const json::array* refs = arrayAt(route, "middlewares"))
      for (const json::value& ref : *refs) {
        std::string mw = middlewareRef(ref.if_object(), ns, error);
        if (mw.empty()) {
          error = "middlewares: " + error;
          return false;
        }
        middlewares.append(Node::scalar(mw, where));
      }
    if (middlewares.size()) router.set("middlewares", std::move(middlewares));
    return true;
  }

  void ingressRoute(const json::object& o) {
    Building scope(*this, "IngressRoute", o);
    std::string ns = namespaceOf(o), name = nameOf(o);
    config::Location where = locationOf("IngressRoute", o);
    const json::object* spec = objectAt(&o, "spec");
    const json::array* routes = routesOf("IngressRoute", o);
    if (!routes) return;
    if (const json::array* parents = arrayAt(spec, "parentRefs"); parents && !parents->empty()) {
      // A child router runs after its parents' middlewares (Traefik 3.6); served alone it would
      // skip them (an authentication, say), so it is not served.
      config::ConfigError e = objectError("IngressRoute", o, "spec.parentRefs: multi-layer routing is not supported "
                                                             "yet; the IngressRoute is not served");
      e.unsupported = true;
      noticesOut_->push_back(std::move(e));
      return;
    }
    // The router's TLS, the same for every route of the object.
    Node tls;
    const json::object* t = objectAt(spec, "tls");
    const bool hasTls = t != nullptr;
    if (std::string error; t && !routeTls(t, ns, false, where, tls, error)) {
      fail("IngressRoute", o, "spec.tls." + error);
      return;
    }
    for (size_t i = 0; i < routes->size(); ++i) {
      const json::object* route = (*routes)[i].if_object();
      std::string at = "spec.routes[" + std::to_string(i) + "]";
      std::string match = stringAt(route, "match");
      std::string kind = stringAt(route, "kind");
      if (!kind.empty() && kind != "Rule") {
        fail("IngressRoute", o, at + ".kind: expected Rule, not " + kind);
        continue;
      }
      if (match.empty()) {
        fail("IngressRoute", o, at + ".match: expected a rule");
        continue;
      }
      std::string routerName = crdRouterName(ns, name, match);
      Node router;
      std::string error;
      if (!routerBase(spec, route, match, ns, where, router, error)) {
        fail("IngressRoute", o, at + "." + error);
        continue;
      }
      if (const json::value* observability = valueAt(route, "observability"))
        router.set("observability", toNode(*observability, where));
      std::string service = routeService(route, ns, routerName, where, error);
      if (service.empty()) {
        fail("IngressRoute", o, at + ".services: " + error);
        continue;
      }
      router.set("service", Node::scalar(service, where));
      if (hasTls) router.set("tls", tls);
      if (routersOut_->find(routerName)) {
        fail("IngressRoute", o, at + ": another route of this IngressRoute has the same match; it is served once");
        continue;
      }
      routersOut_->set(routerName, std::move(router));
    }
  }

  // The service of one route: its only backend, or a weighted service named after the router.
  std::string routeService(const json::object* route, const std::string& ns, const std::string& routerName,
                           const config::Location& where, std::string& error) {
    const json::array* refs = arrayAt(route, "services");
    if (!refs || refs->empty()) {
      error = "expected at least one service";
      return "";
    }
    if (refs->size() == 1) return serviceRef((*refs)[0].if_object(), ns, error, routerName);
    Node children = Node::list(where);
    for (const json::value& ref : *refs) {
      std::string child = serviceRef(ref.if_object(), ns, error);
      if (child.empty()) return "";
      addWeighted(children, child, ref.if_object(), where);
    }
    servicesOut_->set(routerName, weightedService(std::move(children), where));
    return routerName;
  }

  void middleware(const json::object& o) {
    Building scope(*this, "Middleware", o);
    std::string ns = namespaceOf(o), id = normalizeName(makeId(ns, nameOf(o)));
    config::Location where = locationOf("Middleware", o);
    const json::object* spec = objectAt(&o, "spec");
    if (!spec || spec->size() != 1) {
      fail("Middleware", o, "spec: expected exactly one middleware type (stripPrefix, headers, basicAuth, …)");
      return;
    }
    const auto& [type, body] = *spec->begin();
    Node node = toNode(body, where);
    const json::object* options = body.if_object();
    std::string error;
    std::string t = toLower(type);
    if (t == "basicauth" || t == "digestauth") {
      if (std::string secret = stringAt(options, "secret"); !secret.empty()) {
        Node users = Node::list(where);
        const json::object* s = this->secret(ns, secret);
        if (s && stringAt(s, "type") == "kubernetes.io/basic-auth" && t == "basicauth") {
          std::string user, password;
          if (!secretData(ns, secret, {"username"}, user, error) || !secretData(ns, secret, {"password"}, password, error)) {
            fail("Middleware", o, std::string(type) + ".secret: " + error);
            return;
          }
          unsigned char digest[SHA_DIGEST_LENGTH];
          SHA1(reinterpret_cast<const unsigned char*>(password.data()), password.size(), digest);
          users.append(Node::scalar(
              user + ":{SHA}" + base64Encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest)), where));
        } else {
          std::string text;
          if (!onlySecretData(ns, secret, text, error)) {
            fail("Middleware", o, std::string(type) + ".secret: " + error);
            return;
          }
          for (std::string_view line : splitTrimmed(text, '\n'))
            if (!line.empty()) users.append(Node::scalar(std::string(line), where));
        }
        node.erase("secret");
        node.set("users", std::move(users));
      }
    } else if (t == "forwardauth") {
      if (const json::object* tls = objectAt(options, "tls")) {
        Node* tlsNode = node.find("tls");
        if (std::string ca = stringAt(tls, "caSecret"); !ca.empty()) {
          std::string pem;
          if (!secretData(ns, ca, {"tls.ca", "ca.crt"}, pem, error)) {
            fail("Middleware", o, "forwardAuth.tls.caSecret: " + error);
            return;
          }
          tlsNode->erase("caSecret");
          tlsNode->set("ca", Node::scalar(pem, where));
        }
        if (std::string cert = stringAt(tls, "certSecret"); !cert.empty()) {
          Node pair;
          if (!certificate(ns, cert, where, pair, error)) {
            fail("Middleware", o, "forwardAuth.tls.certSecret: " + error);
            return;
          }
          tlsNode->erase("certSecret");
          tlsNode->set("cert", *pair.find("certFile"));
          tlsNode->set("key", *pair.find("keyFile"));
        }
      }
    } else if (t == "errors") {
      if (const json::object* service = objectAt(options, "service")) {
        std::string name = serviceRef(service, ns, error, id + "-errorpage-service");
        if (name.empty()) {
          fail("Middleware", o, "errors.service: " + error);
          return;
        }
        node.set("service", Node::scalar(name, where));
      }
    } else if (t == "chain") {
      Node names = Node::list(where);
      if (const json::array* refs = arrayAt(options, "middlewares"))
        for (const json::value& ref : *refs) {
          std::string mw = middlewareRef(ref.if_object(), ns, error);
          if (mw.empty()) {
            fail("Middleware", o, "chain.middlewares: " + error);
            return;
          }
          names.append(Node::scalar(mw, where));
        }
      node.set("middlewares", std::move(names));
    } else if (t == "plugin") {
      config::ConfigError e = objectError("Middleware", o, "plugin middlewares are not supported yet");
      e.unsupported = true;
      out_.notices.push_back(std::move(e));
      return;
    }
    Node entry = Node::map(where);
    entry.set(std::string(type), std::move(node), where);
    parts_.middlewares.set(id, std::move(entry));
  }

  // One backend of a TraefikService: {name, kind, namespace, port, weight, …}.
  bool traefikChild(const json::object* ref, const std::string& ns, const config::Location& where, Node& out,
                    std::string& error) {
    std::string child = serviceRef(ref, ns, error);
    if (child.empty()) return false;
    out = Node::map(where);
    out.set("name", Node::scalar(child, where));
    return true;
  }

  void traefikService(const json::object& o) {
    Building scope(*this, "TraefikService", o);
    std::string ns = namespaceOf(o), id = normalizeName(makeId(ns, nameOf(o)));
    config::Location where = locationOf("TraefikService", o);
    const json::object* spec = objectAt(&o, "spec");
    std::string error;
    Node service = Node::map(where);
    if (const json::object* weighted = objectAt(spec, "weighted")) {
      Node body = Node::map(where), children = Node::list(where);
      if (const json::array* refs = arrayAt(weighted, "services"))
        for (const json::value& ref : *refs) {
          Node child;
          if (!traefikChild(ref.if_object(), ns, where, child, error)) break;
          const json::value* w = valueAt(ref.if_object(), "weight");
          child.set("weight", w ? toNode(*w, where) : Node::scalar("1", where));
          children.append(std::move(child));
        }
      body.set("services", std::move(children));
      if (const json::value* sticky = valueAt(weighted, "sticky")) body.set("sticky", toNode(*sticky, where));
      service.set("weighted", std::move(body));
    } else if (const json::object* hrw = objectAt(spec, "highestRandomWeight")) {
      Node body = Node::map(where), children = Node::list(where);
      if (const json::array* refs = arrayAt(hrw, "services"))
        for (const json::value& ref : *refs) {
          Node child;
          if (!traefikChild(ref.if_object(), ns, where, child, error)) break;
          if (const json::value* w = valueAt(ref.if_object(), "weight")) child.set("weight", toNode(*w, where));
          children.append(std::move(child));
        }
      body.set("services", std::move(children));
      service.set("highestRandomWeight", std::move(body));
    } else if (const json::object* mirroring = objectAt(spec, "mirroring")) {
      Node body = Node::map(where);
      std::string main = serviceRef(mirroring, ns, error);
      if (!main.empty()) {
        body.set("service", Node::scalar(main, where));
        Node mirrors = Node::list(where);
        if (const json::array* refs = arrayAt(mirroring, "mirrors"))
          for (const json::value& ref : *refs) {
            Node child;
            if (!traefikChild(ref.if_object(), ns, where, child, error)) break;
            if (const json::value* p = valueAt(ref.if_object(), "percent")) child.set("percent", toNode(*p, where));
            mirrors.append(std::move(child));
          }
        body.set("mirrors", std::move(mirrors));
        for (std::string_view key : {"maxBodySize", "mirrorBody", "healthCheck"})
          if (const json::value* v = valueAt(mirroring, key)) body.set(std::string(key), toNode(*v, where));
      }
      service.set("mirroring", std::move(body));
    } else if (const json::object* failover = objectAt(spec, "failover")) {
      Node body = Node::map(where);
      for (const char* key : {"service", "fallback"}) {
        const json::value* ref = valueAt(failover, key);
        // Either a reference object or the name of a TraefikService in the same namespace.
        std::string child;
        if (ref && ref->is_string()) {
          json::object named;
          named["name"] = ref->as_string();
          named["kind"] = "TraefikService";
          child = serviceRef(&named, ns, error);
        } else {
          child = serviceRef(ref ? ref->if_object() : nullptr, ns, error);
        }
        if (child.empty()) break;
        body.set(key, Node::scalar(child, where));
      }
      if (const json::value* hc = valueAt(failover, "healthCheck")) body.set("healthCheck", toNode(*hc, where));
      service.set("failover", std::move(body));
    } else {
      error = "spec: expected weighted, mirroring, highestRandomWeight or failover";
    }
    if (!error.empty()) {
      fail("TraefikService", o, error);
      return;
    }
    parts_.services.set(id, std::move(service));
  }

  void serversTransport(const json::object& o) {
    std::string ns = namespaceOf(o), id = normalizeName(makeId(ns, nameOf(o)));
    config::Location where = locationOf("ServersTransport", o);
    const json::object* spec = objectAt(&o, "spec");
    Node node = spec ? toNode(json::value(*spec), where) : Node::map(where);
    std::string error, field;
    if (!transportSecrets(ns, spec, where, node, field, error)) {
      fail("ServersTransport", o, "spec." + field + ": " + error);
      return;
    }
    parts_.transports.set(id, std::move(node));
  }

  // A transport's TLS trust and client certificates from Secrets and ConfigMaps, into `node`
  // (the object's `spec`, or its `spec.tls` for TCP): rootCAs, rootCAsSecrets (deprecated),
  // certificatesSecrets. False with the failing `field` and `error`.
  bool transportSecrets(const std::string& ns, const json::object* spec, const config::Location& where, Node& node,
                        std::string& field, std::string& error) const {
    Node roots = Node::list(where);
    if (const json::array* cas = arrayAt(spec, "rootCAs"))
      for (const json::value& ref : *cas) {
        std::string pem;
        if (!caBundle(ns, ref.if_object(), pem, error)) {
          field = "rootCAs";
          return false;
        }
        roots.append(Node::scalar(pem, where));
      }
    if (const json::array* secrets = arrayAt(spec, "rootCAsSecrets"))  // deprecated spelling
      for (const json::value& name : *secrets) {
        std::string pem;
        if (!name.is_string() || !secretData(ns, std::string(name.as_string()), {"tls.ca", "ca.crt"}, pem, error)) {
          field = "rootCAsSecrets";
          if (error.empty()) error = "expected Secret names";
          return false;
        }
        roots.append(Node::scalar(pem, where));
      }
    node.erase("rootCAsSecrets");
    if (roots.size()) node.set("rootCAs", std::move(roots));
    else node.erase("rootCAs");
    if (const json::array* secrets = arrayAt(spec, "certificatesSecrets")) {
      Node certificates = Node::list(where);
      for (const json::value& name : *secrets) {
        Node pair;
        if (!name.is_string() || !certificate(ns, std::string(name.as_string()), where, pair, error)) {
          field = "certificatesSecrets";
          if (error.empty()) error = "expected Secret names";
          return false;
        }
        certificates.append(std::move(pair));
      }
      node.erase("certificatesSecrets");
      node.set("certificates", std::move(certificates));
    }
    return true;
  }

  // ---- TCP and UDP (docs/kubernetes.md): IngressRouteTCP, IngressRouteUDP, MiddlewareTCP,
  // ServersTransportTCP, into the `tcp` and `udp` sections with Traefik's generated names.

  void middlewareTcp(const json::object& o) {
    std::string ns = namespaceOf(o), id = normalizeName(makeId(ns, nameOf(o)));
    const json::object* spec = objectAt(&o, "spec");
    if (!spec || spec->size() != 1) {
      fail("MiddlewareTCP", o, "spec: expected exactly one middleware type (ipAllowList or inFlightConn)");
      return;
    }
    parts_.tcpMiddlewares.set(id, toNode(json::value(*spec), locationOf("MiddlewareTCP", o)));
  }

  void serversTransportTcp(const json::object& o) {
    std::string ns = namespaceOf(o), id = normalizeName(makeId(ns, nameOf(o)));
    config::Location where = locationOf("ServersTransportTCP", o);
    const json::object* spec = objectAt(&o, "spec");
    Node node = spec ? toNode(json::value(*spec), where) : Node::map(where);
    if (const json::object* tls = objectAt(spec, "tls")) {
      std::string error, field;
      if (!transportSecrets(ns, tls, where, *node.find("tls"), field, error)) {
        fail("ServersTransportTCP", o, "spec.tls." + field + ": " + error);
        return;
      }
    }
    parts_.tcpTransports.set(id, std::move(node));
  }

  // The `tls` of an IngressRoute or IngressRouteTCP (`passthrough` only for TCP): its Secret
  // added to the certificates. False with `error` starting with the failing field.
  bool routeTls(const json::object* t, const std::string& ns, bool tcp, const config::Location& where, Node& tls,
                std::string& error) {
    tls = Node::map(where);
    if (tcp && boolAt(t, "passthrough", false)) tls.set("passthrough", Node::scalar("true", where));
    if (std::string secret = stringAt(t, "secretName"); !secret.empty()) {
      Node cert;
      if (!certificate(ns, secret, where, cert, error)) {
        error = "secretName: " + error;
        return false;
      }
      certificatesOut_->append(std::move(cert));
    }
    if (const json::object* options = objectAt(t, "options")) {
      std::string optionsName = stringAt(options, "name");
      if (optionsName != "default" && optionsName.find('@') == std::string::npos && !optionsName.empty()) {
        std::string optionsNs = referencedNamespace(options, ns, "the TLSOption", error);
        if (optionsNs.empty()) {
          error = "options: " + error;
          return false;
        }
        optionsName = normalizeName(makeId(optionsNs, optionsName));
      }
      if (!optionsName.empty()) tls.set("options", Node::scalar(optionsName, where));
    }
    if (std::string resolver = stringAt(t, "certResolver"); !resolver.empty())
      tls.set("certResolver", Node::scalar(resolver, where));
    if (const json::value* domains = valueAt(t, "domains")) tls.set("domains", toNode(*domains, where));
    return true;
  }

  // One backend of a TCP or UDP route: a load balancer over the Service's endpoints as
  // "ip:port" addresses. False with `error`.
  bool layer4LoadBalancer(const json::object* ref, const std::string& ns, bool tcp, const config::Location& where,
                          Node& out, std::string& error) {
    std::string name = stringAt(ref, "name");
    if (name.empty()) {
      error = "a service reference without a name";
      return false;
    }
    std::string serviceNs = referencedNamespace(ref, ns, "the Service", error);
    if (serviceNs.empty()) return false;
    ServersOptions how;
    how.scheme = "tcp";
    how.nativeLB = boolAt(ref, "nativeLB", options_.nativeLBByDefault);
    if (boolAt(ref, "nodePortLB"))
      warnBuilding("nodePortLB (service " + name + ") is not supported yet; the endpoints are used", true);
    how.allowExternalNameServices = options_.allowExternalNameServices;
    how.allowEmptyServices = options_.allowEmptyServices;
    std::vector<std::string> urls;
    if (!serviceServers(objects_, serviceNs, name, valueAt(ref, "port"), how, urls, error)) return false;
    Node servers = Node::list(where);
    for (const std::string& url : urls) {
      Node server = Node::map(where);
      server.set("address", Node::scalar(url.substr(url.find("://") + 3), where));
      if (tcp && boolAt(ref, "tls", false)) server.set("tls", Node::scalar("true", where));
      servers.append(std::move(server));
    }
    out = Node::map(where);
    out.set("servers", std::move(servers));
    if (!tcp) return true;
    if (const json::value* proxy = valueAt(ref, "proxyProtocol")) out.set("proxyProtocol", toNode(*proxy, where));
    if (const json::value* delay = valueAt(ref, "terminationDelay")) out.set("terminationDelay", toNode(*delay, where));
    return transportRef(ref, ns, where, out, error);
  }

  // The service of a TCP or UDP route, named `id`: the one backend's load balancer, or a
  // weighted service over one load balancer per backend (<id>-<service>-<port>).
  bool layer4Service(const json::array* refs, const std::string& ns, bool tcp, const std::string& id,
                     const config::Location& where, Node& services, std::string& error) {
    if (!refs || refs->empty()) {
      error = "expected at least one service";
      return false;
    }
    if (refs->size() == 1) {
      Node lb;
      if (!layer4LoadBalancer((*refs)[0].if_object(), ns, tcp, where, lb, error)) return false;
      Node service = Node::map(where);
      service.set("loadBalancer", std::move(lb));
      services.set(id, std::move(service));
      return true;
    }
    Node children = Node::list(where);
    for (const json::value& ref : *refs) {
      Node lb;
      if (!layer4LoadBalancer(ref.if_object(), ns, tcp, where, lb, error)) return false;
      std::string child = normalizeName(id + "-" + stringAt(ref.if_object(), "name") + "-" +
                                        portText(valueAt(ref.if_object(), "port")));
      Node service = Node::map(where);
      service.set("loadBalancer", std::move(lb));
      services.set(child, std::move(service));
      addWeighted(children, child, ref.if_object(), where);
    }
    services.set(id, weightedService(std::move(children), where));
    return true;
  }

  void ingressRouteTcp(const json::object& o) {
    Building scope(*this, "IngressRouteTCP", o);
    std::string ns = namespaceOf(o), name = nameOf(o);
    config::Location where = locationOf("IngressRouteTCP", o);
    const json::object* spec = objectAt(&o, "spec");
    const json::array* routes = routesOf("IngressRouteTCP", o);
    if (!routes) return;
    Node tls;
    const json::object* t = objectAt(spec, "tls");
    std::string error;
    if (t && !routeTls(t, ns, true, where, tls, error)) {
      fail("IngressRouteTCP", o, "spec.tls." + error);
      return;
    }
    for (size_t i = 0; i < routes->size(); ++i) {
      const json::object* route = (*routes)[i].if_object();
      std::string at = "spec.routes[" + std::to_string(i) + "]";
      std::string match = stringAt(route, "match");
      if (match.empty()) {
        fail("IngressRouteTCP", o, at + ".match: expected a rule");
        continue;
      }
      std::string id = crdRouterName(ns, name, match);
      Node services = Node::map(where);
      if (!layer4Service(arrayAt(route, "services"), ns, true, id, where, services, error)) {
        fail("IngressRouteTCP", o, at + ".services: " + error);
        continue;
      }
      Node router;
      if (!routerBase(spec, route, match, ns, where, router, error)) {
        fail("IngressRouteTCP", o, at + "." + error);
        continue;
      }
      router.set("service", Node::scalar(id, where));
      if (t) router.set("tls", tls);
      for (const NodeEntry& e : services.entries()) parts_.tcpServices.set(e.key, e.value);
      parts_.tcpRouters.set(id, std::move(router));
    }
  }

  void ingressRouteUdp(const json::object& o) {
    Building scope(*this, "IngressRouteUDP", o);
    std::string ns = namespaceOf(o), name = nameOf(o);
    config::Location where = locationOf("IngressRouteUDP", o);
    const json::object* spec = objectAt(&o, "spec");
    const json::array* routes = routesOf("IngressRouteUDP", o);
    if (!routes) return;
    for (size_t i = 0; i < routes->size(); ++i) {
      // Traefik's names: <namespace>-<name>-<index of the route>.
      std::string id = normalizeName(makeId(ns, name + "-" + std::to_string(i)));
      std::string error;
      Node services = Node::map(where);
      if (!layer4Service(arrayAt((*routes)[i].if_object(), "services"), ns, false, id, where, services, error)) {
        fail("IngressRouteUDP", o, "spec.routes[" + std::to_string(i) + "].services: " + error);
        continue;
      }
      Node router = Node::map(where);
      if (const json::value* eps = valueAt(spec, "entryPoints")) router.set("entryPoints", toNode(*eps, where));
      router.set("service", Node::scalar(id, where));
      for (const NodeEntry& e : services.entries()) parts_.udpServices.set(e.key, e.value);
      parts_.udpRouters.set(id, std::move(router));
    }
  }

  void tlsOption(const json::object& o) {
    std::string ns = namespaceOf(o), name = nameOf(o);
    std::string id = name == "default" ? "default" : makeId(ns, name);
    if (name == "default") ++defaultOptions_;
    config::Location where = locationOf("TLSOption", o);
    const json::object* spec = objectAt(&o, "spec");
    Node node = spec ? toNode(json::value(*spec), where) : Node::map(where);
    if (const json::object* clientAuth = objectAt(spec, "clientAuth")) {
      Node* auth = node.find("clientAuth");
      Node cas = Node::list(where);
      std::string error;
      if (const json::array* names = arrayAt(clientAuth, "secretNames"))
        for (const json::value& secret : *names) {
          std::string pem;
          if (!secret.is_string() || !secretData(ns, std::string(secret.as_string()), {"tls.ca", "ca.crt"}, pem, error)) {
            fail("TLSOption", o, "spec.clientAuth.secretNames: " + (error.empty() ? "expected Secret names" : error));
            return;
          }
          cas.append(Node::scalar(pem, where));
        }
      auth->erase("secretNames");
      if (cas.size()) auth->set("caFiles", std::move(cas));
    }
    parts_.tlsOptions.set(id, std::move(node));
  }

  void tlsStore(const json::object& o) {
    std::string ns = namespaceOf(o), name = nameOf(o);
    config::Location where = locationOf("TLSStore", o);
    if (name != "default") {
      fail("TLSStore", o, "only the TLSStore named default is used (Traefik's rule); this one is ignored");
      return;
    }
    if (parts_.stores.find("default")) {
      fail("TLSStore", o, "another TLSStore named default exists in another namespace; only the first is used");
      return;
    }
    const json::object* spec = objectAt(&o, "spec");
    Node store = Node::map(where);
    std::string error;
    if (const json::object* def = objectAt(spec, "defaultCertificate")) {
      Node pair;
      if (!certificate(ns, stringAt(def, "secretName"), where, pair, error)) {
        fail("TLSStore", o, "spec.defaultCertificate: " + error);
        return;
      }
      store.set("defaultCertificate", std::move(pair));
    }
    if (const json::value* generated = valueAt(spec, "defaultGeneratedCert"))
      store.set("defaultGeneratedCert", toNode(*generated, where));
    if (const json::array* certs = arrayAt(spec, "certificates"))
      for (const json::value& c : *certs) {
        Node pair;
        if (!certificate(ns, stringAt(c.if_object(), "secretName"), where, pair, error)) {
          fail("TLSStore", o, "spec.certificates: " + error);
          continue;
        }
        addCertificate(std::move(pair));
      }
    parts_.stores.set("default", std::move(store));
  }

  void addCertificate(const Node& cert) {
    for (const Node& existing : parts_.certificates.items())
      if (existing.find("certFile")->text() == cert.find("certFile")->text()) return;
    parts_.certificates.append(cert);
  }

  const KubeObjects& objects_;
  const CrdOptions& options_;
  CrdCache* cache_;
  CrdCache::Entry* recording_ = nullptr;  // the IngressRoute being built records what it reads
  KubeBuild out_;
  DynamicParts parts_;
  int defaultOptions_ = 0;
  // Where ingressRoute() writes: the build's maps, or the cache entry being built.
  Node* routersOut_ = &parts_.routers;
  Node* servicesOut_ = &parts_.services;
  Node* certificatesOut_ = &parts_.certificates;
  std::vector<config::ConfigError>* noticesOut_ = &out_.notices;
  // The object being built, for a warning from deep inside it (serviceRef, loadBalancer): set
  // for the time of one object's build by a Building.
  std::pair<std::string_view, const json::object*> building_{"", nullptr};
  class Building {
   public:
    Building(CrdBuild& build, std::string_view kind, const json::object& o) : build_(build), saved_(build.building_) {
      build.building_ = {kind, &o};
    }
    ~Building() { build_.building_ = saved_; }
    Building(const Building&) = delete;
    Building& operator=(const Building&) = delete;

   private:
    CrdBuild& build_;
    std::pair<std::string_view, const json::object*> saved_;
  };
};

}  // namespace

KubeBuild buildCrdConfig(const KubeObjects& objects, const CrdOptions& options, CrdCache* cache) {
  return CrdBuild(objects, options, cache).run();
}

}  // namespace causeway::provider::kube
