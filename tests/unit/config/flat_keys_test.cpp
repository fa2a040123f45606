
#include <gtest/gtest.h>

#include "config/flat_keys.h"

namespace causeway::config {
namespace {

Node flags(const std::vector<std::string>& args) {
  std::vector<ConfigError> errors;
  Node node = nodeFromFlags(args, errors);
  EXPECT_TRUE(errors.empty()) << errors.front().toString();
  return node;
}

Node env(const std::vector<std::string>& environ) {
  std::vector<ConfigError> errors;
  Node node = nodeFromEnvironment(environ, errors);
  EXPECT_TRUE(errors.empty()) << errors.front().toString();
  return node;
}

TEST(Flags, KeyValueAndBareBooleans) {
  Node node = flags({"--entryPoints.web.address=:8080", "--providers.file.directory=/x", "--api",
                     "--log.level=DEBUG", "--x.equals=a=b", "--x.empty="});
  EXPECT_EQ(node.toString(), "{entryPoints: {web: {address: \":8080\"}}, providers: {file: "
                             "{directory: /x}}, api: true, log: {level: DEBUG}, x: {equals: a=b, "
                             "empty: \"\"}}");
}

TEST(Flags, ListIndexes) {
  Node node =
      flags({"--entryPoints.websecure.http.tls.domains[0].main=example.com",
             "--entryPoints.websecure.http.tls.domains[0].sans=a.example.com,b.example.com",
             "--entryPoints.websecure.http.tls.domains[1].main=example.org", "--matrix[1][0]=x"});
  EXPECT_EQ(node.find("entryPoints")->find("websecure")->find("http")->find("tls")->toString(),
            "{domains: {0: {main: example.com, sans: \"a.example.com,b.example.com\"}, 1: {main: "
            "example.org}}}");
  EXPECT_EQ(node.find("matrix")->toString(), "{1: {0: x}}");
}

TEST(Flags, SectionFlagAndSettingsCombine) {
  EXPECT_EQ(flags({"--api", "--api.insecure=true"}).toString(), "{api: {insecure: true}}");
  EXPECT_EQ(flags({"--api.insecure=true", "--api"}).toString(), "{api: {insecure: true}}");
  EXPECT_EQ(flags({"--api.insecure=true", "--api=false"}).toString(), "{api: false}");
  EXPECT_EQ(flags({"--log.level=INFO", "--log.level=DEBUG"}).toString(), "{log: {level: DEBUG}}");
}

TEST(Flags, LocationsNameTheFlag) {
  Node node = flags({"--log.level=DEBUG"});
  const Location& location = node.find("log")->find("level")->location();
  EXPECT_EQ(location.toString(), "command line --log.level");
  EXPECT_EQ(location.line, 0);
}

TEST(Flags, Errors) {
  std::vector<ConfigError> errors;
  Node node = nodeFromFlags(
      {"stray", "-", "--a..b=1", "--a[x]=1", "--b[0=1", "--=1", "--ok=1", "--", "late"}, errors);
  ASSERT_EQ(errors.size(), 7u);
  EXPECT_EQ(errors[0].toString(),
            "command line stray: unexpected argument 'stray'; expected --key=value, --key value or --key");
  EXPECT_EQ(errors[1].location.toString(), "command line -");
  EXPECT_EQ(errors[2].element, "a..b");
  EXPECT_NE(errors[3].message.find("malformed list index"), std::string::npos);
  EXPECT_NE(errors[6].message.find("after --"), std::string::npos);
  EXPECT_EQ(node.toString(), "{ok: 1}");
}

TEST(Flags, TypedAsTraefiksParser) {
  std::vector<ConfigError> errors;
  auto kindOf = [](std::span<const std::string> path) { return flagKind(path); };
  Node node = nodeFromFlags({"--log.level", "DEBUG", "-api", "--api.insecure", "-ping=true",
                             "--entryPoints.web.address", ":80",
                             "--entryPoints.web.forwardedHeaders.trustedIPs=10.0.0.0/8",
                             "--entryPoints.web.forwardedHeaders.trustedIPs", "127.0.0.1",
                             "--providers.docker"},
                            errors, kindOf);
  EXPECT_TRUE(errors.empty());
  EXPECT_EQ(node.find("log")->find("level")->text(), "DEBUG");
  EXPECT_EQ(node.find("api")->find("insecure")->text(), "true");
  EXPECT_EQ(node.find("ping")->text(), "true");
  const Node* web = node.find("entryPoints")->find("web");
  EXPECT_EQ(web->find("address")->text(), ":80");
  EXPECT_EQ(web->find("forwardedHeaders")->find("trustedIPs")->text(), "10.0.0.0/8,127.0.0.1");
  EXPECT_EQ(node.find("providers")->find("docker")->text(), "true");

  errors.clear();
  nodeFromFlags({"--log.level"}, errors, kindOf);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "flag needs an argument");
}

TEST(Flags, KindsComeFromTheDescribedConfiguration) {
  auto kind = [](std::vector<std::string> path) { return flagKind(path); };
  EXPECT_EQ(kind({"api"}), FlagKind::Section);
  EXPECT_EQ(kind({"API", "Insecure"}), FlagKind::Bool);
  EXPECT_EQ(kind({"log", "level"}), FlagKind::Value);
  EXPECT_EQ(kind({"entryPoints", "web", "address"}), FlagKind::Value);
  EXPECT_EQ(kind({"entryPoints", "web", "forwardedHeaders", "trustedIPs"}), FlagKind::List);
  EXPECT_EQ(kind({"providers", "docker"}), FlagKind::Section);
  EXPECT_EQ(kind({"providers", "docker", "endpoint"}), FlagKind::Value);
  EXPECT_EQ(kind({"nope"}), FlagKind::Unknown);
}

TEST(Help, ListsEveryStaticOptionWithItsDefault) {
  std::vector<StaticKey> keys = listStaticKeys();
  auto find = [&](std::string_view flag) -> const StaticKey* {
    for (const auto& k : keys)
      if (k.flag == flag) return &k;
    return nullptr;
  };
  ASSERT_NE(find("--entryPoints.<name>.address"), nullptr);
  EXPECT_EQ(find("--entryPoints.<name>.transport.respondingTimeouts.idleTimeout")->defaultValue, "3m0s");
  EXPECT_EQ(find("--entryPoints.<name>.http2.maxConcurrentStreams")->defaultValue, "250");
  EXPECT_EQ(find("--log.level")->defaultValue, "\"ERROR\"");
  EXPECT_TRUE(find("--api")->section);
  EXPECT_EQ(find("--api.dashboard")->defaultValue, "true");
  EXPECT_FALSE(find("--certificatesResolvers.<name>.acme.email")->notYet);
  EXPECT_FALSE(find("--certificatesResolvers.<name>.acme.dnsChallenge.provider")->notYet);
  EXPECT_TRUE(find("--certificatesResolvers.<name>.acme.profile")->notYet);
  EXPECT_FALSE(find("--entryPoints.<name>.http3")->notYet);
  EXPECT_FALSE(find("--entryPoints.<name>.http3.advertisedPort")->notYet);
  EXPECT_TRUE(find("--certificatesResolvers.<name>.tailscale")->notYet);
}

TEST(Environment, PrefixesAndSegments) {
  Node node = env({"TRAEFIK_ENTRYPOINTS_WEB_ADDRESS=:80", "CAUSEWAY_LOG_LEVEL=DEBUG",
                   "TRAEFIK_ENTRYPOINTS_WEB_FORWARDEDHEADERS_TRUSTEDIPS_0=1.2.3.4",
                   "TRAEFIK_ENTRYPOINTS_WEB_FORWARDEDHEADERS_TRUSTEDIPS_1=5.6.7.8", "HOME=/root",
                   "PATH=/bin", "NOEQUALS", "traefik_api_insecure=true"});
  EXPECT_EQ(node.toString(),
            "{entrypoints: {web: {address: \":80\", forwardedheaders: {trustedips: {0: 1.2.3.4, 1: "
            "5.6.7.8}}}}, api: {insecure: true}, log: {level: DEBUG}}");
  EXPECT_EQ(node.find("log")->find("level")->location().toString(),
            "environment CAUSEWAY_LOG_LEVEL");
}

TEST(Environment, CausewayWinsOverTraefik) {
  Node node = env({"CAUSEWAY_LOG_LEVEL=DEBUG", "TRAEFIK_LOG_LEVEL=INFO", "TRAEFIK_LOG_FORMAT=json",
                   "CAUSEWAY_API=true", "TRAEFIK_API_DASHBOARD=false"});
  EXPECT_EQ(node.find("log")->find("level")->text(), "DEBUG");
  EXPECT_EQ(node.find("log")->find("format")->text(), "json");
  EXPECT_EQ(node.find("api")->toString(), "{dashboard: false}");
}

TEST(Environment, Errors) {
  std::vector<ConfigError> errors;
  Node node = nodeFromEnvironment({"TRAEFIK_LOG__LEVEL=x", "TRAEFIK_LOG_=x", "TRAEFIK_=x"}, errors);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].location.toString(), "environment TRAEFIK_LOG__LEVEL");
  EXPECT_EQ(node.size(), 0u);
}

} // namespace
} // namespace causeway::config
