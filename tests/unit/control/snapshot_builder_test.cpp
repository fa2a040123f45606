
#include <gtest/gtest.h>

#include "config/parse.h"
#include "control/server.h"
#include "control/snapshot_builder.h"

namespace causeway::control {
namespace {

class SnapshotBuilderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = config::parseYaml(
        "entryPoints:\n"
        "  web: {address: '127.0.0.1:0'}\n"
        "  other: {address: '127.0.0.1:0'}\n"
        "  traefik: {address: '127.0.0.1:0'}\n",
        "static.yml");
    config::DecodeContext context;
    config::decode(loaded.root, static_, context);
    ASSERT_TRUE(context.errors().empty());
    std::vector<config::ConfigError> errors;
    entryPoints_ = resolveEntryPoints(static_, errors);
    ASSERT_TRUE(errors.empty());
  }

  runtime::SnapshotPtr build(const std::string& yaml, const std::string& provider = "file") {
    auto parsed = config::parseYaml(yaml, "dynamic.yml");
    EXPECT_TRUE(parsed.errors.empty()) << parsed.errors[0].toString();
    std::vector<config::ConfigError> errors;
    BuildInputs inputs;
    inputs.staticConfig = &static_;
    inputs.entryPoints = &entryPoints_;
    inputs.terminating = &terminating_;
    inputs.providers[provider] =
        std::make_shared<config::DynamicConfig>(config::decodeDynamic(parsed.root, errors));
    return builder_.build(inputs);
  }

  size_t routes(const runtime::Snapshot& s, const std::string& entryPoint) {
    for (const auto& ep : entryPoints_)
      if (ep.name == entryPoint) return s.routes[ep.index].table.size();
    return 0;
  }

  config::StaticConfig static_;
  std::vector<runtime::EntryPoint> entryPoints_;
  std::atomic<bool> terminating_{false};
  SnapshotBuilder builder_;
};

constexpr const char* kBasic =
    "http:\n"
    "  routers:\n"
    "    a: {rule: 'Host(`a.test`)', service: s}\n"
    "  services:\n"
    "    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n";

TEST_F(SnapshotBuilderTest, RouterWithoutEntryPointsGoesToEveryEntryPointButTraefik) {
  auto s = build(kBasic);
  EXPECT_EQ(routes(*s, "web"), 1u);
  EXPECT_EQ(routes(*s, "other"), 1u);
  EXPECT_EQ(routes(*s, "traefik"), 0u);
  const runtime::RouterState& state = s->runtime.routers.at("a@file");
  EXPECT_EQ(state.status, runtime::ElementStatus::Enabled);
  EXPECT_EQ(state.service, "s@file");
  EXPECT_EQ(state.priority, int64_t(std::string("Host(`a.test`)").size()));
  EXPECT_EQ(s->runtime.services.at("s@file").usedBy, std::vector<std::string>{"a@file"});
}

TEST_F(SnapshotBuilderTest, MissingServiceDisablesOnlyThatRouter) {
  auto s = build(
      "http:\n"
      "  routers:\n"
      "    good: {rule: 'Host(`a.test`)', service: s}\n"
      "    bad: {rule: 'Host(`b.test`)', service: nope}\n"
      "  services:\n"
      "    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n");
  EXPECT_EQ(routes(*s, "web"), 1u);
  const runtime::RouterState& bad = s->runtime.routers.at("bad@file");
  EXPECT_EQ(bad.status, runtime::ElementStatus::Disabled);
  ASSERT_EQ(bad.errors.size(), 1u);
  EXPECT_NE(bad.errors[0].find("the service \"nope@file\" does not exist"), std::string::npos);
  EXPECT_NE(bad.errors[0].find("dynamic.yml:4"), std::string::npos) << bad.errors[0];
}

TEST_F(SnapshotBuilderTest, BadRuleIsReportedWithCaret) {
  auto s = build(
      "http:\n"
      "  routers:\n"
      "    a: {rule: 'Host(`a.test`) &&', service: s}\n"
      "  services:\n"
      "    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n");
  const runtime::RouterState& a = s->runtime.routers.at("a@file");
  EXPECT_EQ(a.status, runtime::ElementStatus::Disabled);
  ASSERT_FALSE(a.errors.empty());
  EXPECT_NE(a.errors[0].find("^"), std::string::npos) << a.errors[0];
  EXPECT_EQ(routes(*s, "web"), 0u);
}

TEST_F(SnapshotBuilderTest, UnknownMiddlewareAndUnknownTypeAndChainLoop) {
  auto s = build(
      "http:\n"
      "  routers:\n"
      "    missing: {rule: 'Host(`a.test`)', service: s, middlewares: [nope]}\n"
      "    typo: {rule: 'Host(`b.test`)', service: s, middlewares: [weird]}\n"
      "    loop: {rule: 'Host(`c.test`)', service: s, middlewares: [c1]}\n"
      "    ok: {rule: 'Host(`d.test`)', service: s, middlewares: [strip]}\n"
      "  middlewares:\n"
      "    weird: {notAMiddleware: {}}\n"
      "    c1: {chain: {middlewares: [c2]}}\n"
      "    c2: {chain: {middlewares: [c1]}}\n"
      "    strip: {stripPrefix: {prefixes: [/api]}}\n"
      "  services:\n"
      "    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n");
  EXPECT_EQ(s->runtime.routers.at("missing@file").status, runtime::ElementStatus::Disabled);
  EXPECT_NE(s->runtime.routers.at("missing@file").errors[0].find("middleware \"nope@file\" does not exist"),
            std::string::npos);
  EXPECT_EQ(s->runtime.routers.at("typo@file").status, runtime::ElementStatus::Disabled);
  EXPECT_NE(s->runtime.middlewares.at("weird@file").errors[0].find("unknown middleware type"),
            std::string::npos);
  EXPECT_EQ(s->runtime.routers.at("loop@file").status, runtime::ElementStatus::Disabled);
  EXPECT_NE(s->runtime.routers.at("loop@file").errors[0].find("recursion"), std::string::npos);
  EXPECT_EQ(s->runtime.routers.at("ok@file").status, runtime::ElementStatus::Enabled);
  EXPECT_EQ(s->runtime.routers.at("ok@file").middlewares, std::vector<std::string>{"strip@file"});
  EXPECT_EQ(routes(*s, "web"), 1u);
}

TEST_F(SnapshotBuilderTest, CrossProviderReferencesUseQualifiedNames) {
  auto parsedFile = config::parseYaml(
      "http:\n  services:\n    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n", "f.yml");
  auto parsedOther = config::parseYaml(
      "http:\n  routers:\n"
      "    r: {rule: 'Path(`/x`)', service: s@file}\n"
      "    unqualified: {rule: 'Path(`/y`)', service: s}\n",
      "o.yml");
  std::vector<config::ConfigError> errors;
  BuildInputs inputs;
  inputs.staticConfig = &static_;
  inputs.entryPoints = &entryPoints_;
  inputs.terminating = &terminating_;
  inputs.providers["file"] = std::make_shared<config::DynamicConfig>(config::decodeDynamic(parsedFile.root, errors));
  inputs.providers["other"] = std::make_shared<config::DynamicConfig>(config::decodeDynamic(parsedOther.root, errors));
  auto s = builder_.build(inputs);
  EXPECT_EQ(s->runtime.routers.at("r@other").status, runtime::ElementStatus::Enabled);
  EXPECT_EQ(s->runtime.routers.at("unqualified@other").status, runtime::ElementStatus::Disabled);
}

TEST_F(SnapshotBuilderTest, UnchangedServicesAreReusedAcrossBuilds) {
  auto first = build(kBasic);
  auto second = build(std::string(kBasic) + "    t: {loadBalancer: {servers: [{url: 'http://127.0.0.1:2'}]}}\n");
  const runtime::RouteTargetPtr* a1 = nullptr;
  const runtime::RouteTargetPtr* a2 = nullptr;
  first->routes[0].table.forEach([&](auto&, auto, auto&, const runtime::RouteTargetPtr& t) { a1 = &t; });
  second->routes[0].table.forEach([&](auto&, auto, auto&, const runtime::RouteTargetPtr& t) { a2 = &t; });
  ASSERT_TRUE(a1 && a2);
  // The router's handler is the cached service itself (no middlewares), so it is shared.
  EXPECT_EQ((*a1)->handler.get(), (*a2)->handler.get());
  EXPECT_GT(second->generation, first->generation);
}

TEST_F(SnapshotBuilderTest, EntryPointRestrictionAndUnknownEntryPoint) {
  auto s = build(
      "http:\n"
      "  routers:\n"
      "    a: {rule: 'Path(`/a`)', service: s, entryPoints: [other]}\n"
      "    b: {rule: 'Path(`/b`)', service: s, entryPoints: [nowhere]}\n"
      "  services:\n"
      "    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}]}}\n");
  EXPECT_EQ(routes(*s, "web"), 0u);
  EXPECT_EQ(routes(*s, "other"), 1u);
  EXPECT_EQ(s->runtime.routers.at("b@file").status, runtime::ElementStatus::Disabled);
}

TEST_F(SnapshotBuilderTest, UnsupportedServerSchemeIsAnError) {
  auto s = build(
      "http:\n"
      "  routers:\n"
      "    a: {rule: 'Path(`/a`)', service: s}\n"
      "  services:\n"
      "    s: {loadBalancer: {servers: [{url: 'ftp://127.0.0.1:1'}]}}\n");
  EXPECT_EQ(s->runtime.services.at("s@file").status, runtime::ElementStatus::Disabled);
  EXPECT_EQ(s->runtime.routers.at("a@file").status, runtime::ElementStatus::Disabled);
}

}  // namespace
}  // namespace causeway::control
