// The static sections metrics, accessLog and tracing, typed with Traefik's keys and defaults,
// from flags (the file and environment paths share the one decoder).
#include <gtest/gtest.h>

#include "config/static_config.h"

namespace causeway::config {
namespace {

StaticLoadResult load(const std::vector<std::string>& args) { return loadStaticConfig(args, {}, "/nonexistent"); }

std::string errors(const StaticLoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += e.toString() + "\n";
  return out;
}

TEST(ObservabilityConfigTest, DefaultsWhenSectionsArePresent) {
  auto r = load({"--entryPoints.web.address=:80", "--metrics.prometheus=true", "--accessLog=true", "--tracing=true"});
  ASSERT_TRUE(r.ok()) << errors(r);
  const auto& p = *r.config.metrics->prometheus;
  EXPECT_EQ(p.buckets, (std::vector<double>{0.1, 0.3, 1.2, 5.0}));
  EXPECT_TRUE(p.addEntryPointsLabels);
  EXPECT_FALSE(p.addRoutersLabels);
  EXPECT_TRUE(p.addServicesLabels);
  EXPECT_EQ(p.entryPoint, "traefik");
  EXPECT_FALSE(p.manualRouting);
  // As Traefik: metrics.prometheus on the `traefik` entryPoint creates it on :8080.
  ASSERT_TRUE(r.config.entryPoints.contains("traefik"));
  EXPECT_EQ(r.config.entryPoints.at("traefik").address, ":8080");
  const auto& a = *r.config.accessLog;
  EXPECT_EQ(a.format, "common");
  EXPECT_EQ(a.filePath, "");
  EXPECT_EQ(a.fields.defaultMode, "keep");
  EXPECT_EQ(a.fields.headers.defaultMode, "drop");
  EXPECT_EQ(a.fields.queryParameters.defaultMode, "keep");
  const auto& t = *r.config.tracing;
  EXPECT_EQ(t.serviceName, "traefik");
  EXPECT_EQ(t.sampleRate, 1.0);
  EXPECT_FALSE(t.otlp);  // OTLP over HTTP to https://localhost:4318 by default
}

TEST(ObservabilityConfigTest, EveryOption) {
  auto r = load({"--entryPoints.web.address=:80",
                 "--metrics.addInternals=true",
                 "--metrics.prometheus.buckets=0.05,0.5,2",
                 "--metrics.prometheus.addRoutersLabels=true",
                 "--metrics.prometheus.entryPoint=web",
                 "--metrics.prometheus.headerLabels.ua=User-Agent",
                 "--accessLog.filePath=/var/log/access.log",
                 "--accessLog.format=json",
                 "--accessLog.bufferingSize=100",
                 "--accessLog.filters.statusCodes=200,300-302",
                 "--accessLog.filters.retryAttempts=true",
                 "--accessLog.filters.minDuration=10ms",
                 "--accessLog.fields.defaultMode=drop",
                 "--accessLog.fields.names.ClientUsername=keep",
                 "--accessLog.fields.headers.defaultMode=keep",
                 "--accessLog.fields.headers.names.User-Agent=redact",
                 "--tracing.serviceName=edge",
                 "--tracing.sampleRate=0.25",
                 "--tracing.capturedRequestHeaders=X-Id",
                 "--tracing.resourceAttributes.env=prod",
                 "--tracing.otlp.http.endpoint=http://collector:4318/v1/traces",
                 "--tracing.otlp.http.headers.Authorization=Bearer x",
                 "--tracing.otlp.http.tls.insecureSkipVerify=true"});
  ASSERT_TRUE(r.ok()) << errors(r);
  EXPECT_FALSE(r.config.entryPoints.contains("traefik"));  // metrics live on `web`
  EXPECT_TRUE(r.config.metrics->addInternals);
  EXPECT_EQ(r.config.metrics->prometheus->buckets, (std::vector<double>{0.05, 0.5, 2}));
  EXPECT_EQ(r.config.metrics->prometheus->headerLabels.at("ua"), "User-Agent");
  const auto& a = *r.config.accessLog;
  EXPECT_EQ(a.bufferingSize, 100);
  EXPECT_EQ(a.filters->statusCodes, (std::vector<std::string>{"200", "300-302"}));
  EXPECT_EQ(a.filters->minDuration.value, std::chrono::milliseconds(10));
  EXPECT_EQ(a.fields.names.at("ClientUsername"), "keep");
  EXPECT_EQ(a.fields.headers.names.at("User-Agent"), "redact");
  const auto& t = *r.config.tracing;
  EXPECT_EQ(t.sampleRate, 0.25);
  EXPECT_EQ(t.resourceAttributes.at("env"), "prod");
  EXPECT_EQ(t.otlp->http->endpoint, "http://collector:4318/v1/traces");
  EXPECT_EQ(t.otlp->http->headers.at("Authorization"), "Bearer x");
  EXPECT_TRUE(t.otlp->http->tls->insecureSkipVerify);
}

TEST(ObservabilityConfigTest, ManualRoutingNeedsNoImplicitEntryPointAndBadValuesAreErrors) {
  auto manual = load({"--entryPoints.web.address=:80", "--metrics.prometheus.manualRouting=true"});
  ASSERT_TRUE(manual.ok()) << errors(manual);
  EXPECT_FALSE(manual.config.entryPoints.contains("traefik"));
  auto bad = load({"--entryPoints.web.address=:80", "--tracing.sampleRate=2", "--metrics.prometheus.buckets=1,0.5",
                   "--metrics.prometheus.headerLabels.0bad=X", "--accessLog.nope=1"});
  EXPECT_EQ(bad.errors.size(), 4u) << errors(bad);
}

}  // namespace
}  // namespace causeway::config
