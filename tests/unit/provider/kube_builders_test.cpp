// The Kubernetes providers' builds (provider/kubernetes/*_builder.h): Traefik's generated names,
// EndpointSlice conditions, label selectors, and per-object errors, on objects written here as
// the API server would send them.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <algorithm>
#include <fstream>
#include <iterator>

#include "provider/kubernetes/crd_builder.h"
#include "provider/kubernetes/gateway_builder.h"
#include "provider/kubernetes/nginx_builder.h"
#include "provider/kubernetes/ingress_builder.h"

namespace causeway::provider::kube {
namespace {

// Objects by kind, from JSON text.
struct Cluster {
  std::map<std::string, ObjectMap> kinds;
  // Stored as a reflector stores it (text, with EndpointSlices' Service names indexed).
  void add(const std::string& kind, std::string_view text) {
    json::value object = json::parse(text);
    std::string ns = namespaceOf(object.as_object()), name = nameOf(object.as_object());
    kinds[kind][ns.empty() ? name : ns + "/" + name] =
        clients::kubernetes::storeObject(object, kind == "EndpointSlice" ? kServiceNameLabel : std::string_view());
  }
  KubeObjects objects() const {
    KubeObjects o;
    for (const auto& [kind, map] : kinds) o.add(kind, &map);
    return o;
  }
  void service(const std::string& name, int port = 80, const std::string& portName = "http") {
    add("Service", R"J({"metadata":{"name":")J" + name + R"J(","namespace":"default"},"spec":{"ports":[{"name":")J" +
                       portName + R"J(","port":)J" + std::to_string(port) + "}]}}");
  }
  // The Service app (one endpoint), and the Gateway gw of class traefik with one HTTP listener
  // on port 8000.
  void httpGateway() {
    service("app");
    slice("app-1", "app", R"J([{"addresses":["10.0.0.1"]}])J");
    add("GatewayClass", R"J({"metadata":{"name":"traefik"},"spec":{"controllerName":"traefik.io/gateway-controller"}})J");
    add("Gateway", R"J({"metadata":{"name":"gw","namespace":"default"},"spec":{"gatewayClassName":"traefik",
        "listeners":[{"name":"http","protocol":"HTTP","port":8000}]}})J");
  }
  void slice(const std::string& name, const std::string& service, const std::string& endpoints, int port = 8080,
             const std::string& portName = "http") {
    add("EndpointSlice", R"J({"metadata":{"name":")J" + name +
                             R"J(","namespace":"default","labels":{"kubernetes.io/service-name":")J" + service +
                             R"J("}},"addressType":"IPv4","ports":[{"name":")J" + portName + R"J(","port":)J" +
                             std::to_string(port) + R"J(}],"endpoints":)J" + endpoints + "}");
  }
};

std::string at(const config::Node& root, std::initializer_list<std::string_view> path) {
  const config::Node* n = &root;
  for (std::string_view p : path) {
    if (!n) return "<none>";
    n = n->isList() ? (std::stoul(std::string(p)) < n->items().size() ? &n->items()[std::stoul(std::string(p))] : nullptr)
                    : n->find(p);
  }
  return n ? (n->isScalar() ? n->text() : n->toString()) : "<none>";
}

std::string notices(const KubeBuild& b) {
  std::string out;
  for (const auto& e : b.notices) out += e.toString() + "\n";
  return out;
}

TEST(KubeNames, TraefiksGeneratedNames) {
  // Traefik's own test vector (crd/kubernetes_test.go): default/test.route with this match.
  EXPECT_EQ(crdRouterName("default", "test.route", "Host(`foo.com`) && PathPrefix(`/bar`)"),
            "default-test-route-6b204d94623b3df4370c");
  EXPECT_EQ(serviceName("default", "whoami", "80"), "default-whoami-80");
  EXPECT_EQ(serviceName("default", "who.ami", "http"), "default-who-ami-http");
  EXPECT_EQ(normalizeName("--a..b__"), "a-b");
}

TEST(KubeSelector, EqualitySetAndExistence) {
  std::vector<std::function<bool(const json::object*)>> match;
  std::string error;
  ASSERT_TRUE(parseSelector("team=edge, tier in (a, b), !legacy, env!=prod", match, error)) << error;
  auto labels = json::parse(R"J({"team":"edge","tier":"b","env":"dev"})J");
  for (const auto& m : match) EXPECT_TRUE(m(&labels.as_object()));
  auto other = json::parse(R"J({"team":"edge","tier":"c"})J");
  EXPECT_FALSE(match[1](&other.as_object()));
  EXPECT_FALSE(parseSelector("tier in (a", match, error));
}

TEST(KubeEndpoints, ServingNotTerminatingEachIpOnce) {
  Cluster c;
  c.service("app");
  c.slice("app-1", "app",
          R"J([{"addresses":["10.0.0.1"],"conditions":{"ready":true,"serving":true,"terminating":false}},
              {"addresses":["10.0.0.2"],"conditions":{"ready":false,"serving":false}},
              {"addresses":["10.0.0.3"],"conditions":{"ready":false,"serving":true,"terminating":true}},
              {"addresses":["10.0.0.4"]},
              {"addresses":["10.0.0.1"],"conditions":{"ready":true}}])J");
  c.slice("other", "another-service", R"J([{"addresses":["10.9.9.9"]}])J");
  KubeObjects objects = c.objects();
  json::value port = 80;
  ServicePort p = findServicePort(objects, "default", "app", &port);
  ASSERT_TRUE(p.port);
  EXPECT_EQ(endpointAddresses(objects, p), (std::vector<std::string>{"10.0.0.1:8080", "10.0.0.4:8080"}));
  json::value byName = "http";
  EXPECT_TRUE(findServicePort(objects, "default", "app", &byName).port);
}

TEST(CrdBuild, OneServiceIsNamedAfterTheRouterSeveralAreWeighted) {
  Cluster c;
  c.service("a");
  c.slice("a-1", "a", R"J([{"addresses":["10.0.0.1"]}])J");
  c.service("b", 443, "https");
  c.slice("b-1", "b", R"J([{"addresses":["10.0.0.2"]}])J", 8443, "https");
  c.add("IngressRoute", R"J({"metadata":{"name":"web","namespace":"default"},"spec":{"entryPoints":["web"],"routes":[
      {"match":"Host(`one`)","kind":"Rule","services":[{"name":"a","port":80}]},
      {"match":"Host(`two`)","kind":"Rule","services":[{"name":"a","port":80,"weight":3},{"name":"b","port":443}]}]}})J");
  KubeBuild b = buildCrdConfig(c.objects(), {});
  std::string one = crdRouterName("default", "web", "Host(`one`)"), two = crdRouterName("default", "web", "Host(`two`)");
  EXPECT_EQ(at(b.root, {"http", "routers", one, "service"}), one);
  EXPECT_EQ(at(b.root, {"http", "services", one, "loadBalancer", "servers", "0", "url"}), "http://10.0.0.1:8080");
  EXPECT_EQ(at(b.root, {"http", "routers", two, "service"}), two);
  EXPECT_EQ(at(b.root, {"http", "services", two, "weighted", "services", "0", "name"}), "default-a-80");
  EXPECT_EQ(at(b.root, {"http", "services", two, "weighted", "services", "0", "weight"}), "3");
  EXPECT_EQ(at(b.root, {"http", "services", two, "weighted", "services", "1", "weight"}), "1");
  // Port 443 / a port named https: https to the endpoints.
  EXPECT_EQ(at(b.root, {"http", "services", "default-b-443", "loadBalancer", "servers", "0", "url"}),
            "https://10.0.0.2:8443");
  EXPECT_EQ(notices(b), "");
}

TEST(CrdBuild, AServiceReferencesMiddlewaresAreItsLoadBalancers) {
  Cluster c;
  c.service("a");
  c.slice("a-1", "a", R"J([{"addresses":["10.0.0.1"]}])J");
  c.add("TraefikService", R"J({"metadata":{"name":"ts","namespace":"default"},"spec":{"weighted":{"services":[
      {"name":"a","port":80,"middlewares":[{"name":"inner"}]}]}}})J");
  c.add("IngressRoute", R"J({"metadata":{"name":"r","namespace":"default"},"spec":{"routes":[
      {"match":"Host(`one`)","services":[{"name":"a","port":80,"middlewares":[{"name":"strip"},{"name":"x@file"}]}]},
      {"match":"Host(`two`)","services":[{"name":"ts","kind":"TraefikService","middlewares":[{"name":"lost"}]}]},
      {"match":"Host(`three`)","services":[{"name":"a","port":80,"middlewares":[{"name":"m","namespace":"other"}]}]},
      {"match":"Host(`four`)","services":[{"name":"a","port":80,"nodePortLB":true}]}]}})J");
  c.add("IngressRoute", R"J({"metadata":{"name":"child","namespace":"default"},"spec":{"parentRefs":[{"name":"r"}],
      "routes":[{"match":"Path(`/c`)","services":[{"name":"a","port":80}]}]}})J");
  c.add("IngressRouteTCP", R"J({"metadata":{"name":"t","namespace":"default"},"spec":{
      "routes":[{"match":"HostSNI(`*`)","services":[{"name":"a","port":80,"nodePortLB":true}]}]}})J");
  KubeBuild b = buildCrdConfig(c.objects(), {});
  std::string one = crdRouterName("default", "r", "Host(`one`)");
  // Traefik 3.7: the reference's middlewares on the load balancer, in the Service's namespace.
  EXPECT_EQ(at(b.root, {"http", "services", one, "middlewares"}), "[default-strip, x@file]");
  EXPECT_EQ(at(b.root, {"http", "routers", one, "middlewares"}), "<none>");
  // A weighted child with middlewares has a name of its own: the shared default-a-80 (another
  // reference's) never carries them.
  const config::Node* services = b.root.find("http")->find("services");
  std::string child;
  for (const auto& entry : services->entries())
    if (entry.key.starts_with("default-a-80-mw-")) child = entry.key;
  EXPECT_EQ(child.size(), std::string("default-a-80-mw-").size() + 8) << at(b.root, {"http", "services"});
  EXPECT_EQ(at(b.root, {"http", "services", child, "middlewares"}), "[default-inner]");  // the TraefikService's child
  EXPECT_EQ(at(b.root, {"http", "services", "default-ts", "weighted", "services", "0", "name"}), child);
  std::string text = notices(b);
  EXPECT_NE(text.find("IngressRoute default/r: the middlewares of the TraefikService reference ts are not applied"),
            std::string::npos) << text;
  EXPECT_NE(at(b.root, {"http", "routers", crdRouterName("default", "r", "Host(`two`)")}), "<none>");
  EXPECT_NE(text.find("spec.routes[2].services: middlewares: the middleware other/m is in another namespace"),
            std::string::npos) << text;
  // What is not supported yet is said, on the object.
  EXPECT_NE(text.find("IngressRoute default/r: nodePortLB (service a) is not supported yet; the endpoints are used"),
            std::string::npos) << text;
  EXPECT_NE(text.find("IngressRouteTCP default/t: nodePortLB (service a) is not supported yet"), std::string::npos)
      << text;
  EXPECT_NE(text.find("IngressRoute default/child: spec.parentRefs: multi-layer routing is not supported yet"),
            std::string::npos) << text;
  EXPECT_EQ(at(b.root, {"http", "routers", crdRouterName("default", "child", "Path(`/c`)")}), "<none>");
}

TEST(CrdBuild, ProblemsAreNoticesOnTheObjectAndTheRestIsBuilt) {
  Cluster c;
  c.service("a");
  c.slice("a-1", "a", R"J([{"addresses":["10.0.0.1"]}])J");
  c.service("empty");
  c.add("IngressRoute", R"J({"metadata":{"name":"r","namespace":"default"},"spec":{"routes":[
      {"match":"Host(`ok`)","services":[{"name":"a","port":80}]},
      {"match":"Host(`missing`)","services":[{"name":"nope","port":80}]},
      {"match":"Host(`empty`)","services":[{"name":"empty","port":80}]},
      {"match":"Host(`x`)","middlewares":[{"name":"m","namespace":"other"}],"services":[{"name":"a","port":80}]},
      {"match":"","services":[{"name":"a","port":80}]}]}})J");
  c.add("Middleware", R"J({"metadata":{"name":"auth","namespace":"default"},"spec":{"basicAuth":{"secret":"gone"}}})J");
  c.add("IngressRouteUDP", R"J({"metadata":{"name":"dns","namespace":"default"},"spec":{}})J");
  KubeBuild b = buildCrdConfig(c.objects(), {});
  std::string text = notices(b);
  EXPECT_NE(text.find("IngressRoute default/r: spec.routes[1].services: the Service default/nope does not exist"),
            std::string::npos) << text;
  EXPECT_NE(text.find("spec.routes[2].services: the Service default/empty has no ready endpoints"), std::string::npos);
  EXPECT_NE(text.find("spec.routes[3].middlewares: the middleware other/m is in another namespace"), std::string::npos);
  EXPECT_NE(text.find("spec.routes[4].match: expected a rule"), std::string::npos);
  EXPECT_NE(text.find("Middleware default/auth: basicAuth.secret: the Secret default/gone does not exist"),
            std::string::npos);
  EXPECT_NE(text.find("IngressRouteUDP default/dns"), std::string::npos);
  EXPECT_NE(at(b.root, {"http", "routers", crdRouterName("default", "r", "Host(`ok`)")}), "<none>");
  EXPECT_EQ(at(b.root, {"http", "routers", crdRouterName("default", "r", "Host(`missing`)")}), "<none>");
  // allowEmptyServices: the route is served by an empty load balancer (503).
  CrdOptions allow;
  allow.allowEmptyServices = true;
  KubeBuild empty = buildCrdConfig(c.objects(), allow);
  EXPECT_EQ(at(empty.root, {"http", "services", crdRouterName("default", "r", "Host(`empty`)"), "loadBalancer", "servers"}),
            "[]");
}

TEST(CrdBuild, IngressClassSelectsIngressRoutesOnly) {
  Cluster c;
  c.service("a");
  c.slice("a-1", "a", R"J([{"addresses":["10.0.0.1"]}])J");
  c.add("IngressRoute", R"J({"metadata":{"name":"mine","namespace":"default","annotations":{"kubernetes.io/ingress.class":"edge"}},
      "spec":{"routes":[{"match":"Host(`m`)","services":[{"name":"a","port":80}]}]}})J");
  c.add("IngressRoute", R"J({"metadata":{"name":"plain","namespace":"default"},
      "spec":{"routes":[{"match":"Host(`p`)","services":[{"name":"a","port":80}]}]}})J");
  c.add("Middleware", R"J({"metadata":{"name":"strip","namespace":"default"},"spec":{"stripPrefix":{"prefixes":["/a"]}}})J");
  CrdOptions edge;
  edge.ingressClass = "edge";
  KubeBuild b = buildCrdConfig(c.objects(), edge);
  EXPECT_NE(at(b.root, {"http", "routers", crdRouterName("default", "mine", "Host(`m`)")}), "<none>");
  EXPECT_EQ(at(b.root, {"http", "routers", crdRouterName("default", "plain", "Host(`p`)")}), "<none>");
  EXPECT_EQ(at(b.root, {"http", "middlewares", "default-strip", "stripPrefix", "prefixes", "0"}), "/a");
  KubeBuild none = buildCrdConfig(c.objects(), {});
  EXPECT_EQ(at(none.root, {"http", "routers", crdRouterName("default", "mine", "Host(`m`)")}), "<none>");
  EXPECT_NE(at(none.root, {"http", "routers", crdRouterName("default", "plain", "Host(`p`)")}), "<none>");
}

TEST(IngressBuild, PathTypesAnnotationsAndStatus) {
  Cluster c;
  c.service("a");
  c.slice("a-1", "a", R"J([{"addresses":["10.0.0.1"]}])J");
  c.add("Ingress", R"J({"metadata":{"name":"site","namespace":"default","annotations":{
        "traefik.ingress.kubernetes.io/router.entrypoints":"web, websecure",
        "traefik.ingress.kubernetes.io/router.middlewares":"default-strip@kubernetescrd",
        "traefik.ingress.kubernetes.io/router.tls":"true"}},
      "spec":{"rules":[{"host":"example.com","http":{"paths":[
        {"path":"/exact","pathType":"Exact","backend":{"service":{"name":"a","port":{"number":80}}}},
        {"path":"/pre","pathType":"Prefix","backend":{"service":{"name":"a","port":{"name":"http"}}}},
        {"path":"/gone","pathType":"Prefix","backend":{"service":{"name":"nope","port":{"number":80}}}}]}},
        {"host":"*.wild.test","http":{"paths":[{"path":"/","pathType":"ImplementationSpecific",
          "backend":{"service":{"name":"a","port":{"number":80}}}}]}}]},
      "status":{"loadBalancer":{}}})J");
  c.add("Ingress", R"J({"metadata":{"name":"other","namespace":"default","annotations":{"kubernetes.io/ingress.class":"nginx"}},
      "spec":{"rules":[{"host":"nginx.test","http":{"paths":[{"path":"/","pathType":"Prefix",
      "backend":{"service":{"name":"a","port":{"number":80}}}}]}}]}})J");
  IngressOptions options;
  options.endpointHostname = "lb.example.com";
  KubeBuild b = buildIngressConfig(c.objects(), options);
  EXPECT_EQ(at(b.root, {"http", "routers", "default-site-example-com-exact", "rule"}),
            "Host(`example.com`) && Path(`/exact`)");
  EXPECT_EQ(at(b.root, {"http", "routers", "default-site-example-com-pre", "rule"}),
            "Host(`example.com`) && PathPrefix(`/pre`)");
  EXPECT_EQ(at(b.root, {"http", "routers", "default-site-example-com-pre", "service"}), "default-a-http");
  EXPECT_EQ(at(b.root, {"http", "routers", "default-site-example-com-pre", "entryPoints"}), "[web, websecure]");
  EXPECT_EQ(at(b.root, {"http", "routers", "default-site-example-com-pre", "middlewares", "0"}),
            "default-strip@kubernetescrd");
  EXPECT_EQ(at(b.root, {"http", "routers", "default-site-wild-test", "rule"}),
            "HostRegexp(`^[a-zA-Z0-9-]+\\.wild\\.test$`) && PathPrefix(`/`)");
  EXPECT_EQ(at(b.root, {"http", "routers", "default-site-example-com-pre", "tls"}), "{}");
  EXPECT_EQ(at(b.root, {"http", "routers", "default-other-nginx-test-"}), "<none>");
  EXPECT_NE(notices(b).find("Ingress default/site: spec.rules[0].http.paths[2].backend: the Service default/nope"),
            std::string::npos);
  ASSERT_EQ(b.statusWrites.size(), 1u);
  EXPECT_EQ(b.statusWrites[0].path, "/apis/networking.k8s.io/v1/namespaces/default/ingresses/site/status");
  EXPECT_EQ(b.statusWrites[0].patch, R"J({"status":{"loadBalancer":{"ingress":[{"hostname":"lb.example.com"}]}}})J");
}

TEST(IngressBuild, DefaultBackendOnlyWithoutRules) {
  Cluster c;
  c.service("a");
  c.slice("a-1", "a", R"J([{"addresses":["10.0.0.1"]}])J");
  c.add("Ingress", R"J({"metadata":{"name":"catchall","namespace":"default"},
      "spec":{"defaultBackend":{"service":{"name":"a","port":{"number":80}}}}})J");
  KubeBuild b = buildIngressConfig(c.objects(), {});
  EXPECT_EQ(at(b.root, {"http", "routers", "default-router", "priority"}), "-2147483648");
  EXPECT_EQ(at(b.root, {"http", "routers", "default-router", "service"}), "default-backend");
  EXPECT_EQ(at(b.root, {"http", "services", "default-backend", "loadBalancer", "servers", "0", "url"}),
            "http://10.0.0.1:8080");
}

}  // namespace
}  // namespace causeway::provider::kube

namespace causeway::provider::kube {
namespace {

TEST(GatewayBuild, ListenersRoutesNamesAndStatuses) {
  Cluster c;
  c.service("app");
  c.slice("app-1", "app", R"J([{"addresses":["10.0.0.1"],"conditions":{"ready":true}},
                              {"addresses":["10.0.0.2"],"conditions":{"ready":false,"serving":true}}])J");
  c.add("GatewayClass", R"J({"metadata":{"name":"traefik","generation":2},"spec":{"controllerName":"traefik.io/gateway-controller"}})J");
  c.add("Gateway", R"J({"metadata":{"name":"gw","namespace":"default","generation":1},"spec":{"gatewayClassName":"traefik",
      "listeners":[{"name":"http","protocol":"HTTP","port":8000},{"name":"nowhere","protocol":"HTTP","port":9999}]}})J");
  c.add("HTTPRoute", R"J({"metadata":{"name":"r","namespace":"default","generation":3},"spec":{
      "parentRefs":[{"name":"gw","sectionName":"http"}],"hostnames":["foo.com"],
      "rules":[{"matches":[{"path":{"type":"Exact","value":"/bar"}}],"backendRefs":[{"name":"app","port":80},{"name":"gone","port":80}]}]}})J");
  GatewayOptions options;
  options.entryPoints = {{"web", 8000, false}};
  KubeBuild b = buildGatewayConfig(c.objects(), options);
  std::string rule = R"(Host("foo.com") && Path("/bar"))";
  // The name's hash part is Traefik's: the first 10 bytes of sha256 of the rule, in hex.
  std::string router = "httproute-default-r-gw-default-gw-ep-web-0-" + crdRouterName("x", "y", rule).substr(4);
  EXPECT_EQ(at(b.root, {"http", "routers", router, "rule"}), rule);
  EXPECT_EQ(at(b.root, {"http", "routers", router, "priority"}), "100008");  // Exact + len(foo.com) + 1 rule
  EXPECT_EQ(at(b.root, {"http", "routers", router, "service"}), router + "-wrr");
  EXPECT_EQ(at(b.root, {"http", "services", router + "-wrr", "weighted", "services", "0", "name"}),
            router + "-svc-default-app-0");
  EXPECT_EQ(at(b.root, {"http", "services", router + "-wrr", "weighted", "services", "1", "name"}),
            "invalid-backend@internal");
  // Only ready endpoints.
  EXPECT_EQ(at(b.root, {"http", "services", router + "-svc-default-app-0", "loadBalancer", "servers"}),
            "[{url: \"http://10.0.0.1:8080\"}]");
  std::string writes;
  for (const auto& w : b.statusWrites) writes += w.path + " " + w.patch + "\n";
  EXPECT_NE(writes.find("/apis/gateway.networking.k8s.io/v1/gatewayclasses/traefik/status"), std::string::npos);
  EXPECT_NE(writes.find("\"reason\":\"PortUnavailable\""), std::string::npos) << writes;
  EXPECT_NE(writes.find("\"reason\":\"ListenersNotValid\""), std::string::npos);
  EXPECT_NE(writes.find("\"attachedRoutes\":1"), std::string::npos);
  EXPECT_NE(writes.find("\"reason\":\"BackendNotFound\""), std::string::npos);
  EXPECT_NE(writes.find("\"observedGeneration\":3"), std::string::npos);
}

TEST(GatewayBuild, TheCorsFilterIsAHeadersMiddlewareAsTraefikMakesIt) {
  Cluster c;
  c.httpGateway();
  c.add("HTTPRoute", R"J({"metadata":{"name":"r","namespace":"default"},"spec":{"parentRefs":[{"name":"gw"}],
      "rules":[{"filters":[{"type":"CORS","cors":{"allowOrigins":["https://app.example","https://*.example.com","*"],
        "allowCredentials":true,"allowMethods":["GET","PUT"],"allowHeaders":["x-a"],"exposeHeaders":["x-b"]}}],
        "backendRefs":[{"name":"app","port":80}]}]}})J");
  GatewayOptions options;
  options.entryPoints = {{"web", 8000, false}};
  KubeBuild b = buildGatewayConfig(c.objects(), options);
  EXPECT_EQ(notices(b), "");
  std::string router = "httproute-default-r-gw-default-gw-ep-web-0-" + crdRouterName("x", "y", "PathPrefix(\"/\")").substr(4);
  std::string middleware = router + "-cors-0";
  EXPECT_EQ(at(b.root, {"http", "routers", router, "middlewares", "0"}), middleware);
  const std::string headers = at(b.root, {"http", "middlewares", middleware, "headers"});
  EXPECT_EQ(at(b.root, {"http", "middlewares", middleware, "headers", "accessControlAllowOriginList"}),
            "[\"https://app.example\"]") << headers;
  EXPECT_EQ(at(b.root, {"http", "middlewares", middleware, "headers", "accessControlAllowOriginListRegex", "0"}),
            R"(^https://.*\.example\.com$)");
  EXPECT_EQ(at(b.root, {"http", "middlewares", middleware, "headers", "accessControlAllowOriginListRegex", "1"}), ".*");
  EXPECT_EQ(at(b.root, {"http", "middlewares", middleware, "headers", "accessControlAllowCredentials"}), "true");
  EXPECT_EQ(at(b.root, {"http", "middlewares", middleware, "headers", "accessControlAllowMethods"}), "[GET, PUT]");
  EXPECT_EQ(at(b.root, {"http", "middlewares", middleware, "headers", "accessControlAllowHeaders"}), "[x-a]");
  EXPECT_EQ(at(b.root, {"http", "middlewares", middleware, "headers", "accessControlExposeHeaders"}), "[x-b]");
  EXPECT_EQ(at(b.root, {"http", "middlewares", middleware, "headers", "accessControlMaxAge"}), "5");  // the CRD's default
}

TEST(GatewayBuild, ABackendRefsFiltersAreItsServicesMiddlewares) {
  Cluster c;
  c.httpGateway();
  c.add("HTTPRoute", R"J({"metadata":{"name":"r","namespace":"default"},"spec":{"parentRefs":[{"name":"gw"}],
      "rules":[{"backendRefs":[
        {"name":"app","port":80,"filters":[{"type":"RequestHeaderModifier","requestHeaderModifier":{"set":[{"name":"x-b","value":"1"}]}}]},
        {"name":"app","port":80,"filters":[{"type":"RequestMirror","requestMirror":{}}]}]}]}})J");
  // Filters are checked before the backend's kind (a TraefikService too), and reported once
  // for a backendRef that two matches share.
  c.add("HTTPRoute", R"J({"metadata":{"name":"m","namespace":"default"},"spec":{"parentRefs":[{"name":"gw"}],
      "hostnames":["m.example"],"rules":[{"matches":[{"path":{"value":"/a"}},{"path":{"value":"/b"}}],
        "backendRefs":[{"group":"traefik.io","kind":"TraefikService","name":"ts",
                        "filters":[{"type":"RequestMirror","requestMirror":{}}]}]}]}})J");
  GatewayOptions options;
  options.entryPoints = {{"web", 8000, false}};
  KubeBuild b = buildGatewayConfig(c.objects(), options);
  std::string router = "httproute-default-r-gw-default-gw-ep-web-0-" + crdRouterName("x", "y", "PathPrefix(\"/\")").substr(4);
  std::string first = router + "-svc-default-app-0", second = router + "-svc-default-app-1";
  // Named after the backend's service, as Traefik names them; the router has none of them.
  EXPECT_EQ(at(b.root, {"http", "services", first, "middlewares"}), "[" + first + "-requestheadermodifier-0]");
  EXPECT_EQ(at(b.root, {"http", "middlewares", first + "-requestheadermodifier-0", "headers", "customRequestHeaders", "x-b"}), "1");
  EXPECT_EQ(at(b.root, {"http", "routers", router, "middlewares"}), "<none>");
  // A filter that cannot be served makes that backend the 500 child, with Traefik's reason.
  EXPECT_EQ(at(b.root, {"http", "services", router + "-wrr", "weighted", "services", "1", "name"}), "invalid-backend@internal");
  EXPECT_EQ(at(b.root, {"http", "services", second}), "<none>");
  std::string writes;
  for (const auto& w : b.statusWrites) writes += w.patch + "\n";
  EXPECT_NE(writes.find("Cannot load filters on HTTPBackendRef core/Service/default/app: unsupported filter RequestMirror"),
            std::string::npos) << writes;
  EXPECT_NE(writes.find("\"reason\":\"InvalidKind\""), std::string::npos) << writes;
  EXPECT_NE(notices(b).find("the RequestMirror filter is not supported; the backend answers 500"), std::string::npos)
      << notices(b);
  std::string m = notices(b);
  size_t once = m.find("HTTPRoute default/m: the RequestMirror filter");
  EXPECT_NE(once, std::string::npos) << m;
  EXPECT_EQ(m.find("HTTPRoute default/m: the RequestMirror filter", once + 1), std::string::npos) << m;
  EXPECT_EQ(m.find("(a TraefikService) are not applied"), std::string::npos) << m;
}

TEST(GatewayBuild, TlsRoutesRouteBySniWithWildcardsAndTerminateOrPassThrough) {
  Cluster c;
  c.service("db", 5432, "tls");
  c.slice("db-1", "db", R"J([{"addresses":["10.0.0.7"],"conditions":{"ready":true}}])J", 15432, "tls");
  c.add("GatewayClass", R"J({"metadata":{"name":"traefik"},"spec":{"controllerName":"traefik.io/gateway-controller"}})J");
  c.add("Gateway", R"J({"metadata":{"name":"gw","namespace":"default"},"spec":{"gatewayClassName":"traefik",
      "listeners":[{"name":"pass","protocol":"TLS","port":8443,"tls":{"mode":"Passthrough"}}]}})J");
  c.add("TLSRoute", R"J({"metadata":{"name":"db","namespace":"default"},"spec":{
      "parentRefs":[{"name":"gw"}],"hostnames":["*.db.example.com","db.example.com","db.example.com"],
      "rules":[{"backendRefs":[{"name":"db","port":5432,"weight":3},{"name":"gone","port":1}]}]}})J");
  GatewayOptions options;
  options.entryPoints = {{"tls", 8443, false}};
  KubeBuild b = buildGatewayConfig(c.objects(), options);
  std::string router = "tlsroute-default-db-gw-default-gw-ep-tls-0-" + crdRouterName("x", "y", "").substr(4);
  // Traefik's rule: a wildcard as a regexp for one label, each name once, Go-quoted (so the
  // regexp's backslashes are doubled in the text); the priority is the longest name less its
  // wildcard.
  EXPECT_EQ(at(b.root, {"tcp", "routers", router, "rule"}),
            R"(HostSNIRegexp("^[a-z0-9-]+\\.db\\.example\\.com$") || HostSNI("db.example.com"))");
  EXPECT_EQ(at(b.root, {"tcp", "routers", router, "priority"}), "15");
  EXPECT_EQ(at(b.root, {"tcp", "routers", router, "tls", "passthrough"}), "true");
  EXPECT_EQ(at(b.root, {"tcp", "services", router + "-wrr", "weighted", "services", "0", "weight"}), "3");
  EXPECT_EQ(at(b.root, {"tcp", "services", router + "-svc-default-db-0", "loadBalancer", "servers"}),
            "[{address: \"10.0.0.7:15432\"}]");
  // A backend that cannot be found: an empty load balancer in its place, and ResolvedRefs false.
  EXPECT_EQ(at(b.root, {"tcp", "services", router + "-wrr", "weighted", "services", "1", "name"}), router + "-err-lb");
  EXPECT_EQ(at(b.root, {"tcp", "routers", "deny-unknown-host", "priority"}), "1");
  std::string writes;
  for (const auto& w : b.statusWrites) writes += w.path + " " + w.patch + "\n";
  EXPECT_NE(writes.find("/apis/gateway.networking.k8s.io/v1/namespaces/default/tlsroutes/db/status"), std::string::npos)
      << writes;
  EXPECT_NE(writes.find("\"reason\":\"BackendNotFound\""), std::string::npos) << writes;
}

TEST(GatewayBuild, ABackendTlsPolicyOnATlsRoutesBackendIsATcpServersTransport) {
  Cluster c;
  c.service("db", 5432, "tls");
  c.slice("db-1", "db", R"J([{"addresses":["10.0.0.7"],"conditions":{"ready":true}}])J", 15432, "tls");
  c.add("ConfigMap", R"J({"metadata":{"name":"db-ca","namespace":"default"},"data":{"ca.crt":"PEM"}})J");
  c.add("BackendTLSPolicy", R"J({"metadata":{"name":"db-tls","namespace":"default"},"spec":{
      "targetRefs":[{"group":"","kind":"Service","name":"db"}],
      "validation":{"hostname":"db.internal","caCertificateRefs":[{"group":"","kind":"ConfigMap","name":"db-ca"}]}}})J");
  c.add("GatewayClass", R"J({"metadata":{"name":"traefik"},"spec":{"controllerName":"traefik.io/gateway-controller"}})J");
  c.add("Gateway", R"J({"metadata":{"name":"gw","namespace":"default"},"spec":{"gatewayClassName":"traefik",
      "listeners":[{"name":"term","protocol":"TLS","port":8443,"hostname":"db.example.com",
                    "tls":{"mode":"Terminate","certificateRefs":[{"name":"cert"}]}},
                   {"name":"pass","protocol":"TLS","port":9443,"tls":{"mode":"Passthrough"}}]}})J");
  c.add("Secret", R"J({"metadata":{"name":"cert","namespace":"default"},"type":"kubernetes.io/tls",
      "data":{"tls.crt":"Y2VydA==","tls.key":"a2V5"}})J");
  c.add("TLSRoute", R"J({"metadata":{"name":"db","namespace":"default"},"spec":{
      "parentRefs":[{"name":"gw","sectionName":"term"},{"name":"gw","sectionName":"pass"}],
      "rules":[{"backendRefs":[{"name":"db","port":5432}]}]}})J");
  GatewayOptions options;
  options.entryPoints = {{"term", 8443, false}, {"pass", 9443, false}};
  KubeBuild b = buildGatewayConfig(c.objects(), options);
  std::string term = "tlsroute-default-db-gw-default-gw-ep-term-0-" + crdRouterName("x", "y", "").substr(4);
  std::string pass = "tlsroute-default-db-gw-default-gw-ep-pass-0-" + crdRouterName("x", "y", "").substr(4);
  // Terminated here: TLS again to the backend, with the policy's name and CA.
  EXPECT_EQ(at(b.root, {"tcp", "services", term + "-svc-default-db-0", "loadBalancer", "serversTransport"}),
            term + "-svc-default-db-0");
  EXPECT_EQ(at(b.root, {"tcp", "serversTransports", term + "-svc-default-db-0", "tls", "serverName"}), "db.internal");
  EXPECT_EQ(at(b.root, {"tcp", "serversTransports", term + "-svc-default-db-0", "tls", "rootCAs"}), "[PEM]");
  EXPECT_EQ(at(b.root, {"tcp", "services", term + "-svc-default-db-0", "loadBalancer", "servers", "0", "tls"}), "true");
  // Passed through: the client's own TLS reaches the backend, nothing is added.
  EXPECT_EQ(at(b.root, {"tcp", "services", pass + "-svc-default-db-0", "loadBalancer", "serversTransport"}), "<none>");
}

TEST(NginxBuild, NamesRegexHostsCanariesAndUnsupportedAnnotations) {
  Cluster c;
  c.service("app");
  c.slice("app-1", "app", R"J([{"addresses":["10.0.0.1"]}])J");
  c.service("next");
  c.slice("next-1", "next", R"J([{"addresses":["10.0.0.2"]}])J");
  c.add("IngressClass", R"J({"metadata":{"name":"nginx"},"spec":{"controller":"k8s.io/ingress-nginx"}})J");
  c.add("Ingress", R"J({"metadata":{"name":"site","namespace":"default","annotations":{
        "nginx.ingress.kubernetes.io/rewrite-target":"/$2",
        "nginx.ingress.kubernetes.io/limit-rps":"3",
        "nginx.ingress.kubernetes.io/mirror-target":"http://elsewhere"}},
      "spec":{"ingressClassName":"nginx","rules":[{"host":"a.test","http":{"paths":[
        {"path":"/api(/|$)(.*)","pathType":"ImplementationSpecific","backend":{"service":{"name":"app","port":{"number":80}}}}]}}]}})J");
  c.add("Ingress", R"J({"metadata":{"name":"canary","namespace":"default","annotations":{
        "nginx.ingress.kubernetes.io/canary":"true","nginx.ingress.kubernetes.io/canary-weight":"20"}},
      "spec":{"ingressClassName":"nginx","rules":[{"host":"a.test","http":{"paths":[
        {"path":"/api(/|$)(.*)","pathType":"ImplementationSpecific","backend":{"service":{"name":"next","port":{"number":80}}}}]}}]}})J");
  c.add("Ingress", R"J({"metadata":{"name":"bad","namespace":"default","annotations":{
        "nginx.ingress.kubernetes.io/server-snippet":"return 200;"}},
      "spec":{"ingressClassName":"nginx","rules":[{"host":"b.test"}]}})J");
  NginxOptions options;
  options.nonTlsEntryPoints = {"web"};
  KubeBuild b = buildNginxConfig(c.objects(), options);
  EXPECT_EQ(at(b.root, {"http", "routers", "default-site-rule-0-path-0", "rule"}),
            R"J(Host("a.test") && PathRegexp("(?i)^/api(/|$)(.*)"))J");
  EXPECT_EQ(at(b.root, {"http", "routers", "default-site-rule-0-path-0", "service"}), "default-site-app-80-wrr");
  EXPECT_EQ(at(b.root, {"http", "services", "default-site-app-80-wrr", "weighted", "services", "1", "weight"}), "20");
  EXPECT_EQ(at(b.root, {"http", "routers", "default-site-rule-0-path-0-tls", "tls"}), "{}");
  EXPECT_EQ(at(b.root, {"http", "middlewares", "default-site-rule-0-path-0-rewrite-target", "replacePathRegex", "replacement"}),
            "/$2");
  EXPECT_EQ(at(b.root, {"http", "middlewares", "default-site-rule-0-path-0-limit-rps", "rateLimit", "burst"}), "15");
  EXPECT_NE(at(b.root, {"http", "middlewares", "default-site-rule-0-path-0-retry"}), "<none>");
  std::string text = notices(b);
  EXPECT_NE(text.find("Ingress default/site: the annotation nginx.ingress.kubernetes.io/mirror-target is not supported"),
            std::string::npos) << text;
  EXPECT_NE(text.find("Ingress default/bad: the server-snippet annotation is not allowed"), std::string::npos);
}

}  // namespace
}  // namespace causeway::provider::kube

namespace causeway::provider::kube {
namespace {

// The cached build patches its previous tree: after changes it must equal a build from scratch.
TEST(CrdBuild, CachedBuildEqualsAFreshOne) {
  Cluster c;
  for (int i = 0; i < 3; ++i) {
    std::string n = std::to_string(i);
    c.service("s" + n);
    c.slice("s" + n + "-1", "s" + n, R"J([{"addresses":["10.0.0.)J" + n + R"J("]}])J");
    c.add("EndpointSlice",
          R"J({"metadata":{"name":"s)J" + n + R"J(-1","namespace":"default","resourceVersion":"1","labels":{"kubernetes.io/service-name":"s)J" + n +
              R"J("}},"addressType":"IPv4","ports":[{"name":"http","port":8080}],"endpoints":[{"addresses":["10.0.0.)J" + n + R"J("]}]})J");
    c.add("IngressRoute", R"J({"metadata":{"name":"r)J" + n + R"J(","namespace":"default","resourceVersion":"1"},
        "spec":{"routes":[{"match":"Host(`r)J" + n + R"J(`)","services":[{"name":"s)J" + n + R"J(","port":80},{"name":"s0","port":80}]}]}})J");
  }
  c.add("TraefikService", R"J({"metadata":{"name":"w","namespace":"default"},"spec":{"weighted":{"services":[{"name":"s1","port":80}]}}})J");
  c.add("IngressRoute", R"J({"metadata":{"name":"other","namespace":"default","resourceVersion":"1"},
      "spec":{"ingressClassName":"other","routes":[{"match":"Host(`o`)","services":[{"name":"s0","port":80}]}]}})J");
  CrdCache cache;
  auto fresh = [&] { return config::fingerprint(buildCrdConfig(c.objects(), {}).root); };
  auto cached = [&] {
    KubeBuild b = buildCrdConfig(c.objects(), {}, &cache);
    return config::fingerprint(*b.shared);
  };
  EXPECT_EQ(cached(), fresh());
  std::shared_ptr<config::Node> held = cache.tree;  // the pipeline still holds the tree: copied, not changed
  uint64_t before = config::fingerprint(*held);
  // A changed EndpointSlice (new resourceVersion), a removed IngressRoute.
  c.add("EndpointSlice",
        R"J({"metadata":{"name":"s0-1","namespace":"default","resourceVersion":"2","labels":{"kubernetes.io/service-name":"s0"}},
            "addressType":"IPv4","ports":[{"name":"http","port":8080}],"endpoints":[{"addresses":["10.9.9.9"]}]})J");
  c.kinds["IngressRoute"].erase("default/r2");
  EXPECT_EQ(cached(), fresh());
  EXPECT_EQ(config::fingerprint(*held), before);
  EXPECT_EQ(cache.routes.size(), 2u);
  KubeBuild again = buildCrdConfig(c.objects(), {}, &cache);
  EXPECT_EQ(at(*again.shared, {"http", "services", "default-s0-80", "loadBalancer", "servers", "0", "url"}),
            "http://10.9.9.9:8080");
  EXPECT_EQ(at(*again.shared, {"http", "routers", crdRouterName("default", "r2", "Host(`r2`)")}), "<none>");
  // Objects are kept as text and read when a build needs them: with nothing changed, the cached
  // build reads only what the TraefikService needs (it, its Service and its EndpointSlice), no
  // IngressRoute (not even the one of another class); a fresh build reads every object it uses.
  KubeObjects unchanged = c.objects(), all = c.objects();
  buildCrdConfig(unchanged, {}, &cache);
  buildCrdConfig(all, {});
  EXPECT_EQ(unchanged.readCount(), 3u);
  EXPECT_EQ(all.readCount(), 8u);  // r0, r1, other, w, the Services s0 and s1 and their slices
}

TEST(KubeObjects, StoredAsTextAndReadOncePerBuild) {
  json::value v = json::parse(R"J({"metadata":{"name":"a","namespace":"n","resourceVersion":"7",
      "labels":{"kubernetes.io/service-name":"svc"},"managedFields":[{"manager":"kubectl"}]},"endpoints":[]})J");
  Object stored = clients::kubernetes::storeObject(v, kServiceNameLabel);
  EXPECT_EQ(stored->version, "7");
  EXPECT_EQ(stored->indexed, "svc");
  EXPECT_EQ(stored->text().find("managedFields"), std::string::npos);
  ObjectMap slices{{"n/a", stored}};
  KubeObjects objects;
  objects.add("EndpointSlice", &slices);
  EXPECT_EQ(objects.versionOf("EndpointSlice", "n", "a"), "7");
  EXPECT_EQ(objects.storedSlicesOf("n", "svc").size(), 1u);
  EXPECT_EQ(objects.readCount(), 0u);
  const json::object* first = objects.find("EndpointSlice", "n", "a");
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(nameOf(*first), "a");
  EXPECT_EQ(objects.slicesOf("n", "svc").front(), first);
  EXPECT_EQ(objects.readCount(), 1u);
  EXPECT_TRUE(objects.slicesOf("n", "other").empty());
}

// Objects of one resource are compressed against the first one stored: the second slice's
// text differs in names and addresses only, and takes a fraction of its size.
TEST(KubeObjects, StoredCompressedAgainstTheFirstObjectOfTheirKind) {
  auto slice = [](int i) {
    std::string n = std::to_string(i);
    return json::parse(R"J({"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"svc)J" + n +
                       R"J(-x1","namespace":"default","uid":"5f2a40c1-9d3e-4c1b-8a47-0c6f1e2d3b4)J" + n +
                       R"J(","resourceVersion":"10)J" + n + R"J(","labels":{"kubernetes.io/service-name":"svc)J" + n +
                       R"J("}},"addressType":"IPv4","ports":[{"name":"http","port":8080,"protocol":"TCP"}],"endpoints":[)J" +
                       R"J({"addresses":["10.1.)J" + n + R"J(.1"],"conditions":{"ready":true,"serving":true,"terminating":false}},)J" +
                       R"J({"addresses":["10.1.)J" + n + R"J(.2"],"conditions":{"ready":true,"serving":true,"terminating":false}}]})J");
  };
  std::shared_ptr<const std::string> dictionary;
  json::value first = slice(1), second = slice(2);
  Object a = clients::kubernetes::storeObject(first, kServiceNameLabel, &dictionary);
  ASSERT_NE(dictionary, nullptr);
  Object b = clients::kubernetes::storeObject(second, kServiceNameLabel, &dictionary);
  EXPECT_EQ(b->dictionary, dictionary);
  std::string text = b->text();
  json::value expected = slice(2);  // as sent, less what trimObject drops
  expected.as_object()["metadata"].as_object().erase("uid");
  expected.as_object()["metadata"].as_object().erase("resourceVersion");
  EXPECT_EQ(json::parse(text), expected);
  EXPECT_EQ(text.find("uid"), std::string::npos);
  EXPECT_EQ(text.find("resourceVersion"), std::string::npos);
  EXPECT_EQ(b->version, "102");
  EXPECT_TRUE(b->compressed);
  EXPECT_LT(b->packed.size() * 3, text.size()) << b->packed.size() << " of " << text.size();
  EXPECT_EQ(json::parse(a->text()), first);

  // Read by a build like any object.
  ObjectMap slices{{"default/svc2-x1", b}};
  KubeObjects objects;
  objects.add("EndpointSlice", &slices);
  ASSERT_NE(objects.find("EndpointSlice", "default", "svc2-x1"), nullptr);
  EXPECT_EQ(objects.slicesOf("default", "svc2").size(), 1u);

  // Damaged text is read as no object, not as a crash.
  auto broken = std::make_shared<clients::kubernetes::StoredObject>(*b);
  broken->packed.resize(broken->packed.size() / 2);
  EXPECT_EQ(broken->text(), "");
  ObjectMap damaged{{"default/svc2-x1", broken}};
  KubeObjects damagedObjects;
  damagedObjects.add("EndpointSlice", &damaged);
  EXPECT_EQ(damagedObjects.find("EndpointSlice", "default", "svc2-x1"), nullptr);
}

// A Secret's values are not kept in its resource's dictionary once the Secret is gone.
TEST(KubeObjects, ASecretsDataStaysOutOfTheDictionary) {
  json::value secret = json::parse(R"J({"kind":"Secret","metadata":{"name":"tls","namespace":"n"},
      "type":"kubernetes.io/tls","data":{"tls.key":"c2VjcmV0LWtleS12YWx1ZQ=="},"stringData":{"password":"hunter2"}})J");
  std::shared_ptr<const std::string> dictionary;
  Object stored = clients::kubernetes::storeObject(secret, {}, &dictionary);
  ASSERT_NE(dictionary, nullptr);
  EXPECT_EQ(dictionary->find("c2VjcmV0"), std::string::npos);
  EXPECT_EQ(dictionary->find("hunter2"), std::string::npos);
  EXPECT_NE(dictionary->find("kubernetes.io/tls"), std::string::npos);
  EXPECT_NE(stored->text().find("c2VjcmV0LWtleS12YWx1ZQ=="), std::string::npos);
}

// A build's parsed objects live in whole pages that are unmapped when the build ends.
TEST(KubeObjects, ABuildsArenaIsUnmappedWhenItEnds) {
  auto mappings = [] {
    std::ifstream maps("/proc/self/maps");
    return std::count(std::istreambuf_iterator<char>(maps), std::istreambuf_iterator<char>(), '\n');
  };
  ObjectMap services;
  for (int i = 0; i < 2000; ++i) {  // about 200 KB parsed: several blocks of the arena
    json::value v = json::parse(R"J({"metadata":{"name":"s)J" + std::to_string(i) +
                                R"J(","namespace":"n"},"spec":{"ports":[{"name":"http","port":80}]}})J");
    services["n/s" + std::to_string(i)] = clients::kubernetes::storeObject(v);
  }
  auto readAll = [&] {
    KubeObjects objects;
    objects.add("Service", &services);
    size_t n = 0;
    objects.each("Service", [&](const json::object&) { ++n; });
    EXPECT_EQ(n, 2000u);
  };
  readAll();
  auto before = mappings();
  for (int i = 0; i < 20; ++i) readAll();
  EXPECT_EQ(mappings(), before);
}

}  // namespace
}  // namespace causeway::provider::kube
