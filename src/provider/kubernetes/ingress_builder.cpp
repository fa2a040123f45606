#include "provider/kubernetes/ingress_builder.h"

#include <boost/json.hpp>
#include <climits>
#include <map>
#include <set>

#include "core/bytes.h"
#include "core/strings.h"
#include "provider/kubernetes/crd_builder.h"

namespace causeway::provider::kube {

namespace {

using config::Node;

constexpr std::string_view kController = "traefik.io/ingress-controller";
constexpr std::string_view kRouter = "traefik.ingress.kubernetes.io/router.";
constexpr std::string_view kService = "traefik.ingress.kubernetes.io/service.";

// The annotations with `prefix`, without it, keys lower-cased.
std::map<std::string, std::string> annotations(const json::object& o, std::string_view prefix) {
  std::map<std::string, std::string> out;
  if (const json::object* all = objectAt(objectAt(&o, "metadata"), "annotations"))
    for (const auto& [key, value] : *all)
      if (key.starts_with(prefix) && value.is_string()) out[toLower(key.substr(prefix.size()))] = value.as_string();
  return out;
}

Node commaList(std::string_view text, const config::Location& where) {
  Node list = Node::list(where);
  for (std::string_view item : splitTrimmed(text, ',')) list.append(Node::scalar(std::string(item), where));
  return list;
}

// Host(`x`), or for a wildcard host *.example.com a HostRegexp matching one label.
std::string hostRule(const std::string& host) {
  if (!host.starts_with("*.")) return "Host(`" + host + "`)";
  std::string rest;
  for (char c : host.substr(2)) {
    if (c == '.') rest += "\\.";
    else rest += c;
  }
  return "HostRegexp(`^[a-zA-Z0-9-]+\\." + rest + "$`)";
}

class IngressBuild {
 public:
  IngressBuild(const KubeObjects& objects, const IngressOptions& options) : objects_(objects), options_(options) {}

  KubeBuild run() {
    objects_.each("IngressClass", [&](const json::object& c) {
      if (stringAt(objectAt(&c, "spec"), "controller") != kController) return;
      if (!options_.ingressClass.empty() && nameOf(c) != options_.ingressClass) return;
      classes_.insert(nameOf(c));
    });
    objects_.each("Ingress", [&](const json::object& o) {
      if (ours(o)) ingress(o);
    });
    out_.root = std::move(parts_).assemble();
    return std::move(out_);
  }

 private:
  // Traefik's rule: an Ingress with spec.ingressClassName is ours when that class is one of
  // our IngressClasses; otherwise its kubernetes.io/ingress.class annotation must be our
  // ingressClass, or "traefik" (or absent) when ingressClass is not set.
  bool ours(const json::object& o) const {
    std::string className = stringAt(objectAt(&o, "spec"), "ingressClassName");
    if (!className.empty()) {
      if (options_.disableIngressClassLookup) return className == (options_.ingressClass.empty() ? "traefik" : options_.ingressClass);
      return classes_.count(className) > 0;
    }
    std::string annotated = annotation(o, "kubernetes.io/ingress.class");
    if (options_.ingressClass.empty()) return annotated.empty() || annotated == "traefik";
    return annotated == options_.ingressClass;
  }

  void fail(const json::object& o, std::string message) {
    out_.notices.push_back(objectError("Ingress", o, std::move(message)));
  }

  // The service of a backend {service: {name, port: {number | name}}}; "" with `error`.
  std::string backendService(const json::object& ingress, const json::object* backend, std::string& error) {
    std::string ns = namespaceOf(ingress);
    if (objectAt(backend, "resource")) {
      error = "resource backends are not supported; expected a service backend";
      return "";
    }
    const json::object* service = objectAt(backend, "service");
    std::string name = stringAt(service, "name");
    const json::object* port = objectAt(service, "port");
    if (name.empty() || !port) {
      error = "expected a backend with service.name and service.port";
      return "";
    }
    json::value portValue = stringAt(port, "name").empty() ? json::value(intAt(port, "number", 0))
                                                            : json::value(stringAt(port, "name"));
    const json::object* svc = objects_.find("Service", ns, name);
    std::map<std::string, std::string> notes = svc ? annotations(*svc, kService) : std::map<std::string, std::string>{};
    ServersOptions how;
    how.scheme = notes["serversscheme"];
    how.nativeLB = notes.count("nativelb") ? iequals(notes["nativelb"], "true") : options_.nativeLBByDefault;
    how.allowExternalNameServices = options_.allowExternalNameServices;
    how.allowEmptyServices = options_.allowEmptyServices;
    std::vector<std::string> urls;
    if (!serviceServers(objects_, ns, name, &portValue, how, urls, error)) return "";
    config::Location where = locationOf("Service", *svc);
    Node lb = Node::map(where);
    lb.set("servers", serversNode(urls, where));
    if (notes.count("passhostheader")) lb.set("passHostHeader", Node::scalar(notes["passhostheader"], where));
    if (notes.count("serverstransport")) lb.set("serversTransport", Node::scalar(notes["serverstransport"], where));
    if (iequals(notes["sticky.cookie"], "true") || notes.count("sticky.cookie.name")) {
      Node cookie = Node::map(where);
      for (const char* key : {"name", "secure", "samesite", "httponly", "maxage", "path", "domain"})
        if (auto it = notes.find(std::string("sticky.cookie.") + key); it != notes.end()) {
          static const std::map<std::string, std::string> spelled = {{"samesite", "sameSite"}, {"httponly", "httpOnly"},
                                                                     {"maxage", "maxAge"}};
          auto s = spelled.find(key);
          cookie.set(s == spelled.end() ? key : s->second, Node::scalar(it->second, where));
        }
      Node sticky = Node::map(where);
      sticky.set("cookie", std::move(cookie));
      lb.set("sticky", std::move(sticky));
    }
    for (const auto& [key, value] : notes)
      if (key == "nodeportlb" && iequals(value, "true")) {
        config::ConfigError e = objectError("Service", *svc, "service.nodeportlb is not supported yet; the endpoints are used");
        e.unsupported = true;
        out_.notices.push_back(std::move(e));
      }
    std::string id = serviceName(ns, name, portText(&portValue));
    Node entry = Node::map(where);
    entry.set("loadBalancer", std::move(lb));
    if (!parts_.services.find(id)) parts_.services.set(id, std::move(entry));
    return id;
  }

  // The router.* annotations applied to `router`; false (with a notice) when one is malformed.
  bool routerAnnotations(const json::object& o, Node& router, bool tlsSection, const config::Location& where) {
    std::map<std::string, std::string> notes = annotations(o, kRouter);
    if (auto it = notes.find("entrypoints"); it != notes.end()) router.set("entryPoints", commaList(it->second, where));
    if (auto it = notes.find("middlewares"); it != notes.end()) router.set("middlewares", commaList(it->second, where));
    if (auto it = notes.find("priority"); it != notes.end()) router.set("priority", Node::scalar(it->second, where));
    if (auto it = notes.find("rulesyntax"); it != notes.end()) router.set("ruleSyntax", Node::scalar(it->second, where));
    Node tls = Node::map(where);
    bool hasTls = tlsSection || iequals(notes["tls"], "true");
    if (auto it = notes.find("tls.certresolver"); it != notes.end()) {
      tls.set("certResolver", Node::scalar(it->second, where));
      hasTls = true;
    }
    if (auto it = notes.find("tls.options"); it != notes.end()) {
      tls.set("options", Node::scalar(it->second, where));
      hasTls = true;
    }
    Node domains = Node::list(where);
    for (int n = 0;; ++n) {
      std::string prefix = "tls.domains." + std::to_string(n) + ".";
      auto main = notes.find(prefix + "main");
      auto sans = notes.find(prefix + "sans");
      if (main == notes.end() && sans == notes.end()) break;
      Node domain = Node::map(where);
      if (main != notes.end()) domain.set("main", Node::scalar(main->second, where));
      if (sans != notes.end()) domain.set("sans", commaList(sans->second, where));
      domains.append(std::move(domain));
      hasTls = true;
    }
    if (domains.size()) tls.set("domains", std::move(domains));
    if (hasTls) router.set("tls", std::move(tls));
    Node observability = Node::map(where);
    for (const auto& [key, spelled] : std::map<std::string, std::string>{{"observability.accesslogs", "accessLogs"},
                                                                         {"observability.metrics", "metrics"},
                                                                         {"observability.tracing", "tracing"},
                                                                         {"observability.traceverbosity", "traceVerbosity"}})
      if (auto it = notes.find(key); it != notes.end()) observability.set(spelled, Node::scalar(it->second, where));
    if (observability.size()) router.set("observability", std::move(observability));
    if (auto it = notes.find("pathmatcher"); it != notes.end() && it->second != "Path" && it->second != "PathPrefix" &&
                                             it->second != "PathRegexp") {
      fail(o, "annotation router.pathmatcher: expected Path, PathPrefix or PathRegexp, not " + it->second);
      return false;
    }
    return true;
  }

  void ingress(const json::object& o) {
    std::string ns = namespaceOf(o), name = nameOf(o);
    config::Location where = locationOf("Ingress", o);
    const json::object* spec = objectAt(&o, "spec");
    // As Traefik: spec.tls loads certificates; TLS on the routers is the router.tls annotation's.
    bool tlsSection = false;
    std::map<std::string, std::string> notes = annotations(o, kRouter);
    std::string pathMatcher = notes.count("pathmatcher") ? notes["pathmatcher"] : "PathPrefix";
    std::string error;
    const json::array* rules = arrayAt(spec, "rules");
    // The default backend serves only an Ingress without rules (Traefik's rule).
    if (const json::object* backend = objectAt(spec, "defaultBackend"); backend && (!rules || rules->empty())) {
      std::string service = backendService(o, backend, error);
      if (service.empty()) {
        fail(o, "spec.defaultBackend: " + error);
      } else if (parts_.routers.find("default-router")) {
        fail(o, "spec.defaultBackend: another Ingress has a default backend already; this one is not used");
      } else {
        Node router = Node::map(where);
        router.set("rule", Node::scalar("PathPrefix(`/`)", where));
        if (!routerAnnotations(o, router, tlsSection, where)) return;
        router.set("priority", Node::scalar(std::to_string(INT_MIN), where));  // the annotation's is ignored
        router.set("service", Node::scalar("default-backend", where));
        parts_.services.set("default-backend", *parts_.services.find(service));
        parts_.routers.set("default-router", std::move(router));
      }
    }
    std::map<std::string, std::vector<Node>> routers;  // key → routers (several: the same host and path)
    if (rules)
      for (size_t r = 0; r < rules->size(); ++r) {
        const json::object* rule = (*rules)[r].if_object();
        std::string host = stringAt(rule, "host");
        const json::array* paths = arrayAt(objectAt(rule, "http"), "paths");
        if (!paths) continue;
        for (size_t p = 0; p < paths->size(); ++p) {
          const json::object* path = (*paths)[p].if_object();
          std::string at = "spec.rules[" + std::to_string(r) + "].http.paths[" + std::to_string(p) + "]";
          std::string service = backendService(o, objectAt(path, "backend"), error);
          if (service.empty()) {
            fail(o, at + ".backend: " + error);
            continue;
          }
          std::string pathText = stringAt(path, "path"), pathType = stringAt(path, "pathType");
          std::vector<std::string> parts;
          if (!host.empty()) parts.push_back(hostRule(host));
          if (!pathText.empty()) {
            if (pathType == "Exact") {
              parts.push_back("Path(`" + pathText + "`)");
            } else if (pathType == "Prefix") {
              if (options_.strictPrefixMatching && pathText != "/") {
                std::string trimmed = pathText;
                while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
                parts.push_back("(Path(`" + trimmed + "`) || PathPrefix(`" + trimmed + "/`))");
              } else {
                parts.push_back("PathPrefix(`" + pathText + "`)");
              }
            } else {
              parts.push_back(pathMatcher + "(`" + pathText + "`)");
            }
          }
          std::string ruleText;
          for (const std::string& part : parts) ruleText += (ruleText.empty() ? "" : " && ") + part;
          if (ruleText.empty()) ruleText = "PathPrefix(`/`)";
          Node router = Node::map(where);
          router.set("rule", Node::scalar(ruleText, where));
          if (!routerAnnotations(o, router, tlsSection, where)) return;
          router.set("service", Node::scalar(service, where));
          routers[normalizeName(ns + "-" + name + "-" + host + pathText)].push_back(std::move(router));
        }
      }
    for (auto& [key, list] : routers) {
      if (list.size() == 1) {
        parts_.routers.set(key, std::move(list.front()));
        continue;
      }
      for (Node& router : list) parts_.routers.set(crdRouterName("", key, router.find("rule")->text()), std::move(router));
    }
    if (const json::array* tls = arrayAt(spec, "tls"))
      for (const json::value& entry : *tls) {
        std::string secret = stringAt(entry.if_object(), "secretName");
        if (secret.empty()) continue;
        if (!certificate(ns, secret, where, error)) fail(o, "spec.tls: " + error);
      }
    status(o);
  }

  bool certificate(const std::string& ns, const std::string& name, const config::Location& where, std::string& error) {
    Node pair;
    if (!tlsCertificate(objects_, ns, name, where, pair, error)) return false;
    if (seenCertificates_.insert(ns + "/" + name).second) parts_.certificates.append(std::move(pair));
    return true;
  }

  // The status the Ingress should have (ingressEndpoint), written when it differs.
  void status(const json::object& o) {
    json::array wanted;
    if (!options_.endpointIp.empty() || !options_.endpointHostname.empty()) {
      json::object entry;
      if (!options_.endpointIp.empty()) entry["ip"] = options_.endpointIp;
      if (!options_.endpointHostname.empty()) entry["hostname"] = options_.endpointHostname;
      wanted.push_back(std::move(entry));
    } else if (!options_.publishedService.empty()) {
      std::string published = options_.publishedService;
      size_t slash = published.find('/');
      std::string pns = slash == std::string::npos ? "default" : published.substr(0, slash);
      std::string pname = slash == std::string::npos ? published : published.substr(slash + 1);
      const json::object* service = objects_.find("Service", pns, pname);
      const json::array* ingress = arrayAt(objectAt(objectAt(service, "status"), "loadBalancer"), "ingress");
      if (!ingress) return;
      wanted = *ingress;
    } else {
      return;
    }
    ingressStatus(o, wanted, out_.statusWrites);
  }

  const KubeObjects& objects_;
  const IngressOptions& options_;
  KubeBuild out_;
  std::set<std::string> classes_;
  std::set<std::string> seenCertificates_;
  DynamicParts parts_;
};

}  // namespace

std::vector<WatchedResource> ingressResources() {
  return {
      {{"networking.k8s.io", "v1", "ingresses", "Ingress", true}, true},
      {{"networking.k8s.io", "v1", "ingressclasses", "IngressClass", false}, false},
      {{"", "v1", "services", "Service", true}, false},
      {{"discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true}, false},
      {{"", "v1", "secrets", "Secret", true}, false},
  };
}

KubeBuild buildIngressConfig(const KubeObjects& objects, const IngressOptions& options) {
  return IngressBuild(objects, options).run();
}

}  // namespace causeway::provider::kube
