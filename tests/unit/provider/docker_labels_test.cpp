// Docker labels and auto-wiring (provider/docker_labels.h): the rules of Traefik's docker
// provider on containers as the Engine API describes them.
#include <gtest/gtest.h>

#include "provider/docker_labels.h"

namespace causeway::provider {
namespace {

DockerContainer container(std::string name, std::map<std::string, std::string> labels = {},
                          std::vector<int> ports = {80}) {
  DockerContainer c;
  c.id = name + "-id";
  c.name = std::move(name);
  c.labels = std::move(labels);
  c.exposedPorts = std::move(ports);
  c.networks = {{"bridge", "172.17.0.2"}};
  return c;
}

std::string at(const config::Node& root, std::initializer_list<std::string_view> path) {
  const config::Node* n = &root;
  for (std::string_view p : path) {
    if (!n) return "<none>";
    if (n->isList()) {
      size_t i = size_t(std::stoi(std::string(p)));
      n = i < n->items().size() ? &n->items()[i] : nullptr;
    } else {
      n = n->find(p);
    }
  }
  return n ? (n->isScalar() ? n->text() : n->toString()) : "<none>";
}

TEST(DockerLabels, Normalize) {
  EXPECT_EQ(normalizeName("web_shop"), "web-shop");
  EXPECT_EQ(normalizeName("--a..b__"), "a-b");
  EXPECT_EQ(normalizeName("App1"), "App1");
}

TEST(DockerLabels, AutoWiringWithoutLabels) {
  std::vector<config::ConfigError> errors;
  auto c = container("whoami-1", {}, {8080, 80});
  config::Node root = buildDockerConfig({c}, DockerOptions{}, errors);
  EXPECT_TRUE(errors.empty()) << errors.front().toString();
  EXPECT_EQ(at(root, {"http", "routers", "whoami-1", "rule"}), "Host(`whoami-1`)");
  EXPECT_EQ(at(root, {"http", "routers", "whoami-1", "service"}), "whoami-1");
  // The lowest exposed port, on the container's IP.
  EXPECT_EQ(at(root, {"http", "services", "whoami-1", "loadBalancer", "servers", "0", "url"}),
            "http://172.17.0.2:80");
}

TEST(DockerLabels, LabelsPortSchemeNetworkAndBindings) {
  std::vector<config::ConfigError> errors;
  auto c = container("api", {{"traefik.http.routers.r.rule", "Host(`api`)"},
                             {"traefik.http.routers.r.entrypoints", "web,websecure"},
                             {"traefik.http.services.s.loadbalancer.server.port", "9000"},
                             {"traefik.http.services.s.loadbalancer.server.scheme", "https"},
                             {"traefik.docker.network", "back"}});
  c.networks = {{"front", "10.0.0.2"}, {"back", "10.1.0.2"}};
  config::Node root = buildDockerConfig({c}, DockerOptions{}, errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(at(root, {"http", "routers", "r", "service"}), "s");  // the only service
  EXPECT_EQ(at(root, {"http", "routers", "r", "entrypoints"}), "web,websecure");
  EXPECT_EQ(at(root, {"http", "services", "s", "loadBalancer", "servers", "0", "url"}), "https://10.1.0.2:9000");

  DockerOptions bind;
  bind.useBindPortIP = true;
  auto b = container("bound");
  b.bindings = {{80, "0.0.0.0", 32080}};
  root = buildDockerConfig({b}, bind, errors);
  EXPECT_EQ(at(root, {"http", "services", "bound", "loadBalancer", "servers", "0", "url"}), "http://127.0.0.1:32080");
  auto h = container("hostnet");
  h.networkMode = "host";
  root = buildDockerConfig({h}, DockerOptions{}, errors);
  EXPECT_EQ(at(root, {"http", "services", "hostnet", "loadBalancer", "servers", "0", "url"}), "http://127.0.0.1:80");
}

TEST(DockerLabels, FiltersAndConstraints) {
  std::vector<config::ConfigError> errors;
  auto off = container("off", {{"traefik.enable", "false"}});
  auto stopped = container("stopped");
  stopped.state = "exited";
  auto sick = container("sick");
  sick.health = "unhealthy";
  auto team = container("team", {{"team", "a"}});
  DockerOptions options;
  options.constraints = "Label(`team`, `a`) && !LabelRegex(`env`, `^prod`)";
  config::Node root = buildDockerConfig({off, stopped, sick, team}, options, errors);
  EXPECT_EQ(at(root, {"http", "routers"}), "{team: {rule: Host(`team`), service: team}}");
  EXPECT_NE(checkConstraints("Label(`a`"), "");
  EXPECT_EQ(checkConstraints("Label(`a`, `b`) || (LabelRegex(`c`, `d.*`))"), "");

  // allowEmptyServices: the stopped container's service stays, with no server.
  options = DockerOptions{};
  options.allowEmptyServices = true;
  root = buildDockerConfig({stopped}, options, errors);
  EXPECT_EQ(at(root, {"http", "services", "stopped", "loadBalancer"}), "{}");
}

TEST(DockerLabels, ReplicasMergeAndConflictsAreErrors) {
  std::vector<config::ConfigError> errors;
  std::map<std::string, std::string> compose{{"com.docker.compose.project", "shop"}, {"com.docker.compose.service", "web"}};
  auto one = container("shop-web-1", compose);
  auto two = container("shop-web-2", compose);
  two.networks = {{"bridge", "172.17.0.3"}};
  config::Node root = buildDockerConfig({one, two}, DockerOptions{}, errors);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(at(root, {"http", "routers", "web-shop", "rule"}), "Host(`web-shop`)");
  EXPECT_EQ(at(root, {"http", "services", "web-shop", "loadBalancer", "servers", "1", "url"}), "http://172.17.0.3:80");

  auto a = container("a", {{"traefik.http.routers.x.rule", "Host(`a`)"}});
  auto b = container("b", {{"traefik.http.routers.x.rule", "Host(`b`)"}});
  root = buildDockerConfig({a, b}, DockerOptions{}, errors);
  EXPECT_EQ(at(root, {"http", "routers", "x"}), "<none>");
  ASSERT_FALSE(errors.empty());
  EXPECT_NE(errors.back().message.find("a and b"), std::string::npos) << errors.back().message;
}

TEST(DockerLabels, BadLabelsAndAmbiguousServices) {
  std::vector<config::ConfigError> errors;
  auto c = container("c", {{"traefik.http.routers.r.tls.domains[x].main", "a"}});
  buildDockerConfig({c}, DockerOptions{}, errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].location.toString(), "docker container c traefik.http.routers.r.tls.domains[x].main");
  errors.clear();
  auto two = container("two", {{"traefik.http.services.a.loadbalancer.server.port", "1"},
                               {"traefik.http.services.b.loadbalancer.server.port", "2"},
                               {"traefik.http.routers.r.rule", "Host(`r`)"}});
  buildDockerConfig({two}, DockerOptions{}, errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("too many services"), std::string::npos);
  errors.clear();
  auto tls = container("t", {{"traefik.tls.options.x.minversion", "VersionTLS12"}});
  buildDockerConfig({tls}, DockerOptions{}, errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("cannot be set by labels"), std::string::npos);
  // A TCP-only container gets no automatic HTTP router; its TCP service is wired to the
  // container (the lowest exposed port, or the port label) and its router to that service.
  errors.clear();
  auto tcp = container("db", {{"traefik.tcp.routers.db.rule", "HostSNI(`*`)"}}, {5432, 9187});
  config::Node root = buildDockerConfig({tcp}, DockerOptions{}, errors);
  EXPECT_TRUE(errors.empty()) << errors[0].toString();
  EXPECT_EQ(at(root, {"http"}), "<none>");
  EXPECT_EQ(at(root, {"tcp", "routers", "db", "rule"}), "HostSNI(`*`)");
  EXPECT_EQ(at(root, {"tcp", "routers", "db", "service"}), "db");
  EXPECT_EQ(at(root, {"tcp", "services", "db", "loadBalancer", "servers", "0", "address"}), "172.17.0.2:5432");
  // UDP: the port label and a named service.
  auto udp = container("dns", {{"traefik.udp.routers.dns.entrypoints", "dns"},
                               {"traefik.udp.services.resolver.loadbalancer.server.port", "53"}});
  root = buildDockerConfig({udp}, DockerOptions{}, errors);
  EXPECT_TRUE(errors.empty()) << errors[0].toString();
  EXPECT_EQ(at(root, {"udp", "routers", "dns", "service"}), "resolver");
  EXPECT_EQ(at(root, {"udp", "services", "resolver", "loadBalancer", "servers", "0", "address"}), "172.17.0.2:53");
  // TLS to the server passes through; no port anywhere is an error naming the label.
  auto bare = container("bare", {{"traefik.tcp.routers.b.rule", "HostSNI(`*`)"},
                                 {"traefik.tcp.services.b.loadbalancer.server.tls", "true"}}, {});
  buildDockerConfig({bare}, DockerOptions{}, errors);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_NE(errors[0].message.find("traefik.tcp.services.b.loadbalancer.server.port"), std::string::npos);
}

}  // namespace
}  // namespace causeway::provider
