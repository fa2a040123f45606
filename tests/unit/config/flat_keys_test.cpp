
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
      {"--log.level", "DEBUG", "-x", "--a..b=1", "--a[x]=1", "--b[0=1", "--=1", "--ok=1"}, errors);
  ASSERT_EQ(errors.size(), 6u);
  EXPECT_EQ(errors[0].toString(),
            "command line DEBUG: unexpected argument 'DEBUG'; expected --key=value or --key");
  EXPECT_EQ(errors[1].location.key, "-x");
  EXPECT_EQ(errors[2].element, "a..b");
  EXPECT_NE(errors[3].message.find("malformed list index"), std::string::npos);
  EXPECT_EQ(node.toString(), "{log: {level: true}, ok: 1}");
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
