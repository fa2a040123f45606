#include <gtest/gtest.h>

#include "config/parse.h"
#include "control/server.h"
#include "control/snapshot_builder.h"
#include "upstream/health/registry.h"

namespace causeway::control {
namespace {

class ServiceBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded =
        config::parseYaml("entryPoints:\n  web: {address: '127.0.0.1:0'}\n", "static.yml");
    config::DecodeContext context;
    config::decode(loaded.root, static_, context);
    ASSERT_TRUE(context.errors().empty());
    std::vector<config::ConfigError> errors;
    entryPoints_ = resolveEntryPoints(static_, errors);
  }

  runtime::SnapshotPtr build(const std::string& yaml, upstream::HealthRegistry* health = nullptr) {
    auto parsed = config::parseYaml(yaml, "dynamic.yml");
    EXPECT_TRUE(parsed.errors.empty()) << parsed.errors[0].toString();
    std::vector<config::ConfigError> errors;
    BuildInputs inputs;
    inputs.staticConfig = &static_;
    inputs.entryPoints = &entryPoints_;
    inputs.terminating = &terminating_;
    inputs.health = health;
    inputs.providers["file"] =
        std::make_shared<config::DynamicConfig>(config::decodeDynamic(parsed.root, errors));
    return builder_.build(inputs);
  }

  static std::string errors(const runtime::Snapshot& s, const std::string& service) {
    std::string out;
    for (const auto& e : s.runtime.services.at(service).errors)
      out += e + "\n";
    return out;
  }

  config::StaticConfig static_;
  std::vector<runtime::EntryPoint> entryPoints_;
  std::atomic<bool> terminating_{false};
  SnapshotBuilder builder_;
};

TEST_F(ServiceBuilderTest, EveryKindBuilds) {
  auto s =
      build("http:\n"
            "  services:\n"
            "    a: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}], strategy: p2c, sticky: "
            "{cookie: {}}}}\n"
            "    b: {loadBalancer: {servers: [{url: 'http://127.0.0.1:2'}], strategy: leasttime,\n"
            "        healthCheck: {path: /health}, passiveHealthCheck: {}}}\n"
            "    c: {loadBalancer: {servers: [{url: 'http://127.0.0.1:3'}], strategy: hrw}}\n"
            "    w: {weighted: {services: [{name: a, weight: 2}, {name: b}], sticky: {cookie: "
            "{name: x}}}}\n"
            "    h: {highestRandomWeight: {services: [{name: a}, {name: c}]}}\n"
            "    m: {mirroring: {service: w, mirrors: [{name: c, percent: 10}]}}\n"
            "    f: {failover: {service: b, fallback: m}}\n"
            "    g: {failover: {service: a, fallback: f, errors: {status: ['500-504']}}}\n");
  for (const char* name :
       {"a@file", "b@file", "c@file", "w@file", "h@file", "m@file", "f@file", "g@file"}) {
    const runtime::ServiceState& state = s->runtime.services.at(name);
    EXPECT_EQ(state.status, runtime::ElementStatus::Enabled) << name << ": " << errors(*s, name);
  }
  EXPECT_EQ(s->runtime.services.at("w@file").type, "weighted");
  EXPECT_EQ(s->runtime.services.at("h@file").type, "highestrandomweight");
  EXPECT_EQ(s->runtime.services.at("b@file").currentServerStatus().at("http://127.0.0.1:2"), "UP");
}

TEST_F(ServiceBuilderTest, CyclesAndMissingChildren) {
  auto s = build("http:\n"
                 "  services:\n"
                 "    a: {weighted: {services: [{name: b}]}}\n"
                 "    b: {mirroring: {service: a}}\n"
                 "    self: {failover: {service: self, fallback: ok, errors: {status: ['500']}}}\n"
                 "    orphan: {weighted: {services: [{name: ghost}]}}\n"
                 "    parent: {weighted: {services: [{name: orphan}, {name: ok}]}}\n"
                 "    ok: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n");
  EXPECT_EQ(s->runtime.services.at("ok@file").status, runtime::ElementStatus::Enabled);
  for (const char* name : {"a@file", "b@file"}) {
    EXPECT_EQ(s->runtime.services.at(name).status, runtime::ElementStatus::Disabled);
    EXPECT_NE(errors(*s, name).find(
                  "recursion detected in service:a@file->service:b@file->service:a@file"),
              std::string::npos)
        << errors(*s, name);
  }
  EXPECT_NE(
      errors(*s, "self@file").find("recursion detected in service:self@file->service:self@file"),
      std::string::npos);
  EXPECT_NE(errors(*s, "orphan@file").find("the service \"ghost@file\" does not exist"),
            std::string::npos);
  EXPECT_NE(errors(*s, "parent@file").find("the service \"orphan@file\" has errors"),
            std::string::npos);
}

TEST_F(ServiceBuilderTest, HealthPropagationNeedsHealthChecksBelow) {
  auto s = build(
      "http:\n"
      "  services:\n"
      "    plain: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}], strategy: p2c}}\n"
      "    checked: {loadBalancer: {servers: [{url: 'http://127.0.0.1:2'}], healthCheck: {path: "
      "/}}}\n"
      "    w: {weighted: {services: [{name: plain}], healthCheck: {}}}\n"
      "    ok: {weighted: {services: [{name: checked}], healthCheck: {}}}\n"
      "    f: {failover: {service: plain, fallback: checked}}\n"
      "    internal: {weighted: {services: [{name: noop@internal}], healthCheck: {}}}\n"
      "    grpc: {loadBalancer: {servers: [{url: 'http://127.0.0.1:3'}], healthCheck: {path: /, "
      "mode: grpc}}}\n"
      "    badmirror: {mirroring: {service: checked, mirrors: [{name: plain, percent: 101}]}}\n");
  EXPECT_NE(errors(*s, "w@file")
                .find("cannot register plain as updater for w@file: healthCheck not enabled in "
                      "config for this P2C service"),
            std::string::npos)
      << errors(*s, "w@file");
  EXPECT_EQ(s->runtime.services.at("ok@file").status, runtime::ElementStatus::Enabled);
  EXPECT_NE(errors(*s, "f@file").find("cannot register plain as updater for f@file"),
            std::string::npos);
  EXPECT_NE(errors(*s, "internal@file").find("not a healthcheck.StatusUpdater"), std::string::npos);
  EXPECT_EQ(s->runtime.services.at("grpc@file").status, runtime::ElementStatus::Enabled);  // mode grpc is checked
  EXPECT_NE(errors(*s, "badmirror@file").find("percent must be between 0 and 100"),
            std::string::npos);
}

TEST_F(ServiceBuilderTest, HealthRegistryKeepsStateAcrossBuilds) {
  asio::io_context io;
  upstream::HealthRegistry registry(io);
  const std::string yaml = "http:\n"
                           "  services:\n"
                           "    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}, {url: "
                           "'http://127.0.0.1:2'}],\n"
                           "        healthCheck: {path: /health, interval: 1h}}}\n";
  auto first = build(yaml, &registry);
  EXPECT_EQ(registry.activeChecks(), 2u);
  auto health = registry.server("s@file", "http://127.0.0.1:2");  // the entry the build made
  health->setActiveUp(false);
  auto second = build(yaml, &registry);
  EXPECT_EQ(second->runtime.services.at("s@file").currentServerStatus().at("http://127.0.0.1:2"), "DOWN");
  EXPECT_EQ(second->runtime.services.at("s@file").currentServerStatus().at("http://127.0.0.1:1"), "UP");
  EXPECT_EQ(registry.serverStatus("s@file").at("http://127.0.0.1:2"), "DOWN");
  EXPECT_EQ(registry.activeChecks(), 2u);
  // The server leaves the configuration: its entry and its check go.
  build("http:\n  services:\n    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n",
        &registry);
  EXPECT_EQ(registry.activeChecks(), 0u);
  EXPECT_EQ(registry.serverStatus("s@file").size(), 1u);
  // Back again: fresh, UP.
  auto fourth = build(yaml, &registry);
  EXPECT_EQ(fourth->runtime.services.at("s@file").currentServerStatus().at("http://127.0.0.1:2"), "UP");
}

}  // namespace
}  // namespace causeway::control
