// The text exposition → OTLP/JSON conversion behind metrics.otlp (observe/otlp_metrics.h).
#include "observe/otlp_metrics.h"

#include <gtest/gtest.h>

using causeway::observe::prometheusTextToOtlpJson;

TEST(OtlpMetrics, CountersGaugesAndHistograms) {
  std::string text =
      "# HELP traefik_entrypoint_requests_total How many HTTP requests processed on an entrypoint.\n"
      "# TYPE traefik_entrypoint_requests_total counter\n"
      "traefik_entrypoint_requests_total{code=\"200\",entrypoint=\"web\",method=\"GET\",protocol=\"http\"} 5\n"
      "# TYPE traefik_config_last_reload_success gauge\n"
      "traefik_config_last_reload_success 1.7e+09\n"
      "# TYPE traefik_service_request_duration_seconds histogram\n"
      "traefik_service_request_duration_seconds_bucket{service=\"a\\\"b\",le=\"0.5\"} 3\n"
      "traefik_service_request_duration_seconds_bucket{service=\"a\\\"b\",le=\"1\"} 4\n"
      "traefik_service_request_duration_seconds_bucket{service=\"a\\\"b\",le=\"+Inf\"} 6\n"
      "traefik_service_request_duration_seconds_sum{service=\"a\\\"b\"} 7.25\n"
      "traefik_service_request_duration_seconds_count{service=\"a\\\"b\"} 6\n";
  std::string json = prometheusTextToOtlpJson(text, "[]", "scope", 10, 20);
  EXPECT_NE(json.find("{\"name\":\"traefik_entrypoint_requests_total\",\"sum\":{\"aggregationTemporality\":2,"
                      "\"isMonotonic\":true,\"dataPoints\":[{\"attributes\":[{\"key\":\"code\",\"value\":{"
                      "\"stringValue\":\"200\"}}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"asDouble\":5}"), std::string::npos) << json;
  EXPECT_NE(json.find("\"gauge\":{\"dataPoints\":[{\"attributes\":[],\"startTimeUnixNano\":\"10\",\"timeUnixNano\":"
                      "\"20\",\"asDouble\":1.7e+09}]}"),
            std::string::npos)
      << json;
  // Cumulative buckets become per-bucket counts; +Inf is the last count, not a bound; the
  // escaped quote in a label value survives.
  EXPECT_NE(json.find("\"stringValue\":\"a\\\"b\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"count\":\"6\",\"sum\":7.25,\"bucketCounts\":[\"3\",\"1\",\"2\"],\"explicitBounds\":[0.5,1]"),
            std::string::npos)
      << json;
}

TEST(OtlpMetrics, EmptyExposition) {
  EXPECT_EQ(prometheusTextToOtlpJson("", "[]", "s", 1, 2),
            "{\"resourceMetrics\":[{\"resource\":{\"attributes\":[]},\"scopeMetrics\":[{\"scope\":{\"name\":\"s\"},"
            "\"metrics\":[]}]}]}");
}
