#include "provider/kubernetes/gateway_builder.h"

#include <openssl/sha.h>

#include <boost/json.hpp>
#include <ctime>
#include <map>
#include <set>

#include "core/bytes.h"
#include "core/strings.h"
#include "provider/kubernetes/crd_builder.h"

namespace causeway::provider::kube {

namespace {

using config::Node;

constexpr std::string_view kGroup = "gateway.networking.k8s.io";
constexpr std::string_view kController = "traefik.io/gateway-controller";
constexpr const char* kInvalidBackend = "invalid-backend@internal";

std::string sha20(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return hexEncode(std::string_view(reinterpret_cast<const char*>(digest), 10));
}

std::string now() {
  char buffer[32];
  std::time_t t = std::time(nullptr);
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buffer;
}

int64_t generationOf(const json::object& o) { return intAt(objectAt(&o, "metadata"), "generation", 1); }

// A condition, its lastTransitionTime kept from `previous` when its status did not change.
json::object condition(std::string_view type, bool status, std::string_view reason, std::string_view message,
                       int64_t generation, const json::array* previous) {
  std::string since = now();
  if (previous)
    for (const json::value& p : *previous)
      if (stringAt(p.if_object(), "type") == type && stringAt(p.if_object(), "status") == (status ? "True" : "False"))
        if (std::string t = stringAt(p.if_object(), "lastTransitionTime"); !t.empty()) since = t;
  json::object c;
  c["type"] = type;
  c["status"] = status ? "True" : "False";
  c["reason"] = reason;
  c["message"] = message;
  c["observedGeneration"] = generation;
  c["lastTransitionTime"] = since;
  return c;
}

// Conditions compared as Traefik does: type, status, reason, message, observedGeneration.
bool sameConditions(const json::array* a, const json::array& b) {
  if (!a || a->size() != b.size()) return false;
  for (size_t i = 0; i < b.size(); ++i)
    for (const char* key : {"type", "status", "reason", "message"})
      if (stringAt((*a)[i].if_object(), key) != stringAt(b[i].if_object(), key) ||
          intAt((*a)[i].if_object(), "observedGeneration") != intAt(b[i].if_object(), "observedGeneration"))
        return false;
  return true;
}

struct Listener {
  std::string name, protocol, hostname, entryPoint, tlsMode = "Terminate";
  int64_t port = 0;
  bool attached = false;          // valid and on an entryPoint: routes are served on it
  std::set<std::string> kinds;    // allowed route kinds
  std::string namespacesFrom = "Same";
  std::vector<std::function<bool(const json::object*)>> namespaceSelector;
  json::array conditions;         // its error conditions (empty: the three True ones)
  int attachedRoutes = 0;
};

struct Gateway {
  const json::object* object = nullptr;
  std::string ns, name;
  std::vector<Listener> listeners;
};

std::string hostRule(const std::vector<std::string>& hosts) {
  std::vector<std::string> parts;
  for (const std::string& h : hosts) {
    if (h.starts_with("*.")) {
      std::string rest;
      for (char c : h.substr(2)) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') rest += '\\';
        rest += c;
      }
      parts.push_back("HostRegexp(" + goQuote("^[a-z0-9-\\.]+\\." + rest + "$") + ")");
    } else {
      parts.push_back("Host(" + goQuote(h) + ")");
    }
  }
  if (parts.size() == 1) return parts[0];
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "(" : " || ") + p;
  return out + ")";
}

std::string regexEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out += '\\';
    out += c;
  }
  return out;
}

// A service of `kind` whose body is {listKey: items}: {loadBalancer: {servers: [...]}}.
Node serviceOf(const char* kind, const char* listKey, Node items, const config::Location& where) {
  Node body = Node::map(where);
  body.set(listKey, std::move(items));
  Node service = Node::map(where);
  service.set(kind, std::move(body));
  return service;
}

// A TCP service balancing over `addresses` (host:port); none: every connection is refused.
// `tls`: the servers are dialed with TLS (a BackendTLSPolicy selects them). Traefik's main
// branch sets the policy's serversTransport but not the servers' `tls`, so its dials stay
// plain; causeway does what the policy asks (docs/kubernetes.md).
Node tcpLoadBalancer(const std::vector<std::string>& addresses, const config::Location& where, bool tls = false) {
  Node servers = Node::list(where);
  for (const std::string& a : addresses) {
    Node server = Node::map(where);
    server.set("address", Node::scalar(a, where));
    if (tls) server.set("tls", Node::scalar("true", where));
    servers.append(std::move(server));
  }
  return serviceOf("loadBalancer", "servers", std::move(servers), where);
}

// A route's backendRef with the API's defaults filled in (core Services of the route's namespace,
// weight 1).
struct BackendRef {
  std::string group, kind, name, ns, weight;
};

BackendRef backendRefOf(const json::object* ref, const std::string& routeNs) {
  BackendRef b{stringAt(ref, "group"), stringAt(ref, "kind"), stringAt(ref, "name"), stringAt(ref, "namespace"),
               std::to_string(intAt(ref, "weight", 1))};
  if (b.group.empty()) b.group = "core";
  if (b.kind.empty()) b.kind = "Service";
  if (b.ns.empty()) b.ns = routeNs;
  return b;
}

class GatewayBuild {
 public:
  GatewayBuild(const KubeObjects& objects, const GatewayOptions& options) : objects_(objects), options_(options) {}

  KubeBuild run() {
    objects_.each("GatewayClass", [&](const json::object& c) {
      if (stringAt(objectAt(&c, "spec"), "controllerName") != kController) return;
      classes_.insert(nameOf(c));
      json::array conditions;
      const json::array* previous = arrayAt(objectAt(&c, "status"), "conditions");
      conditions.push_back(condition("Accepted", true, "Handled", "Handled by Traefik controller", generationOf(c), previous));
      if (!sameConditions(previous, conditions)) {
        json::object status{{"conditions", conditions}};
        write("gatewayclasses", "", nameOf(c), status);
      }
    });
    objects_.each("Gateway", [&](const json::object& g) {
      if (classes_.count(stringAt(objectAt(&g, "spec"), "gatewayClassName"))) gateway(g);
    });
    objects_.each("HTTPRoute", [&](const json::object& r) { route(r, "HTTPRoute", "httproute"); });
    objects_.each("GRPCRoute", [&](const json::object& r) { route(r, "GRPCRoute", "grpcroute"); });
    objects_.each("TLSRoute", [&](const json::object& r) { route(r, "TLSRoute", "tlsroute"); });
    objects_.each("TCPRoute", [&](const json::object& r) { route(r, "TCPRoute", "tcproute"); });
    if (parts_.tcpRouters.size()) {
      // As Traefik: once TCP routers exist, TLS connections no router claims and that are not
      // HTTP (by ALPN) are terminated and closed rather than handed to the HTTP routers.
      config::Location where;
      Node router = Node::map(where);
      router.set("rule", Node::scalar("HostSNI(`*`) && !ALPN(`h2`) && !ALPN(`http/1.1`)", where));
      router.set("priority", Node::scalar("1", where));
      router.set("service", Node::scalar("deny-unknown-host", where));
      router.set("tls", Node::map(where));
      parts_.tcpRouters.set("deny-unknown-host", std::move(router));
      parts_.tcpServices.set("deny-unknown-host", tcpLoadBalancer({}, where));
    }
    for (auto& [key, gw] : gateways_) gatewayStatus(gw);
    out_.root = std::move(parts_).assemble();
    return std::move(out_);
  }

 private:
  void write(const std::string& plural, const std::string& ns, const std::string& name, json::object status,
             std::string version = "v1") {
    clients::kubernetes::Resource resource{std::string(kGroup), std::move(version), plural, "", !ns.empty()};
    json::object patch{{"status", std::move(status)}};
    out_.statusWrites.push_back({resource.objectPath(ns, name) + "/status", json::serialize(patch)});
  }

  // Is `from` (kind, namespace) allowed to refer to `to` (group, kind, name) in `toNs`?
  bool granted(std::string_view fromKind, const std::string& fromNs, std::string_view toGroup, std::string_view toKind,
               const std::string& toNs, const std::string& toName) const {
    if (fromNs == toNs) return true;
    bool ok = false;
    auto norm = [](std::string g) { return g.empty() ? std::string("core") : g; };
    objects_.each("ReferenceGrant", [&](const json::object& grant) {
      if (ok || namespaceOf(grant) != toNs) return;
      const json::object* spec = objectAt(&grant, "spec");
      bool fromOk = false, toOk = false;
      if (const json::array* from = arrayAt(spec, "from"))
        for (const json::value& f : *from)
          fromOk |= stringAt(f.if_object(), "group") == kGroup && stringAt(f.if_object(), "kind") == fromKind &&
                    stringAt(f.if_object(), "namespace") == fromNs;
      if (const json::array* to = arrayAt(spec, "to"))
        for (const json::value& t : *to) {
          std::string name = stringAt(t.if_object(), "name");
          toOk |= norm(stringAt(t.if_object(), "group")) == norm(std::string(toGroup)) &&
                  stringAt(t.if_object(), "kind") == toKind && (name.empty() || name == toName);
        }
      ok = fromOk && toOk;
    });
    return ok;
  }

  void gateway(const json::object& g) {
    Gateway gw;
    gw.object = &g;
    gw.ns = namespaceOf(g);
    gw.name = nameOf(g);
    int64_t generation = generationOf(g);
    std::set<std::string> seen;
    if (const json::array* listeners = arrayAt(objectAt(&g, "spec"), "listeners"))
      for (const json::value& v : *listeners) {
        const json::object* l = v.if_object();
        Listener L;
        L.name = stringAt(l, "name");
        L.protocol = stringAt(l, "protocol");
        L.hostname = stringAt(l, "hostname");
        L.port = intAt(l, "port");
        // One condition per type (the API server refuses two): later messages are appended.
        auto fail = [&](std::string_view type, bool status, std::string_view reason, std::string message) {
          for (json::value& c : L.conditions)
            if (stringAt(c.if_object(), "type") == type) {
              c.as_object()["message"] = stringAt(c.if_object(), "message") + "; " + message;
              return;
            }
          L.conditions.push_back(condition(type, status, reason, message, generation, nullptr));
        };
        for (const GatewayEntryPoint& ep : options_.entryPoints)
          if (ep.port == L.port && !(L.protocol == "HTTP" && ep.httpTls)) {
            L.entryPoint = ep.name;
            break;
          }
        const json::object* allowed = objectAt(l, "allowedRoutes");
        const json::object* namespaces = objectAt(allowed, "namespaces");
        if (std::string from = stringAt(namespaces, "from"); !from.empty()) L.namespacesFrom = from;
        std::string error;
        std::set<std::string> supported;
        if (L.protocol == "HTTP" || L.protocol == "HTTPS") supported = {"HTTPRoute", "GRPCRoute"};
        else if (L.protocol == "TLS") supported = options_.experimentalChannel ? std::set<std::string>{"TLSRoute", "TCPRoute"}
                                                                               : std::set<std::string>{"TLSRoute"};
        else if (L.protocol == "TCP" && options_.experimentalChannel) supported = {"TCPRoute"};
        if (L.entryPoint.empty()) {
          fail("Accepted", false, "PortUnavailable",
               "Cannot find entryPoint for Gateway: no matching entryPoint for port " + std::to_string(L.port) +
                   " and protocol \"" + L.protocol + "\"");
        } else if (L.namespacesFrom == "Selector" &&
                   !parseSelector(selectorText(objectAt(namespaces, "selector")), L.namespaceSelector, error)) {
          fail("ResolvedRefs", false, "InvalidRouteNamespacesSelector", error);
        } else if (supported.empty()) {
          fail("Conflicted", true, L.protocol == "TCP" ? "ProtocolConflict" : "UnsupportedProtocol",
               L.protocol == "TCP" ? "Protocol \"TCP\" requires the experimental channel support to be enabled, please use the experimentalChannel option"
                                   : "Unsupported listener protocol \"" + L.protocol + "\"");
        } else {
          L.kinds = supported;
          if (const json::array* kinds = arrayAt(allowed, "kinds"); kinds && !kinds->empty()) {
            L.kinds.clear();
            for (const json::value& k : *kinds) {
              std::string group = stringAt(k.if_object(), "group"), kind = stringAt(k.if_object(), "kind");
              if (group.empty()) group = std::string(kGroup);  // the CRD default
              if (group != kGroup || !supported.count(kind)) {
                fail("ResolvedRefs", false, "InvalidRouteKinds",
                     "Listener protocol \"" + L.protocol + "\" does not support RouteGroupKind " + group + "/" + kind);
                break;
              }
              L.kinds.insert(kind);
            }
          }
        }
        if (L.conditions.empty() && !seen.insert(L.protocol + "|" + L.hostname + "|" + std::to_string(L.port)).second)
          fail("Conflicted", true, "DuplicateListener", "A listener with same protocol, port and hostname already exists");
        const json::object* tls = objectAt(l, "tls");
        if (L.conditions.empty() && (L.protocol == "HTTP" || L.protocol == "TCP") && tls)
          fail("Accepted", false, "InvalidTLSConfiguration", "TLS configuration must no be defined when using HTTP or TCP protocol");
        if (L.conditions.empty() && (L.protocol == "HTTPS" || L.protocol == "TLS")) listenerTls(gw, L, tls, fail);
        L.attached = L.conditions.empty();
        gw.listeners.push_back(std::move(L));
      }
    gateways_[gw.ns + "/" + gw.name] = std::move(gw);
  }

  static std::string selectorText(const json::object* selector) {
    std::string out;
    if (const json::object* labels = objectAt(selector, "matchLabels"))
      for (const auto& [k, v] : *labels)
        if (v.is_string()) out += (out.empty() ? "" : ",") + std::string(k) + "=" + std::string(v.as_string());
    if (const json::array* exprs = arrayAt(selector, "matchExpressions"))
      for (const json::value& e : *exprs) {
        std::string key = stringAt(e.if_object(), "key"), op = stringAt(e.if_object(), "operator"), values;
        if (const json::array* vs = arrayAt(e.if_object(), "values"))
          for (const json::value& v : *vs)
            if (v.is_string()) values += (values.empty() ? "" : ",") + std::string(v.as_string());
        std::string r = op == "In" ? key + " in (" + values + ")" : op == "NotIn" ? key + " notin (" + values + ")"
                      : op == "Exists" ? key : "!" + key;
        out += (out.empty() ? "" : ",") + r;
      }
    return out;
  }

  template <class Fail>
  void listenerTls(const Gateway& gw, Listener& L, const json::object* tls, Fail fail) {
    if (!tls) {
      fail("Accepted", false, "InvalidTLSConfiguration",
           "No TLS configuration for Gateway Listener " + L.name + ":" + std::to_string(L.port) + " and protocol \"" +
               L.protocol + "\"");
      return;
    }
    if (std::string mode = stringAt(tls, "mode"); !mode.empty()) L.tlsMode = mode;
    if (L.protocol == "HTTPS" && L.tlsMode == "Passthrough") {
      fail("Accepted", false, "UnsupportedProtocol", "HTTPS protocol is not supported with TLS mode Passthrough");
      return;
    }
    const json::array* refs = arrayAt(tls, "certificateRefs");
    if (L.tlsMode == "Terminate" && (!refs || refs->empty())) {
      fail("ResolvedRefs", false, "InvalidCertificateRef", "One TLS CertificateRef is required in Terminate mode");
      return;
    }
    bool bad = false;
    if (refs)
      for (const json::value& r : *refs) {
        const json::object* ref = r.if_object();
        std::string kind = stringAt(ref, "kind"), group = stringAt(ref, "group");
        if (kind.empty()) kind = "Secret";  // the CRD defaults
        std::string ns = stringAt(ref, "namespace"), name = stringAt(ref, "name");
        if (ns.empty()) ns = gw.ns;
        if (kind != "Secret" || !(group.empty() || group == "core")) {
          fail("ResolvedRefs", false, "InvalidCertificateRef", "Unsupported TLS CertificateRef group/kind: " + group + "/" + kind);
          bad = true;
          continue;
        }
        if (!granted("Gateway", gw.ns, "", "Secret", ns, name)) {
          fail("ResolvedRefs", false, "RefNotPermitted", "Cannot reference CertificateRef " + ns + "/" + name + ": missing ReferenceGrant");
          bad = true;
          continue;
        }
        const json::object* secret = objects_.find("Secret", ns, name);
        Node pair;
        std::string error;
        if (!secret || label(*secret, "owner") == "helm") {
          fail("ResolvedRefs", false, "InvalidCertificateRef",
               "Cannot load CertificateRef " + ns + "/" + name + ": getting secret: secret \"" + name + "\" not found");
          bad = true;
        } else if (!tlsCertificate(objects_, ns, name, locationOf("Secret", *secret), pair, error)) {
          fail("ResolvedRefs", false, "InvalidCertificateRef",
               "Cannot load CertificateRef " + ns + "/" + name + ": getting certificate blocks: secret " + ns + "/" + name +
                   " is missing the following TLS data entries: tls.crt, tls.key");
          bad = true;
        } else if (certificatesSeen_.insert(ns + "/" + name).second) {
          parts_.certificates.append(std::move(pair));
        }
      }
    if (bad) fail("Programmed", false, "Invalid", "Invalid CertificateRefs");
  }

  bool namespaceAllowed(const Listener& L, const Gateway& gw, const std::string& ns) const {
    if (L.namespacesFrom == "All") return true;
    if (L.namespacesFrom == "Same") return ns == gw.ns;
    const json::object* object = objects_.find("Namespace", "", ns);
    const json::object* labels = objectAt(objectAt(object, "metadata"), "labels");
    for (const auto& m : L.namespaceSelector)
      if (!m(labels)) return false;
    return object != nullptr;
  }

  static std::vector<std::string> hostnames(const std::string& listener, const std::vector<std::string>& route,
                                            bool& none) {
    none = false;
    if (listener.empty()) return route;
    if (route.empty()) return {listener};
    auto match = [](const std::string& a, const std::string& b) -> std::string {
      if (a == b) return a;
      if (!a.starts_with("*.")) return "";
      return b.ends_with(a.substr(1)) ? b : "";
    };
    std::vector<std::string> out;
    for (const std::string& r : route) {
      std::string m = match(listener, r);
      if (m.empty()) m = match(r, listener);
      if (!m.empty()) out.push_back(m);
    }
    none = out.empty();
    return out;
  }

  void route(const json::object& r, std::string_view kind, std::string_view prefix) {
    std::string ns = namespaceOf(r), name = nameOf(r);
    int64_t generation = generationOf(r);
    const json::object* spec = objectAt(&r, "spec");
    std::vector<std::string> routeHosts;
    if (const json::array* hs = arrayAt(spec, "hostnames"))
      for (const json::value& h : *hs)
        if (h.is_string()) routeHosts.emplace_back(h.as_string());
    json::array parents;
    const json::array* previousParents = arrayAt(objectAt(&r, "status"), "parents");
    if (const json::array* refs = arrayAt(spec, "parentRefs"))
      for (const json::value& v : *refs) {
        const json::object* ref = v.if_object();
        std::string group = stringAt(ref, "group"), refKind = stringAt(ref, "kind");
        if ((!group.empty() && group != kGroup) || (!refKind.empty() && refKind != "Gateway")) continue;
        std::string gwNs = stringAt(ref, "namespace");
        if (gwNs.empty()) gwNs = ns;
        auto it = gateways_.find(gwNs + "/" + stringAt(ref, "name"));
        if (it == gateways_.end()) continue;
        Gateway& gw = it->second;
        std::string section = stringAt(ref, "sectionName");
        int64_t port = intAt(ref, "port", 0);
        std::string acceptedReason = "NoMatchingParent";
        bool accepted = false;
        json::object resolved;  // the first failure over the listeners
        for (Listener& L : gw.listeners) {
          if ((!section.empty() && section != L.name) || (port && port != L.port)) continue;
          if (!L.kinds.count(std::string(kind)) || !namespaceAllowed(L, gw, ns)) {
            if (!accepted) acceptedReason = "NotAllowedByListeners";
            continue;
          }
          bool none = false;
          std::vector<std::string> hosts =
              kind == "TCPRoute" ? std::vector<std::string>{} : hostnames(L.hostname, routeHosts, none);
          if (none) {
            if (!accepted) acceptedReason = "NoMatchingListenerHostname";
            continue;
          }
          ++L.attachedRoutes;
          std::string failure, reason;
          if (kind == "TLSRoute" || kind == "TCPRoute") buildLayer4Route(r, kind, prefix, gw, L, hosts, failure, reason);
          else buildRoute(r, kind, prefix, gw, L, hosts, failure, reason);
          if (!failure.empty() && resolved.empty())
            resolved = condition("ResolvedRefs", false, reason, failure, generation, nullptr);
          if (L.attached) {
            accepted = true;
            acceptedReason = "Accepted";
          }
        }
        const json::array* previous = nullptr;
        if (previousParents)
          for (const json::value& p : *previousParents)
            if (p.if_object() && valueAt(p.if_object(), "parentRef") && *valueAt(p.if_object(), "parentRef") == v)
              previous = arrayAt(p.if_object(), "conditions");
        json::array conditions;
        conditions.push_back(condition("Accepted", accepted, acceptedReason, "", generation, previous));
        conditions.push_back(resolved.empty() ? condition("ResolvedRefs", true, "ResolvedRefs", "", generation, previous)
                                              : resolved);
        if (!resolved.empty())
          out_.notices.push_back(objectError(kind, r, std::string(stringAt(&resolved, "message"))));
        parents.push_back(json::object{{"parentRef", v}, {"controllerName", kController}, {"conditions", conditions}});
      }
    // Parents of other controllers are kept.
    bool same = previousParents && previousParents->size() >= parents.size();
    json::array merged = parents;
    if (previousParents)
      for (const json::value& p : *previousParents)
        if (stringAt(p.if_object(), "controllerName") != kController) merged.push_back(p);
    if (same) {
      for (const json::value& p : parents) {
        bool found = false;
        for (const json::value& q : *previousParents)
          if (valueAt(q.if_object(), "parentRef") && *valueAt(q.if_object(), "parentRef") == p.at("parentRef") &&
              sameConditions(arrayAt(q.if_object(), "conditions"), p.at("conditions").as_array()))
            found = true;
        same &= found;
      }
      same &= merged.size() == previousParents->size();
    }
    if (!parents.empty() && !same) {
      std::string plural = toLower(kind) + "s";
      write(plural, ns, name, json::object{{"parents", merged}}, kind == "TCPRoute" ? "v1alpha2" : "v1");
    }
  }

  // The routers of one route on one listener; `failure` with the first backend problem.
  void buildRoute(const json::object& r, std::string_view kind, std::string_view prefix, const Gateway& gw,
                  const Listener& L, const std::vector<std::string>& hosts, std::string& failure, std::string& reason) {
    std::string ns = namespaceOf(r), name = nameOf(r);
    config::Location where = locationOf(kind, r);
    const json::array* rules = arrayAt(objectAt(&r, "spec"), "rules");
    json::array defaultRules{json::object{}};
    if (!rules || rules->empty()) rules = &defaultRules;
    bool grpc = kind == "GRPCRoute";
    for (size_t ri = 0; ri < rules->size(); ++ri) {
      const json::object* rule = (*rules)[ri].if_object();
      std::string key = normalizeName(std::string(prefix) + "-" + ns + "-" + name + "-gw-" + gw.ns + "-" + gw.name + "-ep-" +
                                      L.entryPoint + "-" + std::to_string(ri));
      json::array defaultMatches{json::object{}};
      const json::array* matches = arrayAt(rule, "matches");
      if (!matches || matches->empty()) matches = &defaultMatches;
      for (const json::value& m : *matches) {
        int64_t priority = 0;
        std::string ruleText = grpc ? grpcRule(hosts, m.if_object(), priority) : httpRule(hosts, m.if_object(), priority);
        if (!grpc) priority += int64_t(rules->size() - ri);
        std::string routerName = key + "-" + sha20(ruleText);
        Node router = Node::map(where);
        Node eps = Node::list(where);
        eps.append(Node::scalar(L.entryPoint, where));
        router.set("entryPoints", std::move(eps));
        router.set("rule", Node::scalar(ruleText, where));
        router.set("ruleSyntax", Node::scalar("v3", where));
        router.set("priority", Node::scalar(std::to_string(priority), where));
        if (L.protocol == "HTTPS") router.set("tls", Node::map(where));
        std::string serviceName = routerName + "-wrr";
        Node middlewares = Node::list(where);
        bool filtersOk = filters(r, kind, rule, m.if_object(), routerName, middlewares, where);
        if (middlewares.size()) router.set("middlewares", std::move(middlewares));
        if (!filtersOk) {
          serviceName = routerName + "-err-wrr";
          parts_.services.set(serviceName, weighted({{kInvalidBackend, "1"}}, where));
        } else {
          parts_.services.set(serviceName, backends(r, kind, rule, m.if_object(), routerName, where, failure, reason));
        }
        router.set("service", Node::scalar(serviceName, where));
        if (L.attached) parts_.routers.set(routerName, std::move(router));
      }
    }
  }

  // A TLSRoute (routed by SNI: passthrough on a Passthrough listener, else terminated) or a
  // TCPRoute (every connection of the listener): a TCP router per rule with backends, over a
  // weighted TCP service of one load balancer per backendRef. Traefik's names.
  void buildLayer4Route(const json::object& r, std::string_view kind, std::string_view prefix, const Gateway& gw,
                        const Listener& L, const std::vector<std::string>& hosts, std::string& failure,
                        std::string& reason) {
    std::string ns = namespaceOf(r), name = nameOf(r);
    config::Location where = locationOf(kind, r);
    const json::array* rules = arrayAt(objectAt(&r, "spec"), "rules");
    if (!rules) return;
    for (size_t ri = 0; ri < rules->size(); ++ri) {
      const json::object* rule = (*rules)[ri].if_object();
      const json::array* refs = arrayAt(rule, "backendRefs");
      if (!refs || refs->empty()) continue;
      std::string key = normalizeName(std::string(prefix) + "-" + ns + "-" + name + "-gw-" + gw.ns + "-" + gw.name +
                                      "-ep-" + L.entryPoint + "-" + std::to_string(ri));
      std::string routerName = key + "-" + sha20("");
      Node router = Node::map(where);
      Node eps = Node::list(where);
      eps.append(Node::scalar(L.entryPoint, where));
      router.set("entryPoints", std::move(eps));
      int64_t priority = 0;
      router.set("rule", Node::scalar(kind == "TLSRoute" ? hostSniRule(hosts, priority) : "HostSNI(\"*\")", where));
      if (priority) router.set("priority", Node::scalar(std::to_string(priority), where));
      if (L.protocol == "TLS") {
        Node tls = Node::map(where);
        if (L.tlsMode == "Passthrough") tls.set("passthrough", Node::scalar("true", where));
        router.set("tls", std::move(tls));
      }
      std::vector<std::pair<std::string, std::string>> children;
      for (size_t i = 0; i < refs->size(); ++i) {
        const json::object* ref = (*refs)[i].if_object();
        auto [group, refKind, backend, bns, weight] = backendRefOf(ref, ns);
        std::string child = normalizeName(routerName + "-svc-" + bns + "-" + backend + "-" + std::to_string(i));
        std::string what = "Cannot load " + std::string(kind) + " BackendRef " + group + "/" + refKind + "/" + bns + "/" + backend;
        std::string why, whyReason, transport;
        std::vector<std::string> addresses;
        if (!granted(kind, ns, group == "core" ? "" : group, refKind, bns, backend)) {
          why = what + ": missing ReferenceGrant";
          whyReason = "RefNotPermitted";
        } else if (group != "core" || refKind != "Service") {
          why = what + ": unsupported BackendRef " + group + "/" + refKind;
          whyReason = "InvalidKind";
        } else if (!intAt(ref, "port", 0)) {
          why = what + " port is required";
          whyReason = "UnsupportedProtocol";
        } else if (!tcpAddresses(bns, backend, ref, addresses, why)) {
          why = "Cannot load " + std::string(kind) + " BackendRef " + bns + "/" + backend + ": " + why;
          whyReason = "BackendNotFound";
        } else if (kind == "TLSRoute" && L.tlsMode != "Passthrough") {
          // TLS to the backend when a BackendTLSPolicy selects it (a passed-through connection
          // already carries the client's own TLS to the backend).
          json::value port = intAt(ref, "port", 0);
          ServicePort sp = findServicePort(objects_, bns, backend, &port);
          if (sp.port && !backendTls(bns, backend, sp, child, transport, why, whyReason, true)) addresses.clear();
        }
        if (!why.empty()) {
          if (failure.empty()) {
            failure = why;
            reason = whyReason;
          }
          child = routerName + "-err-lb";
          addresses.clear();
          transport.clear();
        }
        Node lb = tcpLoadBalancer(addresses, where, !transport.empty());
        if (!transport.empty()) lb.find("loadBalancer")->set("serversTransport", Node::scalar(transport, where));
        parts_.tcpServices.set(child, std::move(lb));
        children.emplace_back(child, weight);
      }
      parts_.tcpServices.set(routerName + "-wrr", weighted(children, where));
      router.set("service", Node::scalar(routerName + "-wrr", where));
      if (L.attached) parts_.tcpRouters.set(routerName, std::move(router));
    }
  }

  // Traefik's TLSRoute rule: HostSNI for each name, HostSNIRegexp for a wildcard; the longest
  // name (less its wildcard) is the priority. No name: every SNI.
  static std::string hostSniRule(const std::vector<std::string>& hosts, int64_t& priority) {
    std::vector<std::string> parts;
    std::set<std::string> seen;
    for (const std::string& h : hosts) {
      if (h.empty()) continue;
      int64_t wildcard = std::count(h.begin(), h.end(), '*');
      priority = std::max(priority, int64_t(h.size()) - wildcard);
      if (!seen.insert(h).second) continue;
      if (!wildcard) {
        parts.push_back("HostSNI(" + goQuote(h) + ")");
        continue;
      }
      std::string pattern = regexEscape(h);
      if (size_t at = pattern.find("\\*\\."); at != std::string::npos) pattern.replace(at, 4, "[a-z0-9-]+\\.");
      parts.push_back("HostSNIRegexp(" + goQuote("^" + pattern + "$") + ")");
    }
    if (parts.empty()) {
      priority = 0;
      return "HostSNI(\"*\")";
    }
    std::string out;
    for (const std::string& p : parts) out += (out.empty() ? "" : " || ") + p;
    return out;
  }

  // The ready endpoints of a Service's port as host:port (its clusterIP with nativeLB).
  bool tcpAddresses(const std::string& ns, const std::string& name, const json::object* ref,
                    std::vector<std::string>& addresses, std::string& why) {
    int64_t portNumber = intAt(ref, "port", 0);
    const json::object* service = objects_.find("Service", ns, name);
    if (!service) {
      why = "getting service: service \"" + name + "\" not found";
      return false;
    }
    json::value port = portNumber;
    ServicePort sp = findServicePort(objects_, ns, name, &port);
    if (!sp.port) {
      why = "service port " + std::to_string(portNumber) + " not found";
      return false;
    }
    return serviceAddresses(ns, name, *service, portNumber, sp, addresses, why);
  }

  // Where a Service's port is served, as host:port: its clusterIP with nativeLB, else its ready
  // endpoints. False with `why` when there is nowhere.
  bool serviceAddresses(const std::string& ns, const std::string& name, const json::object& service, int64_t portNumber,
                        const ServicePort& sp, std::vector<std::string>& addresses, std::string& why) {
    std::string native = annotation(service, "traefik.io/service.nativelb");
    if (native.empty() ? options_.nativeLBByDefault : native == "true") {
      std::string ip = stringAt(objectAt(&service, "spec"), "clusterIP");
      if (ip.empty() || ip == "None") {
        why = "no clusterIP for nativeLB";
        return false;
      }
      addresses.push_back((ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(portNumber));
      return true;
    }
    if (objects_.storedSlicesOf(ns, name).empty()) {
      why = "endpointslices not found";
      return false;
    }
    addresses = endpointAddresses(objects_, sp, true);
    return true;
  }

  Node weighted(const std::vector<std::pair<std::string, std::string>>& children, const config::Location& where) {
    Node list = Node::list(where);
    for (const auto& [child, weight] : children) {
      Node c = Node::map(where);
      c.set("name", Node::scalar(child, where));
      c.set("weight", Node::scalar(weight, where));
      list.append(std::move(c));
    }
    return serviceOf("weighted", "services", std::move(list), where);
  }

  std::string httpRule(const std::vector<std::string>& hosts, const json::object* match, int64_t& priority) {
    std::vector<std::string> parts;
    const json::object* path = objectAt(match, "path");
    std::string type = stringAt(path, "type"), value = stringAt(path, "value");
    if (type.empty()) type = "PathPrefix";
    if (value.empty()) value = "/";
    if (type == "Exact") {
      parts.push_back("Path(" + goQuote(value) + ")");
      priority += 100000;
    } else if (type == "RegularExpression") {
      parts.push_back("PathRegexp(" + goQuote(value) + ")");
      priority += 10000 + int64_t(value.size()) * 100;
    } else if (value == "/") {
      parts.push_back("PathPrefix(\"/\")");
      priority += 1;
    } else {
      std::string trimmed = value.ends_with("/") ? value.substr(0, value.size() - 1) : value;
      parts.push_back("(Path(" + goQuote(trimmed) + ") || PathPrefix(" + goQuote(trimmed + "/") + "))");
      priority += 10000 + int64_t(value.size()) * 100;
    }
    if (std::string method = stringAt(match, "method"); !method.empty()) {
      parts.push_back("Method(" + goQuote(method) + ")");
      priority += 1000;
    }
    if (const json::array* headers = arrayAt(match, "headers"))
      for (const json::value& h : *headers) {
        bool regex = stringAt(h.if_object(), "type") == "RegularExpression";
        parts.push_back(std::string(regex ? "HeaderRegexp(" : "Header(") + goQuote(stringAt(h.if_object(), "name")) + "," +
                        goQuote(stringAt(h.if_object(), "value")) + ")");
        priority += 100;
      }
    if (const json::array* query = arrayAt(match, "queryParams"))
      for (const json::value& q : *query) {
        bool regex = stringAt(q.if_object(), "type") == "RegularExpression";
        parts.push_back(std::string(regex ? "QueryRegexp(" : "Query(") + goQuote(stringAt(q.if_object(), "name")) + "," +
                        goQuote(stringAt(q.if_object(), "value")) + ")");
        priority += 10;
      }
    return withHosts(hosts, parts, priority);
  }

  std::string grpcRule(const std::vector<std::string>& hosts, const json::object* match, int64_t& priority) {
    std::vector<std::string> parts;
    const json::object* method = objectAt(match, "method");
    if (!method) {
      parts.push_back("PathPrefix(\"/\")");
    } else {
      bool regex = stringAt(method, "type") == "RegularExpression";
      std::string service = stringAt(method, "service"), name = stringAt(method, "method");
      auto part = [&](const std::string& v) { return v.empty() ? std::string("[^/]+") : regex ? v : regexEscape(v); };
      parts.push_back("PathRegexp(" + goQuote("/" + part(service) + "/" + part(name)) + ")");
    }
    if (const json::array* headers = arrayAt(match, "headers"))
      for (const json::value& h : *headers) {
        bool regex = stringAt(h.if_object(), "type") == "RegularExpression";
        parts.push_back(std::string(regex ? "HeaderRegexp(" : "Header(") + goQuote(stringAt(h.if_object(), "name")) + "," +
                        goQuote(stringAt(h.if_object(), "value")) + ")");
      }
    std::string rule;
    for (const std::string& p : parts) rule += (rule.empty() ? "" : " && ") + p;
    priority = int64_t(rule.size());
    return withHosts(hosts, parts, priority);
  }

  static std::string withHosts(const std::vector<std::string>& hosts, const std::vector<std::string>& parts,
                               int64_t& priority) {
    std::string rule;
    size_t longest = 0;
    if (!hosts.empty()) {
      rule = hostRule(hosts);
      for (const std::string& h : hosts) longest = std::max(longest, h.size());
    }
    for (const std::string& p : parts) rule += (rule.empty() ? "" : " && ") + p;
    priority += int64_t(longest);
    return rule;
  }

  // The filters of a rule (or of a backendRef) as middlewares named after `routerName` (or the
  // backend's service); false when one cannot be served, its type in `failed`.
  bool filters(const json::object& r, std::string_view kind, const json::object* rule, const json::object* match,
               const std::string& routerName, Node& names, const config::Location& where,
               std::string* failed = nullptr, bool report = true) {
    const json::array* list = arrayAt(rule, "filters");
    if (!list) return true;
    bool grpc = kind == "GRPCRoute";
    for (size_t i = 0; i < list->size(); ++i) {
      const json::object* f = (*list)[i].if_object();
      std::string type = stringAt(f, "type");
      std::string id = routerName + "-" + toLower(type) + "-" + std::to_string(i);
      Node mw = Node::map(where);
      if (type == "RequestHeaderModifier" || (type == "ResponseHeaderModifier" && !grpc)) {
        const json::object* body = objectAt(f, type == "RequestHeaderModifier" ? "requestHeaderModifier" : "responseHeaderModifier");
        Node headers = Node::map(where);
        for (const char* op : {"set", "add"})
          if (const json::array* hs = arrayAt(body, op))
            for (const json::value& h : *hs)
              headers.set(stringAt(h.if_object(), "name"), Node::scalar(stringAt(h.if_object(), "value"), where));
        if (const json::array* rm = arrayAt(body, "remove"))
          for (const json::value& h : *rm)
            if (h.is_string()) headers.set(std::string(h.as_string()), Node::scalar("", where));
        Node options = Node::map(where);
        options.set(type == "RequestHeaderModifier" ? "customRequestHeaders" : "customResponseHeaders", std::move(headers));
        mw.set("headers", std::move(options));
      } else if (type == "RequestRedirect" && !grpc) {
        mw = redirect(objectAt(f, "requestRedirect"), match, where);
      } else if (type == "URLRewrite" && !grpc) {
        if (!rewrite(objectAt(f, "urlRewrite"), match, id, names, where)) {
          if (failed) *failed = type;
          return false;
        }
        continue;
      } else if (type == "CORS" && !grpc) {
        mw.set("headers", cors(objectAt(f, "cors"), where));
      } else if (type == "ExtensionRef") {
        const json::object* ext = objectAt(f, "extensionRef");
        if (stringAt(ext, "group") != "traefik.io" || stringAt(ext, "kind") != "Middleware") {
          if (report) out_.notices.push_back(objectError(kind, r, "ExtensionRef filter: expected a traefik.io Middleware"));
          if (failed) *failed = type;
          return false;
        }
        names.append(Node::scalar(makeId(namespaceOf(r), stringAt(ext, "name")) + "@kubernetescrd", where));
        continue;
      } else {
        config::ConfigError e = objectError(kind, r, "the " + type + " filter is not supported; the " +
                                                         (failed ? "backend" : "rule") + " answers 500");
        e.unsupported = true;
        if (report) out_.notices.push_back(std::move(e));
        if (failed) *failed = type;
        return false;
      }
      parts_.middlewares.set(id, std::move(mw));
      names.append(Node::scalar(id, where));
    }
    return true;
  }

  // The CORS filter as Traefik's main branch makes it (after 3.7): a headers middleware
  // answering preflights. An origin with a `*` becomes a regular expression (`*` alone: any
  // origin, echoed rather than answered with `*`, as the Gateway API's conformance tests
  // require); maxAge defaults to the CRD's 5.
  static Node cors(const json::object* f, const config::Location& where) {
    Node origins = Node::list(where), patterns = Node::list(where);
    if (const json::array* list = arrayAt(f, "allowOrigins"))
      for (const json::value& v : *list) {
        if (!v.is_string()) continue;
        std::string_view origin = v.as_string();
        size_t star = origin.find('*');
        if (star == std::string_view::npos) {
          origins.append(Node::scalar(std::string(origin), where));
        } else if (origin.size() == 1) {
          patterns.append(Node::scalar(".*", where));
        } else {
          patterns.append(Node::scalar("^" + regexEscape(origin.substr(0, star)) + ".*" +
                                           regexEscape(origin.substr(star + 1)) + "$", where));
        }
      }
    Node headers = Node::map(where);
    headers.set("accessControlAllowCredentials", Node::scalar(boolAt(f, "allowCredentials") ? "true" : "false", where));
    if (origins.size()) headers.set("accessControlAllowOriginList", std::move(origins));
    if (patterns.size()) headers.set("accessControlAllowOriginListRegex", std::move(patterns));
    for (auto [from, to] : {std::pair{"allowMethods", "accessControlAllowMethods"},
                            std::pair{"allowHeaders", "accessControlAllowHeaders"},
                            std::pair{"exposeHeaders", "accessControlExposeHeaders"}})
      if (const json::array* list = arrayAt(f, from); list && !list->empty()) headers.set(to, toNode(*list, where));
    headers.set("accessControlMaxAge", Node::scalar(std::to_string(intAt(f, "maxAge", 5)), where));
    return headers;
  }

  static std::string matchPrefix(const json::object* match) {
    std::string value = stringAt(objectAt(match, "path"), "value");
    return value.empty() ? "/" : value;
  }

  // RequestRedirect as a redirectRegex on the request's URL.
  Node redirect(const json::object* f, const json::object* match, const config::Location& where) {
    std::string scheme = stringAt(f, "scheme"), host = stringAt(f, "hostname");
    int64_t port = intAt(f, "port", 0), status = intAt(f, "statusCode", 302);
    const json::object* path = objectAt(f, "path");
    std::string regex = "^([a-z]+)://([^/:?]+)(:[0-9]+)?", replacement;
    replacement = (scheme.empty() ? "${1}" : scheme) + "://" + (host.empty() ? "${2}" : host);
    if (port) replacement += ":" + std::to_string(port);
    else if (scheme.empty()) replacement += "${3}";
    std::string type = stringAt(path, "type");
    if (type == "ReplaceFullPath") {
      regex += "(/[^?]*)?(\\?.*)?$";
      replacement += stringAt(path, "replaceFullPath") + "${5}";
    } else if (type == "ReplacePrefixMatch") {
      std::string prefix = matchPrefix(match), with = stringAt(path, "replacePrefixMatch");
      if (prefix.ends_with("/")) prefix.pop_back();
      if (with.ends_with("/")) with.pop_back();
      regex += regexEscape(prefix) + "(/[^?]*)?(\\?.*)?$";
      replacement += with + "${4}${5}";
    } else {
      regex += "(.*)$";
      replacement += "${4}";
    }
    Node options = Node::map(where);
    options.set("regex", Node::scalar(regex, where));
    options.set("replacement", Node::scalar(replacement, where));
    options.set("permanent", Node::scalar(status == 301 || status == 308 ? "true" : "false", where));
    Node mw = Node::map(where);
    mw.set("redirectRegex", std::move(options));
    return mw;
  }

  // URLRewrite: the Host through headers, the path through replacePath / replacePathRegex.
  bool rewrite(const json::object* f, const json::object* match, const std::string& id, Node& names,
               const config::Location& where) {
    std::string host = stringAt(f, "hostname");
    const json::object* path = objectAt(f, "path");
    if (host.empty() && !path) return false;
    if (!host.empty()) {
      Node headers = Node::map(where), options = Node::map(where), mw = Node::map(where);
      headers.set("Host", Node::scalar(host, where));
      options.set("customRequestHeaders", std::move(headers));
      mw.set("headers", std::move(options));
      parts_.middlewares.set(id + "-host", std::move(mw));
      names.append(Node::scalar(id + "-host", where));
    }
    if (path) {
      Node mw = Node::map(where), options = Node::map(where);
      if (stringAt(path, "type") == "ReplaceFullPath") {
        options.set("path", Node::scalar(stringAt(path, "replaceFullPath"), where));
        mw.set("replacePath", std::move(options));
      } else {
        std::string prefix = matchPrefix(match), with = stringAt(path, "replacePrefixMatch");
        if (prefix.ends_with("/")) prefix.pop_back();
        if (with.ends_with("/")) with.pop_back();
        options.set("regex", Node::scalar("^" + regexEscape(prefix) + "(/.*)?$", where));
        options.set("replacement", Node::scalar(with.empty() ? "/$1" : with + "$1", where));
        mw.set("replacePathRegex", std::move(options));
      }
      parts_.middlewares.set(id, std::move(mw));
      names.append(Node::scalar(id, where));
    }
    return true;
  }

  // The weighted service of a rule's backendRefs; a backend that fails is the 500 child.
  // A Service backendRef's own filters are middlewares of its load balancer (the service-level
  // `middlewares` of Traefik 3.7, as Traefik applies them), named after it.
  Node backends(const json::object& r, std::string_view kind, const json::object* rule, const json::object* match,
                const std::string& routerName, const config::Location& where, std::string& failure,
                std::string& reason) {
    std::vector<std::pair<std::string, std::string>> children;
    std::string ns = namespaceOf(r);
    bool grpc = kind == "GRPCRoute";
    if (const json::array* refs = arrayAt(rule, "backendRefs"))
      for (size_t i = 0; i < refs->size(); ++i) {
        const json::object* ref = (*refs)[i].if_object();
        auto [group, refKind, name, bns, weight] = backendRefOf(ref, ns);
        if (weight == "0") continue;
        std::string child = routerName + "-svc-" + bns + "-" + name + "-" + std::to_string(i);
        const json::array* refFilters = arrayAt(ref, "filters");
        bool hasFilters = refFilters && !refFilters->empty();
        // A backendRef is visited for each listener and match: its notices are given once.
        bool firstVisit = hasFilters && refFiltersReported_.insert(ref).second;
        std::string why, whyReason, unsupported;
        std::string what = std::string(grpc ? "GRPCBackendRef " : "HTTPBackendRef ") + group + "/" + refKind + "/" + bns + "/" + name;
        Node middlewares = Node::list(where);
        auto notApplied = [&](std::string_view why) {
          if (!firstVisit) return;
          config::ConfigError e = objectError(kind, r, "the filters of backendRef " + name + " " + std::string(why));
          e.unsupported = true;
          out_.notices.push_back(std::move(e));
        };
        if (hasFilters && grpc) notApplied("are not applied (on a GRPCRoute, as in Traefik)");
        // As Traefik: the grant, then the filters, then what the backend is.
        if (!granted(kind, ns, group == "core" ? "" : group, refKind, bns, name)) {
          why = "Cannot load " + what + ": missing ReferenceGrant";
          whyReason = "RefNotPermitted";
        } else if (hasFilters && !grpc &&
                   !filters(r, kind, ref, match, child, middlewares, where, &unsupported, firstVisit)) {
          why = "Cannot load filters on " + what + ": unsupported filter " + unsupported;
          whyReason = "InvalidKind";
        } else if (group == "traefik.io" && refKind == "TraefikService" && !grpc) {
          notApplied("(a TraefikService) are not applied; it is served without them");
          children.emplace_back(name.find('@') != std::string::npos ? name : makeId(bns, name) + "@kubernetescrd", weight);
          continue;
        } else if (group != "core" || refKind != "Service") {
          why = "Cannot load " + what + ": unsupported " + (grpc ? "GRPCBackendRef " : "HTTPBackendRef ") + group + "/" + refKind + "/" + name;
          whyReason = "InvalidKind";
        } else if (!loadBalancer(bns, name, ref, grpc, child, where, why, whyReason)) {
          why = "Cannot load " + what + ": " + why;
        } else if (middlewares.size()) {
          if (Node* service = parts_.services.find(child)) service->set("middlewares", std::move(middlewares));
        }
        if (!why.empty()) {
          if (failure.empty()) {
            failure = why;
            reason = whyReason;
          }
          children.emplace_back(kInvalidBackend, weight);
          continue;
        }
        children.emplace_back(child, weight);
      }
    return weighted(children, where);
  }

  bool loadBalancer(const std::string& ns, const std::string& name, const json::object* ref, bool grpc,
                    const std::string& child, const config::Location& where, std::string& why, std::string& reason) {
    int64_t portNumber = intAt(ref, "port", 0);
    if (!portNumber) {
      why = "port is required";
      reason = "UnsupportedProtocol";
      return false;
    }
    reason = "BackendNotFound";
    const json::object* service = objects_.find("Service", ns, name);
    if (!service) {
      why = "getting service: service \"" + name + "\" not found";
      return false;
    }
    const json::object* spec = objectAt(service, "spec");
    if (stringAt(spec, "type") == "ExternalName") {
      why = "type ExternalName is not supported for Kubernetes Service reference";
      return false;
    }
    json::value port = portNumber;
    ServicePort sp = findServicePort(objects_, ns, name, &port);
    if (!sp.port) {
      why = "service port " + std::to_string(portNumber) + " not found";
      return false;
    }
    if (std::string protocol = stringAt(sp.port, "protocol"); !protocol.empty() && protocol != "TCP") {
      why = "only TCP protocol is supported";
      reason = "UnsupportedProtocol";
      return false;
    }
    std::string appProtocol = toLower(stringAt(sp.port, "appProtocol")), scheme;
    if (grpc) {
      scheme = appProtocol.empty() || appProtocol == "kubernetes.io/h2c" ? "h2c" : appProtocol == "https" ? "https" : "";
    } else if (appProtocol.empty()) {
      scheme = portNumber == 443 || stringAt(sp.port, "name").starts_with("https") ? "https" : "http";
    } else if (appProtocol == "kubernetes.io/h2c") {
      scheme = "h2c";
    } else if (appProtocol == "http" || appProtocol == "kubernetes.io/ws") {
      scheme = "http";
    } else if (appProtocol == "https" || appProtocol == "kubernetes.io/wss") {
      scheme = "https";
    }
    if (scheme.empty()) {
      why = "unsupported application protocol " + appProtocol;
      reason = "UnsupportedProtocol";
      return false;
    }
    std::string transport;
    if (!grpc && !backendTls(ns, name, sp, child, transport, why, reason)) return false;
    if (!transport.empty()) scheme = "https";
    std::vector<std::string> addresses;
    if (!serviceAddresses(ns, name, *service, portNumber, sp, addresses, why)) return false;
    for (std::string& a : addresses) a = scheme + "://" + a;
    Node lb = Node::map(where);
    lb.set("servers", serversNode(addresses, where));
    lb.set("passHostHeader", Node::scalar("true", where));
    if (!transport.empty()) lb.set("serversTransport", Node::scalar(transport, where));
    Node service2 = Node::map(where);
    service2.set("loadBalancer", std::move(lb));
    parts_.services.set(child, std::move(service2));
    return true;
  }

  // The BackendTLSPolicy of a Service (the first by creation, then name): a serversTransport,
  // HTTP (`serverName`, `rootCAs`) or, for a TLSRoute's backend, TCP (the same under `tls`).
  bool backendTls(const std::string& ns, const std::string& name, const ServicePort& sp, const std::string& child,
                  std::string& transport, std::string& why, std::string& reason, bool tcp = false) {
    const json::object* policy = nullptr;
    std::string policyKey;
    objects_.each("BackendTLSPolicy", [&](const json::object& p) {
      if (namespaceOf(p) != ns) return;
      if (const json::array* targets = arrayAt(objectAt(&p, "spec"), "targetRefs"))
        for (const json::value& t : *targets) {
          std::string section = stringAt(t.if_object(), "sectionName");
          if (stringAt(t.if_object(), "kind") == "Service" && stringAt(t.if_object(), "name") == name &&
              (section.empty() || section == stringAt(sp.port, "name"))) {
            std::string key = stringAt(objectAt(&p, "metadata"), "creationTimestamp") + "/" + nameOf(p);
            if (!policy || key < policyKey) {
              policy = &p;
              policyKey = key;
            }
          }
        }
    });
    if (!policy) return true;
    const json::object* validation = objectAt(objectAt(policy, "spec"), "validation");
    config::Location where = locationOf("BackendTLSPolicy", *policy);
    Node st = Node::map(where);
    st.set("serverName", Node::scalar(stringAt(validation, "hostname"), where));
    Node roots = Node::list(where);
    if (const json::array* refs = arrayAt(validation, "caCertificateRefs"))
      for (const json::value& r : *refs) {
        std::string kind = stringAt(r.if_object(), "kind"), refName = stringAt(r.if_object(), "name"), pem;
        if (kind == "ConfigMap") {
          pem = stringAt(objectAt(objects_.find("ConfigMap", ns, refName), "data"), "ca.crt");
        } else if (kind == "Secret") {
          base64Decode(stringAt(objectAt(objects_.find("Secret", ns, refName), "data"), "ca.crt"), pem);
        } else {
          why = "Cannot apply BackendTLSPolicy for Service " + ns + "/" + name + ": Only ConfigMaps and Secrets are supported";
          reason = "RefNotPermitted";
          return false;
        }
        if (pem.empty()) {
          why = "Cannot apply BackendTLSPolicy for Service " + ns + "/" + name + ": " + kind + " " + ns + "/" + refName +
                " does not have a ca.crt";
          reason = "RefNotPermitted";
          return false;
        }
        roots.append(Node::scalar(pem, where));
      }
    if (roots.size()) st.set("rootCAs", std::move(roots));
    if (tcp) {
      Node tcpTransport = Node::map(where);
      tcpTransport.set("tls", std::move(st));
      parts_.tcpTransports.set(child, std::move(tcpTransport));
    } else {
      parts_.transports.set(child, std::move(st));
    }
    transport = child;
    return true;
  }

  void gatewayStatus(Gateway& gw) {
    const json::object& g = *gw.object;
    int64_t generation = generationOf(g);
    const json::object* current = objectAt(&g, "status");
    json::array listeners;
    bool valid = true;
    const json::array* previousListeners = arrayAt(current, "listeners");
    for (const Listener& L : gw.listeners) {
      const json::array* previous = nullptr;
      if (previousListeners)
        for (const json::value& p : *previousListeners)
          if (stringAt(p.if_object(), "name") == L.name) previous = arrayAt(p.if_object(), "conditions");
      json::array conditions = L.conditions;
      if (conditions.empty()) {
        conditions.push_back(condition("Accepted", true, "Accepted", "No error found", generation, previous));
        conditions.push_back(condition("ResolvedRefs", true, "ResolvedRefs", "No error found", generation, previous));
        conditions.push_back(condition("Programmed", true, "Programmed", "No error found", generation, previous));
      } else {
        valid = false;
        for (const json::value& c : conditions)
          out_.notices.push_back(objectError("Gateway", g, "listener " + L.name + ": " + std::string(stringAt(c.if_object(), "message"))));
      }
      json::array kinds;
      for (const std::string& k : L.kinds) kinds.push_back(json::object{{"group", kGroup}, {"kind", k}});
      listeners.push_back(json::object{{"name", L.name},
                                       {"supportedKinds", kinds},
                                       {"attachedRoutes", L.attachedRoutes},
                                       {"conditions", conditions}});
    }
    const json::array* previous = arrayAt(current, "conditions");
    json::array conditions;
    if (valid) {
      conditions.push_back(condition("Accepted", true, "Accepted", "Gateway successfully scheduled", generation, previous));
      conditions.push_back(condition("Programmed", true, "Programmed", "Gateway successfully scheduled", generation, previous));
    } else {
      conditions.push_back(condition("Accepted", false, "ListenersNotValid", "All Listeners must be valid", generation, previous));
    }
    json::array addresses;
    if (!options_.statusIp.empty()) {
      addresses.push_back(json::object{{"type", "IPAddress"}, {"value", options_.statusIp}});
    } else if (!options_.statusHostname.empty()) {
      addresses.push_back(json::object{{"type", "Hostname"}, {"value", options_.statusHostname}});
    } else if (!options_.statusServiceName.empty()) {
      const json::object* service = objects_.find("Service", options_.statusServiceNamespace, options_.statusServiceName);
      if (const json::array* ingress = arrayAt(objectAt(objectAt(service, "status"), "loadBalancer"), "ingress"))
        for (const json::value& i : *ingress) {
          std::string ip = stringAt(i.if_object(), "ip");
          addresses.push_back(ip.empty() ? json::object{{"type", "Hostname"}, {"value", stringAt(i.if_object(), "hostname")}}
                                         : json::object{{"type", "IPAddress"}, {"value", ip}});
        }
    }
    // Unchanged (conditions compared without their times, listeners by name, routes and conditions)?
    bool same = sameConditions(previous, conditions) && previousListeners && previousListeners->size() == listeners.size();
    for (size_t i = 0; same && i < listeners.size(); ++i) {
      const json::object* p = (*previousListeners)[i].if_object();
      same = stringAt(p, "name") == listeners[i].at("name").as_string() &&
             intAt(p, "attachedRoutes", -1) == listeners[i].at("attachedRoutes").as_int64() &&
             sameConditions(arrayAt(p, "conditions"), listeners[i].at("conditions").as_array());
    }
    const json::array* previousAddresses = arrayAt(current, "addresses");
    same = same && (previousAddresses ? *previousAddresses == addresses : addresses.empty());
    if (same) return;
    json::object status{{"conditions", conditions}, {"listeners", listeners}};
    if (!addresses.empty()) status["addresses"] = addresses;
    write("gateways", gw.ns, gw.name, std::move(status));
  }

  const KubeObjects& objects_;
  const GatewayOptions& options_;
  KubeBuild out_;
  std::set<std::string> classes_, certificatesSeen_;
  std::set<const json::object*> refFiltersReported_;  // backendRefs whose filters were reported
  std::map<std::string, Gateway> gateways_;
  DynamicParts parts_;
};

}  // namespace

std::string goQuote(std::string_view text) {
  static const char* hex = "0123456789abcdef";
  std::string out = "\"";
  for (unsigned char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += char(c);
    }
  }
  return out + "\"";
}

std::vector<WatchedResource> gatewayResources(bool experimentalChannel) {
  auto gw = [](const char* version, const char* plural, const char* kind, bool namespaced = true, bool selected = false) {
    return WatchedResource{{std::string(kGroup), version, plural, kind, namespaced}, selected};
  };
  std::vector<WatchedResource> out = {
      {{"", "v1", "namespaces", "Namespace", false}, false},
      gw("v1", "gatewayclasses", "GatewayClass", false, true),
      gw("v1", "gateways", "Gateway"),
      gw("v1", "httproutes", "HTTPRoute"),
      gw("v1", "grpcroutes", "GRPCRoute"),
      gw("v1beta1", "referencegrants", "ReferenceGrant"),
      gw("v1", "backendtlspolicies", "BackendTLSPolicy"),
      gw("v1", "tlsroutes", "TLSRoute"),
      {{"", "v1", "services", "Service", true}, false},
      {{"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true}, false},
      {{"", "v1", "secrets", "Secret", true}, false},
      {{"", "v1", "configmaps", "ConfigMap", true}, false},
  };
  if (experimentalChannel) out.push_back(gw("v1alpha2", "tcproutes", "TCPRoute"));
  return out;
}

KubeBuild buildGatewayConfig(const KubeObjects& objects, const GatewayOptions& options) {
  return GatewayBuild(objects, options).run();
}

}  // namespace causeway::provider::kube
