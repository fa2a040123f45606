
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <unistd.h>

#include "config/parse.h"
#include "config/static_config.h"
#include "test_encode.h"

namespace causeway::config {
namespace {

using namespace std::chrono_literals;

class StaticConfigTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("causeway_static_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& name, const std::string& text) {
    std::filesystem::create_directories((dir_ / name).parent_path());
    std::ofstream(dir_ / name) << text;
    return (dir_ / name).string();
  }
  StaticLoadResult load(const std::vector<std::string>& args = {},
                        const std::vector<std::string>& environ = {}) {
    return loadStaticConfig(args, environ, dir_.string());
  }
  static bool systemConfigPresent() {
    return !findStaticConfigFile({"/etc/causeway", "/etc/traefik"}).empty();
  }
  static std::string errorText(const StaticLoadResult& result) {
    std::string out;
    for (const ConfigError& e : result.errors)
      out += e.toString() + "\n";
    return out;
  }

  std::filesystem::path dir_;
};

TEST_F(StaticConfigTest, DefaultsWithoutAnyFile) {
  if (systemConfigPresent()) GTEST_SKIP() << "a system-wide configuration file exists";
  StaticLoadResult result = load();
  ASSERT_TRUE(result.errors.empty()) << errorText(result);
  EXPECT_EQ(result.configFile, "");
  const StaticConfig& config = result.config;
  ASSERT_EQ(config.entryPoints.size(), 1u);
  EXPECT_EQ(config.entryPoints.at("http").address, ":80");
  EXPECT_EQ(config.log.level, "ERROR");
  EXPECT_EQ(config.log.format, "common");
  EXPECT_EQ(config.providers.providersThrottleDuration.value, 2s);
  EXPECT_FALSE(config.providers.file);
  EXPECT_FALSE(config.providers.docker);
  EXPECT_EQ(config.serversTransport.maxIdleConnsPerHost, 200);
  EXPECT_EQ(config.serversTransport.forwardingTimeouts.dialTimeout.value, 30s);
  EXPECT_EQ(config.serversTransport.forwardingTimeouts.idleConnTimeout.value, 90s);
  EXPECT_TRUE(config.global.checkNewVersion);
  EXPECT_FALSE(config.global.sendAnonymousUsage);
  EXPECT_EQ(config.core.defaultRuleSyntax, "v3");
  EXPECT_FALSE(config.api);
  EXPECT_FALSE(config.ping);
  EXPECT_FALSE(config.metrics);
  EXPECT_EQ(config.workers, 0);
}

TEST_F(StaticConfigTest, EntryPointDefaults) {
  write("traefik.yml", "entryPoints:\n  web:\n    address: ':8000'\n");
  StaticLoadResult result = load();
  ASSERT_TRUE(result.ok()) << errorText(result);
  ASSERT_EQ(result.config.entryPoints.size(), 1u);
  const EntryPoint& web = result.config.entryPoints.at("web");
  EXPECT_EQ(web.address, ":8000");
  EXPECT_FALSE(web.asDefault);
  EXPECT_FALSE(web.reusePort);
  EXPECT_FALSE(web.http.redirections);
  EXPECT_FALSE(web.http.tls);
  EXPECT_TRUE(web.http.encodedCharacters.allowEncodedSlash);
  EXPECT_TRUE(web.http.encodedCharacters.allowEncodedHash);
  EXPECT_FALSE(web.http.encodeQuerySemicolons);
  EXPECT_TRUE(web.http.sanitizePath);
  EXPECT_EQ(web.http.maxHeaderBytes, 1048576);
  EXPECT_EQ(web.http.underscoreHeadersStrategy, "keep");
  EXPECT_EQ(web.http2.maxConcurrentStreams, 250);
  EXPECT_EQ(web.http2.maxDecoderHeaderTableSize, 4096);
  EXPECT_FALSE(web.http3);
  EXPECT_FALSE(web.proxyProtocol);
  EXPECT_EQ(web.transport.respondingTimeouts.readTimeout.value, 60s);
  EXPECT_EQ(web.transport.respondingTimeouts.writeTimeout.value, 0s);
  EXPECT_EQ(web.transport.respondingTimeouts.idleTimeout.value, 180s);
  EXPECT_EQ(web.transport.lifeCycle.graceTimeOut.value, 10s);
  EXPECT_EQ(web.transport.lifeCycle.requestAcceptGraceTimeout.value, 0s);
  EXPECT_EQ(web.transport.keepAliveMaxRequests, 0);
  EXPECT_EQ(web.udp.timeout.value, 3s);
  EXPECT_TRUE(web.observability.accessLogs);
  EXPECT_EQ(web.observability.traceVerbosity, "minimal");
}

TEST_F(StaticConfigTest, FullEntryPoint) {
  write("causeway.yml", R"(entryPoints:
  websecure:
    address: ":443"
    asDefault: true
    http:
      redirections:
        entryPoint:
          to: other
      tls:
        certResolver: le
        domains:
          - main: example.com
            sans: [www.example.com]
      middlewares: [auth@file]
    http3: {}
    proxyProtocol:
      trustedIPs: [10.0.0.0/8]
    transport:
      respondingTimeouts:
        readTimeout: 5
workers: 4
)");
  StaticLoadResult result = load();
  ASSERT_TRUE(result.ok()) << errorText(result);
  const EntryPoint& ep = result.config.entryPoints.at("websecure");
  ASSERT_TRUE(ep.http.redirections && ep.http.redirections->entryPoint);
  EXPECT_EQ(ep.http.redirections->entryPoint->to, "other");
  EXPECT_EQ(ep.http.redirections->entryPoint->scheme, "https");
  EXPECT_TRUE(ep.http.redirections->entryPoint->permanent);
  EXPECT_EQ(ep.http.redirections->entryPoint->priority, 9223372036854775806);
  EXPECT_EQ(ep.http.tls->domains.at(0).sans.at(0), "www.example.com");
  EXPECT_TRUE(ep.http3);
  EXPECT_EQ(ep.http3->advertisedPort, 0);
  EXPECT_EQ(ep.proxyProtocol->trustedIPs.at(0), "10.0.0.0/8");
  EXPECT_EQ(ep.transport.respondingTimeouts.readTimeout.value, 5s);
  EXPECT_EQ(ep.transport.respondingTimeouts.idleTimeout.value, 180s);
  EXPECT_EQ(result.config.workers, 4);
}

TEST_F(StaticConfigTest, ImplicitEntryPoints) {
  auto entryPointsFor = [](const std::string& yaml) {
    ParseResult parsed = parseYaml(yaml, "t.yml");
    StaticConfig config;
    DecodeContext context;
    decode(parsed.root, config, context);
    EXPECT_TRUE(context.errors().empty());
    applyImplicitEntryPoints(config);
    std::string names;
    for (const auto& [name, ep] : config.entryPoints)
      names += name + "=" + ep.address + " ";
    return names;
  };
  EXPECT_EQ(entryPointsFor(""), "http=:80 ");
  EXPECT_EQ(entryPointsFor("api: {}"), "http=:80 ");
  EXPECT_EQ(entryPointsFor("api: {insecure: true}"), "http=:80 traefik=:8080 ");
  EXPECT_EQ(entryPointsFor("ping:"), "http=:80 traefik=:8080 ");
  EXPECT_EQ(entryPointsFor("ping: {manualRouting: true}"), "http=:80 ");
  EXPECT_EQ(entryPointsFor("ping: {entryPoint: web}\nentryPoints: {web: {address: ':1'}}"),
            "web=:1 ");
  EXPECT_EQ(entryPointsFor("ping: false"), "http=:80 ");
  EXPECT_EQ(entryPointsFor("api: {insecure: true}\nentryPoints: {web: {address: ':1'}}"),
            "traefik=:8080 web=:1 ");
  EXPECT_EQ(entryPointsFor("api: {insecure: true}\nentryPoints: {traefik: {address: ':9000'}}"),
            "traefik=:9000 ");
}

TEST_F(StaticConfigTest, ConfigFileSearchOrder) {
  write("traefik.toml", "[log]\nlevel = \"INFO\"\n");
  EXPECT_EQ(findStaticConfigFile({dir_.string()}), (dir_ / "traefik.toml").string());
  write("traefik.yaml", "");
  EXPECT_EQ(findStaticConfigFile({dir_.string()}), (dir_ / "traefik.yaml").string());
  write("traefik.yml", "");
  EXPECT_EQ(findStaticConfigFile({dir_.string()}), (dir_ / "traefik.yml").string());
  write("causeway.toml", "");
  EXPECT_EQ(findStaticConfigFile({dir_.string()}), (dir_ / "causeway.toml").string());
  write("causeway.yaml", "");
  EXPECT_EQ(findStaticConfigFile({dir_.string()}), (dir_ / "causeway.yaml").string());
  write("causeway.yml", "");
  EXPECT_EQ(findStaticConfigFile({dir_.string()}), (dir_ / "causeway.yml").string());

  // Directories in order: a traefik.toml in the first beats a causeway.yml in the second.
  write("second/causeway.yml", "");
  write("first/traefik.toml", "");
  EXPECT_EQ(findStaticConfigFile({(dir_ / "first").string(), (dir_ / "second").string()}),
            (dir_ / "first/traefik.toml").string());
  EXPECT_EQ(findStaticConfigFile({(dir_ / "empty").string(), (dir_ / "second").string()}),
            (dir_ / "second/causeway.yml").string());
  EXPECT_EQ(findStaticConfigFile({(dir_ / "empty").string()}), "");

  EXPECT_EQ(staticConfigSearchDirectories("/w"),
            (std::vector<std::string>{"/w", "/etc/causeway", "/etc/traefik"}));
}

TEST_F(StaticConfigTest, LoadUsesTheWorkingDirectoryFile) {
  write("traefik.toml", "[log]\nlevel = \"INFO\"\n");
  StaticLoadResult result = load();
  ASSERT_TRUE(result.ok()) << errorText(result);
  EXPECT_EQ(result.configFile, (dir_ / "traefik.toml").string());
  EXPECT_EQ(result.config.log.level, "INFO");
}

TEST_F(StaticConfigTest, ExplicitConfigFile) {
  write("traefik.yml", "log: {level: INFO}\n");
  write("conf/custom.yml", "log: {level: WARN}\n");
  StaticLoadResult result = load({"--configFile=conf/custom.yml"});
  ASSERT_TRUE(result.ok()) << errorText(result);
  EXPECT_EQ(result.configFile, (dir_ / "conf/custom.yml").string());
  EXPECT_EQ(result.config.log.level, "WARN");

  result = load({"--configfile=" + (dir_ / "conf/custom.yml").string()});
  EXPECT_EQ(result.config.log.level, "WARN");
  result = load({}, {"TRAEFIK_CONFIGFILE=conf/custom.yml"});
  EXPECT_EQ(result.config.log.level, "WARN");
}

TEST_F(StaticConfigTest, MissingExplicitConfigFileIsAnError) {
  StaticLoadResult result = load({"--configFile=nope.yml"});
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].toString(),
            "command line --configFile: configFile: configuration file "
            "not found: " +
                (dir_ / "nope.yml").string());
  EXPECT_FALSE(result.ok());
}

TEST_F(StaticConfigTest, OneSourceAsTraefik) {
  write("traefik.yml", "log:\n  level: INFO\n  format: json\n  filePath: /var/log/t.log\n"
                       "entryPoints:\n  web:\n    address: ':80'\n");
  const std::vector<std::string> environ = {"TRAEFIK_LOG_LEVEL=WARN", "TRAEFIK_LOG_FORMAT=common",
                                            "CAUSEWAY_LOG_FORMAT=json", "HOME=/root"};
  // A file is found: it alone is the static configuration; the rest is reported as ignored.
  StaticLoadResult result = load({"--log.level=debug"}, environ);
  ASSERT_TRUE(result.ok()) << errorText(result);
  EXPECT_EQ(result.sources, "file");
  EXPECT_EQ(result.config.log.level, "INFO");
  EXPECT_EQ(result.config.log.filePath, "/var/log/t.log");
  ASSERT_EQ(result.errors.size(), 2u) << errorText(result);
  EXPECT_TRUE(result.errors[0].warning);
  EXPECT_EQ(result.errors[0].location.toString(), "command line --log.level");
  EXPECT_NE(result.errors[0].message.find("ignored: the static configuration comes from"), std::string::npos);
  EXPECT_NE(result.errors[1].message.find("configLayering"), std::string::npos);

  // No file: the flags alone; the environment is ignored.
  std::filesystem::remove(dir_ / "traefik.yml");
  result = load({"--log.level", "debug", "--entryPoints.web.address=:8080"}, environ);
  ASSERT_TRUE(result.ok()) << errorText(result);
  EXPECT_EQ(result.sources, "flags");
  EXPECT_EQ(result.config.log.level, "DEBUG");
  EXPECT_EQ(result.config.log.format, "common");
  EXPECT_EQ(result.config.entryPoints.at("web").address, ":8080");

  // No file and no flag: the environment.
  result = load({}, environ);
  ASSERT_TRUE(result.ok()) << errorText(result);
  EXPECT_EQ(result.sources, "environment");
  EXPECT_EQ(result.config.log.level, "WARN");
  EXPECT_EQ(result.config.log.format, "json");  // CAUSEWAY_ beats TRAEFIK_
}

TEST_F(StaticConfigTest, ConfigLayeringCombinesFlagsOverEnvironmentOverFile) {
  write("traefik.yml", "log:\n  level: INFO\n  format: json\n  filePath: /var/log/t.log\n"
                       "entryPoints:\n  web:\n    address: ':80'\n");
  const std::vector<std::string> environ = {"TRAEFIK_LOG_LEVEL=WARN", "TRAEFIK_LOG_FORMAT=common",
                                            "CAUSEWAY_LOG_FORMAT=json", "CAUSEWAY_CONFIGLAYERING=true"};
  StaticLoadResult result = load({}, environ);
  ASSERT_TRUE(result.ok()) << errorText(result);
  EXPECT_TRUE(result.errors.empty()) << errorText(result);
  EXPECT_EQ(result.config.log.level, "WARN");
  EXPECT_EQ(result.config.log.format, "json");
  EXPECT_EQ(result.config.log.filePath, "/var/log/t.log");

  result = load({"--configLayering", "--log.level=debug", "--entryPoints.web.address=:8080"}, {});
  ASSERT_TRUE(result.ok()) << errorText(result);
  EXPECT_EQ(result.config.log.level, "DEBUG");
  EXPECT_EQ(result.config.log.format, "json");
  EXPECT_EQ(result.config.entryPoints.at("web").address, ":8080");
  EXPECT_EQ(result.config.entryPoints.size(), 1u);
}

TEST_F(StaticConfigTest, DynamicKeysInTheStaticFileAreTheFileProvidersNotErrors) {
  write("traefik.yml", "entryPoints:\n  web:\n    address: ':80'\n"
                       "providers:\n  file:\n    filename: traefik.yml\n"
                       "http:\n  routers:\n    r: {rule: 'Path(`/`)', service: s}\n"
                       "tcp: {}\nudp: {}\ntls: {}\n");
  StaticLoadResult result = load();
  EXPECT_TRUE(result.errors.empty()) << errorText(result);
}

TEST_F(StaticConfigTest, FlagsAlone) {
  StaticLoadResult result =
      load({"--entryPoints.web.address=:8080",
            "--entryPoints.web.forwardedHeaders.trustedIPs=10.0.0.0/8,127.0.0.1",
            "--entryPoints.websecure.address=:8443",
            "--entryPoints.websecure.http.tls.domains[0].main=example.com",
            "--entryPoints.websecure.http.tls.domains[0].sans=a.example.com,b.example.com",
            "--providers.file.directory=/x", "--providers.docker", "--api", "--ping=true",
            "--workers=2"});
  ASSERT_TRUE(result.ok()) << errorText(result);
  const StaticConfig& config = result.config;
  EXPECT_EQ(config.entryPoints.at("web").forwardedHeaders.trustedIPs,
            (std::vector<std::string>{"10.0.0.0/8", "127.0.0.1"}));
  const EntryPointTls& tls = *config.entryPoints.at("websecure").http.tls;
  EXPECT_EQ(tls.domains.at(0).main, "example.com");
  EXPECT_EQ(tls.domains.at(0).sans, (std::vector<std::string>{"a.example.com", "b.example.com"}));
  EXPECT_EQ(config.providers.file->directory, "/x");
  EXPECT_TRUE(config.providers.file->watch);
  ASSERT_TRUE(config.providers.docker);
  EXPECT_EQ(config.providers.docker->endpoint, "unix:///var/run/docker.sock");  // enabled with defaults
  ASSERT_TRUE(config.api);
  EXPECT_TRUE(config.api->dashboard);
  EXPECT_FALSE(config.api->insecure);
  EXPECT_EQ(config.ping->entryPoint, "traefik");
  EXPECT_EQ(config.entryPoints.at("traefik").address, ":8080");
  EXPECT_EQ(config.workers, 2);
}

TEST_F(StaticConfigTest, EnvironmentAlone) {
  StaticLoadResult result =
      load({}, {"TRAEFIK_ENTRYPOINTS_WEB_ADDRESS=:80",
                "TRAEFIK_ENTRYPOINTS_WEB_FORWARDEDHEADERS_TRUSTEDIPS_0=1.2.3.4",
                "TRAEFIK_ENTRYPOINTS_WEB_FORWARDEDHEADERS_TRUSTEDIPS_1=5.6.7.8",
                "TRAEFIK_API_INSECURE=true", "TRAEFIK_PROVIDERS_FILE_FILENAME=/d.yml",
                "TRAEFIK_PROVIDERS_FILE_WATCH=false", "CAUSEWAY_BIN=/usr/bin/causeway",
                "TRAEFIK_VERSION=3.7", "CAUSEWAY_WORKERS=3"});
  ASSERT_TRUE(result.errors.empty()) << errorText(result);
  const StaticConfig& config = result.config;
  EXPECT_EQ(config.entryPoints.at("web").forwardedHeaders.trustedIPs,
            (std::vector<std::string>{"1.2.3.4", "5.6.7.8"}));
  EXPECT_TRUE(config.api->insecure);
  EXPECT_EQ(config.providers.file->filename, "/d.yml");
  EXPECT_FALSE(config.providers.file->watch);
  EXPECT_EQ(config.workers, 3);
  EXPECT_TRUE(config.entryPoints.contains("traefik"));
}

TEST_F(StaticConfigTest, UnknownKeysAreErrorsRawSectionsAreNot) {
  write("traefik.yml", R"(metrics:
  prometheus: {}
certificatesResolvers:
  le:
    acme: {email: a@b.c, httpChallenge: {entryPoint: web}}
accessLog: {}
tracing: {}
experimental: {plugins: {}}
hostResolver: {}
spiffe: {}
ocsp: {}
tcpServersTransport: {dialTimeout: 1s}
providers:
  kubernetesCRD: {}
  redis: {endpoints: [a]}
entrypoints:
  web:
    address: ':80'
    adress: ':81'
pilot: {}
)");
  StaticLoadResult result = load();
  std::vector<ConfigError> errors, unsupported;
  for (const auto& e : result.errors) (e.warning ? unsupported : errors).push_back(e);
  ASSERT_EQ(errors.size(), 2u) << errorText(result);
  EXPECT_EQ(
      errors[0].toString(),
      (dir_ / "traefik.yml").string() +
          ":19:5: entryPoints.web: unknown key 'adress'; did you mean 'address'? expected one of: address, "
          "allowACMEByPass, reusePort, asDefault, transport, proxyProtocol, forwardedHeaders, "
          "http, http2, http3, udp, observability");
  EXPECT_EQ(errors[1].location.line, 20);
  EXPECT_NE(errors[1].message.find("unknown key 'pilot'"), std::string::npos);
  // Known Traefik sections causeway does not implement: a warning each, with its line.
  std::vector<int> lines;
  for (const auto& e : unsupported) {
    EXPECT_TRUE(e.unsupported) << e.toString();
    lines.push_back(e.location.line);
  }
  std::sort(lines.begin(), lines.end());
  // tcpServersTransport (line 12) is supported: no warning.
  // certificatesResolvers (line 3, ACME with httpChallenge) and tcpServersTransport (line 12)
  // are supported: no warning.
  EXPECT_EQ(lines, (std::vector<int>{8, 9, 10, 11}));
  EXPECT_TRUE(result.config.metrics);
  EXPECT_TRUE(result.config.providers.kubernetesCRD);
  ASSERT_TRUE(result.config.tcpServersTransport);
  EXPECT_EQ(result.config.tcpServersTransport->dialTimeout.value, std::chrono::seconds(1));
}

TEST_F(StaticConfigTest, ErrorsFromFlagsNameTheFlag) {
  StaticLoadResult result =
      load({"--foo=1", "--entryPoints.web.address=:80",
            "--entryPoints.web.transport.respondingTimeouts.readTimeout=fast"});
  ASSERT_EQ(result.errors.size(), 2u) << errorText(result);
  // Field errors come first (in described order), then unknown keys.
  EXPECT_EQ(result.errors[0].toString(),
            "command line --entryPoints.web.transport.respondingTimeouts.readTimeout: "
            "entryPoints.web.transport.respondingTimeouts.readTimeout: invalid duration 'fast': "
            "missing number; expected e.g. 10s, 1m30s, 100ms or a number of seconds");
  EXPECT_EQ(result.errors[1].toString().rfind("command line --foo: unknown key 'foo'", 0), 0u)
      << result.errors[1].toString();
}

TEST_F(StaticConfigTest, FileProviderNeedsAFileOrDirectory) {
  StaticLoadResult result = load({"--providers.file", "--entryPoints.web.address=:80"});
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].toString(),
            "command line --providers.file: providers.file: expected a filename or a directory");
}

TEST_F(StaticConfigTest, EntryPointNeedsAnAddress) {
  StaticLoadResult result = load({"--entryPoints.web.reusePort=true"});
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].element, "entryPoints.web");
  EXPECT_NE(result.errors[0].message.find("missing address"), std::string::npos);
}

TEST_F(StaticConfigTest, YamlAndTomlDecodeIdentically) {
  write("a/traefik.yml", R"(entryPoints:
  web:
    address: ":80"
    http:
      redirections:
        entryPoint: {to: websecure, scheme: https}
  websecure:
    address: ":443"
    transport:
      respondingTimeouts: {readTimeout: 30s}
providers:
  file: {directory: /etc/dyn, watch: false}
api: {dashboard: true}
log: {level: INFO}
)");
  write("b/traefik.toml", R"([entryPoints.web]
  address = ":80"
  [entryPoints.web.http.redirections.entryPoint]
    to = "websecure"
    scheme = "https"
[entryPoints.websecure]
  address = ":443"
  [entryPoints.websecure.transport.respondingTimeouts]
    readTimeout = "30s"
[providers.file]
  directory = "/etc/dyn"
  watch = false
[api]
  dashboard = true
[log]
  level = "INFO"
)");
  StaticLoadResult yaml = loadStaticConfig({}, {}, (dir_ / "a").string());
  StaticLoadResult toml = loadStaticConfig({}, {}, (dir_ / "b").string());
  ASSERT_TRUE(yaml.errors.empty()) << errorText(yaml);
  ASSERT_TRUE(toml.errors.empty()) << errorText(toml);
  EXPECT_EQ(testing::encode(yaml.config).toString(), testing::encode(toml.config).toString());
  EXPECT_EQ(toml.config.entryPoints.at("websecure").transport.respondingTimeouts.readTimeout.value,
            30s);
}

} // namespace
} // namespace causeway::config
