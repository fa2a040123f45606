
#include <filesystem>
#include <gtest/gtest.h>

#include "config/dynamic_config.h"
#include "config/parse.h"
#include "test_encode.h"

namespace causeway::config {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path kTestData = std::filesystem::path(__FILE__).parent_path() / "testdata";

struct Loaded {
  DynamicConfig config;
  std::vector<ConfigError> errors;
  std::vector<ConfigError> unsupported;
  std::string errorText() const {
    std::string out;
    for (const ConfigError& e : errors)
      out += e.toString() + "\n";
    return out;
  }
};

// Unsupported-option warnings (tcp, udp, ...) go to `unsupported`, the rest to `errors`.
void separate(Loaded& loaded) {
  std::vector<ConfigError> rest;
  for (auto& e : loaded.errors) (e.unsupported ? loaded.unsupported : rest).push_back(std::move(e));
  loaded.errors = std::move(rest);
}

Loaded fromYaml(std::string_view text) {
  ParseResult parsed = parseYaml(text, "dyn.yml");
  Loaded loaded;
  loaded.errors = parsed.errors;
  loaded.config = decodeDynamic(parsed.root, loaded.errors);
  separate(loaded);
  return loaded;
}

Loaded fromToml(std::string_view text) {
  ParseResult parsed = parseToml(text, "dyn.toml");
  Loaded loaded;
  loaded.errors = parsed.errors;
  loaded.config = decodeDynamic(parsed.root, loaded.errors);
  separate(loaded);
  return loaded;
}

Loaded fromFile(const std::string& name) {
  ParseResult parsed = parseConfigFile((kTestData / name).string());
  Loaded loaded;
  loaded.errors = parsed.errors;
  loaded.config = decodeDynamic(parsed.root, loaded.errors);
  separate(loaded);
  return loaded;
}

TEST(DynamicConfig, YamlAndTomlDecodeIdentically) {
  ParseResult yaml = parseConfigFile((kTestData / "dynamic.yml").string());
  ParseResult toml = parseConfigFile((kTestData / "dynamic.toml").string());
  ASSERT_TRUE(yaml.errors.empty());
  ASSERT_TRUE(toml.errors.empty()) << toml.errors[0].toString();
  EXPECT_EQ(fingerprint(yaml.root), fingerprint(toml.root));

  Loaded fromYamlFile = fromFile("dynamic.yml");
  Loaded fromTomlFile = fromFile("dynamic.toml");
  EXPECT_TRUE(fromYamlFile.errors.empty()) << fromYamlFile.errorText();
  EXPECT_TRUE(fromTomlFile.errors.empty()) << fromTomlFile.errorText();
  // The tcp section decodes (docs/tcp-udp.md): nothing in the file is unsupported.
  EXPECT_TRUE(fromYamlFile.unsupported.empty()) << fromYamlFile.unsupported[0].toString();
  EXPECT_EQ(testing::encode(fromYamlFile.config).toString(),
            testing::encode(fromTomlFile.config).toString());
  // Element fingerprints depend on content only.
  EXPECT_EQ(fromYamlFile.config.http.routers.at("api").fingerprint,
            fromTomlFile.config.http.routers.at("api").fingerprint);
}

TEST(DynamicConfig, DecodedValues) {
  Loaded loaded = fromFile("dynamic.yml");
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errorText();
  const HttpConfig& http = loaded.config.http;

  const Router& api = http.routers.at("api").value;
  EXPECT_EQ(api.rule, "Host(`api.example.com`) && PathPrefix(`/v1`)");
  EXPECT_EQ(api.entryPoints, (std::vector<std::string>{"websecure"}));
  EXPECT_EQ(api.middlewares, (std::vector<std::string>{"strip", "auth@file"}));
  EXPECT_EQ(api.priority, 42);
  ASSERT_TRUE(api.tls);
  EXPECT_EQ(api.tls->certResolver, "le");
  EXPECT_EQ(api.tls->domains.at(0).sans.at(0), "*.example.com");
  EXPECT_FALSE(api.ruleSyntax);
  ASSERT_TRUE(api.observability);
  EXPECT_EQ(api.observability->accessLogs, false);
  EXPECT_FALSE(api.observability->metrics); // unset: inherits from the entry point
  EXPECT_EQ(http.routers.at("api").location.toString(),
            (kTestData / "dynamic.yml").string() + ":4:5");
  EXPECT_EQ(http.routers.at("web").value.ruleSyntax.value_or(""), "v2");
  EXPECT_FALSE(http.routers.at("web").value.tls);

  const LoadBalancer& lb = *http.services.at("backend").value.loadBalancer;
  ASSERT_EQ(lb.servers.size(), 2u);
  EXPECT_EQ(lb.servers[0].effectiveWeight(), 1);
  EXPECT_EQ(lb.servers[1].weight, 3);
  EXPECT_EQ(lb.strategy, "p2c");
  EXPECT_FALSE(lb.passHostHeader);
  EXPECT_EQ(lb.sticky->cookie->sameSite, "lax");
  EXPECT_EQ(lb.sticky->cookie->path, "/");
  EXPECT_EQ(lb.healthCheck->interval.value, 10s);
  EXPECT_EQ(lb.healthCheck->timeout.value, 5s);
  EXPECT_EQ(lb.healthCheck->mode, "http");
  EXPECT_TRUE(lb.healthCheck->followRedirects);
  EXPECT_EQ(lb.healthCheck->headers.at("X-Probe"), "1");
  EXPECT_EQ(lb.responseForwarding.flushInterval.value, -1s);
  EXPECT_FALSE(lb.passiveHealthCheck);

  const Weighted& split = *http.services.at("split").value.weighted;
  EXPECT_EQ(split.services.at(0).weight, 2);
  EXPECT_EQ(split.services.at(1).weight, 1);
  EXPECT_TRUE(split.healthCheck);
  const Mirroring& copy = *http.services.at("copy").value.mirroring;
  EXPECT_TRUE(copy.mirrorBody);
  EXPECT_EQ(copy.maxBodySize, -1);
  EXPECT_EQ(copy.mirrors.at(0).percent, 10);
  const Failover& safe = *http.services.at("safe").value.failover;
  EXPECT_EQ(safe.errors->status, (std::vector<std::string>{"500-504"}));
  EXPECT_EQ(safe.errors->maxRequestBodyBytes, -1);

  const Middleware& strip = http.middlewares.at("strip").value;
  EXPECT_EQ(strip.type, "stripPrefix");
  EXPECT_EQ(strip.options.toString(), "{prefixes: [/v1]}");

  const ServersTransport& transport = http.serversTransports.at("internal").value;
  EXPECT_EQ(transport.serverName, "backend.internal");
  EXPECT_EQ(transport.maxIdleConnsPerHost, 0);
  EXPECT_EQ(transport.forwardingTimeouts.dialTimeout.value, 5s);
  EXPECT_EQ(transport.forwardingTimeouts.idleConnTimeout.value, 90s);
  EXPECT_EQ(transport.forwardingTimeouts.pingTimeout.value, 15s);

  const TlsConfig& tls = loaded.config.tls;
  EXPECT_EQ(tls.certificates.at(0).keyFile, "/certs/a.key");
  EXPECT_EQ(tls.options.at("default").minVersion, "VersionTLS13");
  EXPECT_EQ(tls.options.at("modern").minVersion, "VersionTLS12");
  EXPECT_EQ(tls.options.at("modern").alpnProtocols,
            (std::vector<std::string>{"h2", "http/1.1", "acme-tls/1"}));
  EXPECT_EQ(tls.options.at("modern").clientAuth.clientAuthType, "RequireAndVerifyClientCert");
  EXPECT_EQ(tls.stores.at("default").defaultCertificate->certFile, "/certs/default.crt");

  EXPECT_EQ(loaded.config.tcp.routers.at("db").value.service, "db");
  EXPECT_TRUE(loaded.config.udp.routers.empty());
}

TEST(DynamicConfig, EmptyDocumentIsValid) {
  for (const char* text : {"", "# nothing\n"}) {
    Loaded loaded = fromYaml(text);
    EXPECT_TRUE(loaded.errors.empty());
    EXPECT_TRUE(loaded.config.http.routers.empty());
  }
  EXPECT_TRUE(fromToml("").errors.empty());
  EXPECT_TRUE(fromYaml("http:\n").errors.empty());
}

TEST(DynamicConfig, UnknownKeyErrorTextWithYamlLine) {
  Loaded loaded = fromYaml("http:\n  routers:\n    api:\n      rul: Host(`a`)\n      service: s\n");
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0].toString(),
            "dyn.yml:4:7: http.routers.api: unknown key 'rul'; did you mean 'rule'? expected one of: rule, ruleSyntax, "
            "priority, entryPoints, middlewares, service, tls, observability, parentRefs, "
            "maxRequestBodyBytes, timeouts");
}

TEST(DynamicConfig, UnknownKeyErrorTextWithTomlLine) {
  Loaded loaded = fromToml("[http.routers.api]\nservice = \"s\"\n\nrul = \"Host(`a`)\"\n");
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0].location.toString(), "dyn.toml:4:1");
  EXPECT_EQ(loaded.errors[0].element, "http.routers.api");
}

TEST(DynamicConfig, ValueErrorsPointAtTheValue) {
  Loaded loaded = fromYaml("http:\n  services:\n    s:\n      loadBalancer:\n"
                           "        strategy: roundrobin\n"
                           "        healthCheck: {interval: soon}\n");
  ASSERT_EQ(loaded.errors.size(), 2u) << loaded.errorText();
  EXPECT_EQ(loaded.errors[0].toString(),
            "dyn.yml:5:19: http.services.s.loadBalancer.strategy: invalid value 'roundrobin'; "
            "expected one of: wrr, p2c, hrw, leasttime");
  EXPECT_EQ(loaded.errors[1].element, "http.services.s.loadBalancer.healthCheck.interval");
  EXPECT_EQ(loaded.errors[1].location.line, 6);

  loaded = fromToml(
      "[http.services.s.loadBalancer]\nstrategy = \"x\"\n[[http.services.s.loadBalancer.servers]]\n"
      "url = \"http://a\"\nweight = \"heavy\"\n");
  ASSERT_EQ(loaded.errors.size(), 2u) << loaded.errorText();
  EXPECT_EQ(loaded.errors[0].element, "http.services.s.loadBalancer.servers[0].weight");
  EXPECT_EQ(loaded.errors[0].location.toString(), "dyn.toml:5:10");
  EXPECT_EQ(loaded.errors[1].location.toString(), "dyn.toml:2:12");
}

TEST(DynamicConfig, PerElementErrorsLeaveSiblingsIntact) {
  Loaded loaded = fromYaml(R"(http:
  routers:
    good:
      rule: Host(`a`)
      service: s1
    bad:
      rule: Host(`b`)
      priority: high
    "with@at":
      rule: Host(`c`)
  services:
    s1:
      loadBalancer:
        servers: [{url: "http://a"}]
    both:
      loadBalancer: {}
      weighted: {}
    none:
      middlewares: [x]
  middlewares:
    two:
      stripPrefix: {prefixes: [/a]}
      addPrefix: {prefix: /b}
    empty: {}
    ok:
      addPrefix: {prefix: /c}
  serversTransports:
    st:
      maxIdleConnsPerHost: lots
)");
  const HttpConfig& http = loaded.config.http;
  EXPECT_EQ(loaded.errors.size(), 7u) << loaded.errorText();

  EXPECT_TRUE(http.routers.at("good").ok());
  EXPECT_EQ(http.routers.at("good").value.service, "s1");
  ASSERT_EQ(http.routers.at("bad").errors.size(), 1u);
  EXPECT_EQ(http.routers.at("bad").errors[0].element, "http.routers.bad.priority");
  EXPECT_EQ(http.routers.at("bad").value.rule, "Host(`b`)"); // the rest still decoded
  ASSERT_EQ(http.routers.at("with@at").errors.size(), 1u);
  EXPECT_EQ(http.routers.at("with@at").errors[0].toString(),
            "dyn.yml:9:5: http.routers.with@at: invalid name 'with@at': '@' separates a name from "
            "its provider");

  EXPECT_TRUE(http.services.at("s1").ok());
  ASSERT_EQ(http.services.at("both").errors.size(), 1u);
  EXPECT_EQ(http.services.at("both").errors[0].toString(),
            "dyn.yml:15:5: http.services.both: expected exactly one of: loadBalancer, weighted, "
            "mirroring, failover, highestRandomWeight; got loadBalancer, weighted");
  ASSERT_EQ(http.services.at("none").errors.size(), 1u);
  EXPECT_NE(http.services.at("none").errors[0].message.find("does not have any type defined"), std::string::npos);

  EXPECT_TRUE(http.middlewares.at("ok").ok());
  EXPECT_EQ(http.middlewares.at("ok").value.type, "addPrefix");
  ASSERT_EQ(http.middlewares.at("two").errors.size(), 1u);
  EXPECT_EQ(http.middlewares.at("two").errors[0].message,
            "expected exactly one middleware type (e.g. stripPrefix: {...}); got stripPrefix, "
            "addPrefix");
  EXPECT_EQ(http.middlewares.at("empty").errors.size(), 1u);
  EXPECT_EQ(http.serversTransports.at("st").errors.size(), 1u);
}

TEST(DynamicConfig, ElementFingerprintsTrackContent) {
  Loaded a = fromYaml("http:\n  routers:\n    r1: {rule: A, service: s}\n    r2: {rule: B}\n");
  Loaded b =
      fromYaml("http:\n  routers:\n    r2: {rule: C}\n    r1:\n      service: s\n      rule: A\n");
  EXPECT_EQ(a.config.http.routers.at("r1").fingerprint, b.config.http.routers.at("r1").fingerprint);
  EXPECT_NE(a.config.http.routers.at("r2").fingerprint, b.config.http.routers.at("r2").fingerprint);
}

TEST(DynamicConfig, TopLevelErrors) {
  Loaded loaded = fromYaml("htp:\n  routers: {}\n");
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0].toString(),
            "dyn.yml:1:1: unknown key 'htp'; did you mean 'http'? expected one of: http, tcp, udp, tls, apiManagement");
  loaded = fromYaml("- a\n- b\n");
  ASSERT_EQ(loaded.errors.size(), 1u);
  EXPECT_EQ(loaded.errors[0].message, "expected a map with keys: http, tcp, udp, tls, apiManagement; got a list");
}

TEST(DynamicConfig, RouterOptionalSections) {
  Loaded loaded = fromYaml("http:\n  routers:\n    a: {rule: A, tls: {}}\n    b:\n      rule: B\n"
                           "      tls:\n    c: {rule: C, tls: false}\n");
  ASSERT_TRUE(loaded.errors.empty()) << loaded.errorText();
  EXPECT_TRUE(loaded.config.http.routers.at("a").value.tls);
  EXPECT_TRUE(loaded.config.http.routers.at("b").value.tls);
  EXPECT_FALSE(loaded.config.http.routers.at("c").value.tls);
}

} // namespace
} // namespace causeway::config

namespace causeway::config {
namespace {

// decodeDynamic with the previous decoding: unchanged elements come out as they were; a changed
// one, one that moved, and one with errors are decoded again.
TEST(DynamicConfigReuse, DecodesOnlyWhatChanged) {
  const char* before = R"Y(http:
  routers:
    same: {rule: "Host(`same`)", service: s}
    edited: {rule: "Host(`old`)", service: s}
    broken: {rule: "Host(`b`)", service: s, bogus: 1}
  services:
    s: {loadBalancer: {servers: [{url: "http://127.0.0.1:1"}]}}
)Y";
  const char* after = R"Y(http:
  routers:
    same: {rule: "Host(`same`)", service: s}
    edited: {rule: "Host(`new`)", service: s}
    broken: {rule: "Host(`b`)", service: s, bogus: 1}
  services:

    s: {loadBalancer: {servers: [{url: "http://127.0.0.1:1"}]}}
)Y";
  std::vector<ConfigError> errors;
  DynamicConfig first = decodeDynamic(parseYaml(before, "dyn.yml").root, errors);
  errors.clear();
  DynamicConfig second = decodeDynamic(parseYaml(after, "dyn.yml").root, errors, &first);
  EXPECT_EQ(second.http.routers.at("same").value.rule, "Host(`same`)");
  EXPECT_EQ(second.http.routers.at("same").location.line, 3);
  EXPECT_EQ(second.http.routers.at("edited").value.rule, "Host(`new`)");
  // Errors are found again and reported to the caller each time.
  EXPECT_FALSE(second.http.routers.at("broken").ok());
  bool reported = false;
  for (const ConfigError& e : errors) reported = reported || e.element.find("broken") != std::string::npos;
  EXPECT_TRUE(reported);
  // The service moved a line down: decoded again, with its new location.
  EXPECT_EQ(second.http.services.at("s").location.line, 8);
  EXPECT_EQ(first.http.services.at("s").location.line, 7);
  // Nothing of the previous decoding is kept when the element is gone.
  DynamicConfig third = decodeDynamic(parseYaml("http: {routers: {}}", "dyn.yml").root, errors, &second);
  EXPECT_TRUE(third.http.routers.empty());
}

}  // namespace
}  // namespace causeway::config
