// The Kubernetes API client's configuration (clients/kubernetes/kube_client.h): kubeconfig
// files, the resources' paths, and what is kept of an object.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdlib>

#include "clients/kubernetes/kube_client.h"

namespace causeway::clients::kubernetes {
namespace {

TEST(Kubeconfig, CurrentContextClusterAndUser) {
  const char* text = R"(apiVersion: v1
kind: Config
clusters:
- name: other
  cluster: {server: "https://10.9.9.9:6443"}
- name: dev
  cluster:
    server: http://127.0.0.1:8001/base
users:
- name: me
  user: {token: abc123}
contexts:
- name: dev
  context: {cluster: dev, user: me, namespace: apps}
current-context: dev
)";
  ClusterAccess access;
  std::string error;
  ASSERT_TRUE(parseKubeconfig(text, "/tmp/kubeconfig", access, error)) << error;
  EXPECT_EQ(access.token, "abc123");
  EXPECT_EQ(access.defaultNamespace, "apps");
  EXPECT_EQ(access.endpoint.host, "127.0.0.1");
  EXPECT_EQ(access.endpoint.basePath, "/base");
  EXPECT_FALSE(access.endpoint.https);
}

TEST(Kubeconfig, ClearErrors) {
  ClusterAccess access;
  std::string error;
  EXPECT_FALSE(parseKubeconfig("current-context: x\ncontexts: []\n", "k", access, error));
  EXPECT_NE(error.find("current-context x is not among contexts"), std::string::npos) << error;
  const char* exec = R"(clusters: [{name: c, cluster: {server: "https://h:6443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {exec: {command: aws}}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
)";
  EXPECT_FALSE(parseKubeconfig(exec, "k", access, error));
  EXPECT_NE(error.find("exec or auth-provider plugin"), std::string::npos) << error;
}

TEST(Access, EndpointTokenAndNoServer) {
  unsetenv("KUBERNETES_SERVICE_HOST");
  unsetenv("KUBECONFIG");
  ClusterAccess access;
  std::string error;
  ASSERT_TRUE(resolveAccess({"http://127.0.0.1:8080", "tok", ""}, access, error)) << error;
  EXPECT_EQ(access.token, "tok");
  EXPECT_FALSE(resolveAccess({"", "", ""}, access, error));
  EXPECT_NE(error.find("no API server"), std::string::npos);
}

TEST(Resource, Paths) {
  Resource services{"", "v1", "services", "Service", true};
  EXPECT_EQ(services.path(""), "/api/v1/services");
  EXPECT_EQ(services.path("apps"), "/api/v1/namespaces/apps/services");
  Resource classes{"networking.k8s.io", "v1", "ingressclasses", "IngressClass", false};
  EXPECT_EQ(classes.path("apps"), "/apis/networking.k8s.io/v1/ingressclasses");
  EXPECT_EQ(classes.objectPath("", "traefik"), "/apis/networking.k8s.io/v1/ingressclasses/traefik");
}

TEST(Objects, TrimmedAndKeyed) {
  auto v = boost::json::parse(R"({"metadata":{"name":"a","namespace":"n","managedFields":[{}],
    "annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{...}","keep":"1"}}})");
  trimObject(v);
  EXPECT_EQ(objectKey(v), "n/a");
  EXPECT_FALSE(v.at("metadata").as_object().contains("managedFields"));
  EXPECT_EQ(v.at("metadata").at("annotations").as_object().size(), 1u);
}

}  // namespace
}  // namespace causeway::clients::kubernetes
