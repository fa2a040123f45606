
#include <gtest/gtest.h>

#include "admin/api_json.h"
#include "admin/json_encode.h"
#include "config/parse.h"
#include "control/server.h"
#include "control/snapshot_builder.h"

namespace causeway::admin {
namespace {

namespace json = boost::json;

TEST(JsonEncode, OmitsEmptyFieldsAsGoOmitempty) {
  config::Server server;
  server.url = "http://a";
  EXPECT_EQ(json::serialize(toJsonObject(server)), R"j({"url":"http://a"})j");
  server.weight = 0;  // a present optional is shown even when zero (a Go pointer)
  server.preservePath = true;
  EXPECT_EQ(json::serialize(toJsonObject(server)), R"j({"url":"http://a","weight":0,"preservePath":true})j");
  config::ServerHealthCheck check;
  check.path = "/health";
  json::object out = toJsonObject(check);
  EXPECT_EQ(out.at("interval").as_string(), "30s");  // durations as Go writes them
  EXPECT_EQ(out.at("timeout").as_string(), "5s");
  EXPECT_FALSE(out.contains("port"));     // zero
  EXPECT_FALSE(out.contains("headers"));  // empty map
  config::Weighted weighted;
  weighted.healthCheck.emplace();  // `healthCheck: {}` is meaningful: shown
  EXPECT_EQ(json::serialize(toJsonObject(weighted)), R"j({"healthCheck":{}})j");
}

TEST(JsonEncode, RawNodesGetTypedScalarsExceptStringFields) {
  auto parsed = config::parseYaml(
      "rateLimit: {average: 100, burst: '50', period: 1s, ratio: 0.5, zero: 007, on: true}\n"
      "headers: {customRequestHeaders: {X-A: '1', X-B: 'true'}}\n"
      "errors: {status: ['404', '500-599'], query: '/{status}'}\n",
      "m.yml");
  json::value v = nodeToJson(parsed.root);
  EXPECT_EQ(json::serialize(v.at("rateLimit")),
            R"j({"average":100,"burst":50,"period":"1s","ratio":5E-1,"zero":"007","on":true})j");
  EXPECT_EQ(json::serialize(v.at("headers")), R"j({"customRequestHeaders":{"X-A":"1","X-B":"true"}})j");
  EXPECT_EQ(json::serialize(v.at("errors")), R"j({"status":["404","500-599"],"query":"/{status}"})j");
}

TEST(JsonEncode, Rfc3339NanoLikeGo) {
  std::chrono::system_clock::time_point t{std::chrono::seconds(1700000000)};
  EXPECT_EQ(rfc3339Nano(t), "2023-11-14T22:13:20Z");
  EXPECT_EQ(rfc3339Nano(t + std::chrono::milliseconds(120)), "2023-11-14T22:13:20.12Z");
  EXPECT_EQ(rfc3339Nano(t + std::chrono::nanoseconds(5)), "2023-11-14T22:13:20.000000005Z");
}

class ApiJsonTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto loaded = config::parseYaml(
        "entryPoints:\n"
        "  web: {address: '127.0.0.1:0'}\n"
        "  traefik: {address: '127.0.0.1:0'}\n"
        "api: {insecure: true}\n"
        "accessLog: {}\n"
        "metrics: {prometheus: {}}\n"
        "providers: {file: {directory: /tmp}}\n",
        "static.yml");
    config::DecodeContext context;
    config::decode(loaded.root, static_, context);
    ASSERT_TRUE(context.errors().empty());
    std::vector<config::ConfigError> errors;
    entryPoints_ = control::resolveEntryPoints(static_, errors);
    ASSERT_TRUE(errors.empty());
    auto parsed = config::parseYaml(
        "http:\n"
        "  routers:\n"
        "    a: {rule: 'Host(`a.test`)', service: s, middlewares: [p, missing]}\n"
        "    b: {rule: 'Host(`b.test`)', service: s, entryPoints: [web, nowhere], priority: 7, tls: {}}\n"
        "    c: {rule: 'Host(`c.test`)', service: s, middlewares: [p]}\n"
        "  services:\n"
        "    s: {loadBalancer: {servers: [{url: 'http://127.0.0.1:1'}, {url: 'http://127.0.0.1:2'}]}}\n"
        "  middlewares:\n"
        "    p: {addPrefix: {prefix: /x}}\n",
        "dynamic.yml");
    control::BuildInputs inputs;
    inputs.staticConfig = &static_;
    inputs.entryPoints = &entryPoints_;
    inputs.terminating = &terminating_;
    inputs.providers["file"] = std::make_shared<config::DynamicConfig>(config::decodeDynamic(parsed.root, errors));
    snapshot_ = builder_.build(inputs);
  }

  json::object router(const std::string& name) {
    return routerJson(*snapshot_, name, snapshot_->runtime.routers.at(name));
  }

  config::StaticConfig static_;
  std::vector<runtime::EntryPoint> entryPoints_;
  std::atomic<bool> terminating_{false};
  control::SnapshotBuilder builder_;
  runtime::SnapshotPtr snapshot_;
};

TEST_F(ApiJsonTest, RouterRepresentation) {
  json::object c = router("c@file");
  EXPECT_EQ(json::serialize(c),
            R"j({"rule":"Host(`c.test`)","middlewares":["p"],"service":"s","entryPoints":["web"],)j"
            R"j("status":"enabled","name":"c@file","provider":"file","using":["web"],"priorityStr":"0"})j");
  json::object a = router("a@file");
  EXPECT_EQ(a.at("status").as_string(), "disabled");
  ASSERT_EQ(a.at("error").as_array().size(), 1u);
  EXPECT_NE(std::string(a.at("error").as_array()[0].as_string()).find("middleware \"missing@file\" does not exist"),
            std::string::npos);
  json::object b = router("b@file");
  EXPECT_EQ(b.at("status").as_string(), "warning");
  EXPECT_EQ(json::serialize(b.at("entryPoints")), R"j(["web","nowhere"])j");
  EXPECT_EQ(json::serialize(b.at("using")), R"j(["web"])j");
  EXPECT_EQ(json::serialize(b.at("tls")), R"j({"options":"default"})j");
  EXPECT_EQ(b.at("priority").as_int64(), 7);
  EXPECT_EQ(b.at("priorityStr").as_string(), "7");
  json::object api = router("api@internal");
  EXPECT_EQ(api.at("rule").as_string(), "PathPrefix(`/api`)");
  EXPECT_EQ(api.at("priorityStr").as_string(), "9223372036854775806");
  EXPECT_EQ(api.at("provider").as_string(), "internal");
}

TEST_F(ApiJsonTest, ServiceRepresentationWithServerStatusAndUsedBy) {
  json::object s = serviceJson(*snapshot_, "s@file", snapshot_->runtime.services.at("s@file"));
  EXPECT_EQ(s.at("type").as_string(), "loadbalancer");
  EXPECT_EQ(json::serialize(s.at("usedBy")), R"j(["a@file","b@file","c@file"])j");  // sorted, once each
  EXPECT_EQ(json::serialize(s.at("serverStatus")),
            R"j({"http://127.0.0.1:1":"UP","http://127.0.0.1:2":"UP"})j");
  EXPECT_EQ(s.at("loadBalancer").at("passHostHeader").as_bool(), true);
  json::object noop = serviceJson(*snapshot_, "noop@internal", snapshot_->runtime.services.at("noop@internal"));
  EXPECT_EQ(json::serialize(noop), R"j({"status":"enabled","name":"noop@internal","provider":"internal"})j");
}

TEST_F(ApiJsonTest, MiddlewareRepresentation) {
  json::object p = middlewareJson(*snapshot_, "p@file", snapshot_->runtime.middlewares.at("p@file"));
  EXPECT_EQ(json::serialize(p),
            R"j({"addPrefix":{"prefix":"/x"},"status":"enabled","name":"p@file","provider":"file",)j"
            R"j("usedBy":["a@file","c@file"],"type":"addprefix"})j");
  json::object strip = middlewareJson(*snapshot_, "dashboard_stripprefix@internal",
                                      snapshot_->runtime.middlewares.at("dashboard_stripprefix@internal"));
  EXPECT_EQ(json::serialize(strip.at("stripPrefix")), R"j({"prefixes":["/dashboard/","/dashboard"]})j");
  EXPECT_EQ(json::serialize(strip.at("usedBy")), R"j(["dashboard@internal"])j");
}

TEST_F(ApiJsonTest, OverviewRawDataEntryPointAndVersion) {
  json::object o = overviewJson(*snapshot_, static_);
  // a disabled, b warning; the others (c and causeway's own) enabled.
  json::object routers = o.at("http").at("routers").as_object();
  EXPECT_EQ(routers.at("total").to_number<size_t>(), snapshot_->runtime.routers.size());
  EXPECT_EQ(routers.at("warnings").to_number<int>(), 1);
  EXPECT_EQ(routers.at("errors").to_number<int>(), 1);
  EXPECT_EQ(json::serialize(o.at("features")), R"j({"tracing":"","metrics":"Prometheus","accessLog":true})j");
  EXPECT_EQ(json::serialize(o.at("providers")), R"j(["File"])j");
  EXPECT_EQ(json::serialize(o.at("udp")),
            R"j({"routers":{"total":0,"warnings":0,"errors":0},"services":{"total":0,"warnings":0,"errors":0}})j");
  json::object raw = rawDataJson(*snapshot_);
  EXPECT_FALSE(raw.at("routers").at("c@file").as_object().contains("name"));
  EXPECT_EQ(raw.at("services").at("s@file").at("serverStatus").as_object().size(), 2u);
  json::object web = entryPointJson("web", static_.entryPoints.at("web"));
  EXPECT_EQ(web.at("name").as_string(), "web");
  EXPECT_EQ(web.at("address").as_string(), "127.0.0.1:0");
  json::object version = versionJson(static_, std::chrono::system_clock::time_point{});
  EXPECT_EQ(version.at("startDate").as_string(), "1970-01-01T00:00:00Z");
  EXPECT_TRUE(version.contains("Version") && version.contains("Codename"));
}

}  // namespace
}  // namespace causeway::admin
