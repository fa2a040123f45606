
#include <gtest/gtest.h>

#include <thread>

#include "observe/metrics.h"
#include "observe/series_table.h"
#include "runtime/snapshot.h"

namespace causeway::observe {
namespace {

RequestSample get(std::string_view router = "web@file", std::string_view service = "app@file", int code = 200,
                  uint64_t durationNanos = 50'000'000) {
  RequestSample s;
  s.entryPoint = 0;
  s.method = methodId("GET");
  s.code = code;
  s.router = router;
  s.service = service;
  s.upstreamService = service;  // proxied by the router's own loadBalancer service
  s.durationNanos = durationNanos;
  s.upstreamNanos = durationNanos;
  s.requestBytes = 10;
  s.responseBytes = 100;
  return s;
}

bool has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

ScrapeInputs plain() {
  ScrapeInputs in;
  in.processMetrics = false;
  return in;
}

TEST(MetricsTest, CountersHistogramsAndBytesPerGroup) {
  MetricsOptions options;
  options.routers = true;
  Metrics m(options, {"web"}, 2);
  m.record(0, get());
  m.record(1, get());
  m.record(1, get("web@file", "app@file", 200, 700'000'000));
  m.record(0, get("web@file", "app@file", 404));
  std::string text = m.render(plain());
  const std::string ep = "{code=\"200\",entrypoint=\"web\",method=\"GET\",protocol=\"http\"";
  EXPECT_TRUE(has(text, "traefik_entrypoint_requests_total" + ep + "} 3")) << text;
  EXPECT_TRUE(has(text, "traefik_entrypoint_requests_total{code=\"404\",entrypoint=\"web\",method=\"GET\",protocol=\"http\"} 1"));
  EXPECT_TRUE(has(text, "traefik_entrypoint_request_duration_seconds_bucket" + ep + ",le=\"0.1\"} 2"));
  EXPECT_TRUE(has(text, "traefik_entrypoint_request_duration_seconds_bucket" + ep + ",le=\"0.3\"} 2"));
  EXPECT_TRUE(has(text, "traefik_entrypoint_request_duration_seconds_bucket" + ep + ",le=\"1.2\"} 3"));
  EXPECT_TRUE(has(text, "traefik_entrypoint_request_duration_seconds_bucket" + ep + ",le=\"+Inf\"} 3"));
  EXPECT_TRUE(has(text, "traefik_entrypoint_request_duration_seconds_sum" + ep + "} 0.8"));
  EXPECT_TRUE(has(text, "traefik_entrypoint_request_duration_seconds_count" + ep + "} 3"));
  EXPECT_TRUE(has(text, "traefik_entrypoint_requests_bytes_total" + ep + "} 30"));
  EXPECT_TRUE(has(text, "traefik_entrypoint_responses_bytes_total" + ep + "} 300"));
  EXPECT_TRUE(has(text, "traefik_router_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",router=\"web@file\","
                        "service=\"app@file\"} 3"));
  EXPECT_TRUE(has(text, "traefik_service_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",service=\"app@file\"} 3"));
  EXPECT_TRUE(has(text, "# TYPE traefik_service_request_duration_seconds histogram"));
  EXPECT_TRUE(has(text, "traefik_config_reloads_total 0"));
}

TEST(MetricsTest, DefaultsLeaveRoutersOutAndCustomBuckets) {
  MetricsOptions options;
  options.buckets = {0.01, 2.5};
  Metrics m(options, {"web"}, 1);
  m.record(0, get("r@file", "s@file", 200, 5'000'000));
  std::string text = m.render(plain());
  EXPECT_EQ(text.find("traefik_router_"), std::string::npos);
  EXPECT_TRUE(has(text, "traefik_service_request_duration_seconds_bucket{code=\"200\",method=\"GET\",protocol=\"http\","
                        "service=\"s@file\",le=\"0.01\"} 1"));
  EXPECT_TRUE(has(text, "traefik_service_request_duration_seconds_bucket{code=\"200\",method=\"GET\",protocol=\"http\","
                        "service=\"s@file\",le=\"2.5\"} 1"));
}

TEST(MetricsTest, ServiceSeriesNameTheLoadBalancerThatProxiedWithItsOwnDuration) {
  MetricsOptions options;
  options.routers = true;
  Metrics m(options, {"web"}, 1);
  RequestSample nested = get("web@file", "split@file", 200, 900'000'000);
  nested.upstreamService = "a@file";
  nested.upstreamNanos = 50'000'000;
  m.record(0, nested);
  RequestSample answered = get("web@file", "split@file", 403);
  answered.upstreamService = {};  // a middleware answered
  m.record(0, answered);
  std::string text = m.render(plain());
  EXPECT_TRUE(has(text, "traefik_router_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",router=\"web@file\","
                        "service=\"split@file\"} 1")) << text;
  EXPECT_TRUE(has(text, "traefik_router_requests_total{code=\"403\",method=\"GET\",protocol=\"http\",router=\"web@file\","
                        "service=\"split@file\"} 1"));
  EXPECT_TRUE(has(text, "traefik_service_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",service=\"a@file\"} 1"));
  EXPECT_TRUE(has(text, "traefik_service_request_duration_seconds_sum{code=\"200\",method=\"GET\",protocol=\"http\","
                        "service=\"a@file\"} 0.05"));
  EXPECT_EQ(text.find("traefik_service_requests_total{code=\"403\""), std::string::npos);
  EXPECT_EQ(text.find("traefik_service_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",service=\"split@file\""),
            std::string::npos);
}

TEST(MetricsTest, UnroutedRequestsCountOnTheEntryPointOnly) {
  Metrics m(MetricsOptions{}, {"web", "websecure"}, 1);
  RequestSample s = get("", "", 404);
  s.entryPoint = 1;
  s.method = methodId("BREW");
  m.record(0, s);
  std::string text = m.render(plain());
  EXPECT_TRUE(has(text, "traefik_entrypoint_requests_total{code=\"404\",entrypoint=\"websecure\","
                        "method=\"EXTENSION_METHOD\",protocol=\"http\"} 1"));
  EXPECT_EQ(text.find("traefik_service_requests_total"), std::string::npos);
}

TEST(MetricsTest, HeaderLabelsOnRequestCounters) {
  MetricsOptions options;
  options.headerLabels = {{"useragent", "User-Agent"}, {"host", "X-Forwarded-Host"}};
  Metrics m(options, {"web"}, 1);
  http::Headers headers;
  headers.add("User-Agent", "curl");
  headers.add("X-Forwarded-Host", "a.example");
  RequestSample s = get();
  s.headers = &headers;
  m.record(0, s);
  m.record(0, s);
  http::Headers other;
  s.headers = &other;
  m.record(0, s);
  std::string text = m.render(plain());
  EXPECT_TRUE(has(text, "traefik_entrypoint_requests_total{code=\"200\",entrypoint=\"web\",host=\"a.example\","
                        "method=\"GET\",protocol=\"http\",useragent=\"curl\"} 2"))
      << text;
  EXPECT_TRUE(has(text, "traefik_service_requests_total{code=\"200\",host=\"\",method=\"GET\",protocol=\"http\","
                        "service=\"app@file\",useragent=\"\"} 1"));
  // Histograms keep the base labels only.
  EXPECT_TRUE(has(text, "traefik_entrypoint_request_duration_seconds_count{code=\"200\",entrypoint=\"web\","
                        "method=\"GET\",protocol=\"http\"} 3"));
}

TEST(MetricsTest, TlsRetriesAndProtocols) {
  Metrics m(MetricsOptions{}, {"websecure"}, 1);
  RequestSample s = get();
  s.tls = true;
  s.tlsVersion = "TLS 1.3";
  s.tlsCipher = "TLS_AES_128_GCM_SHA256";
  s.retries = 2;
  s.protocol = Protocol::Grpc;
  s.code = 0;
  m.record(0, s);
  s.tlsVersion = "TLS 1.2";
  s.tlsCipher = "ECDHE-RSA-AES128-GCM-SHA256";
  s.protocol = Protocol::Websocket;
  s.code = 101;
  m.record(0, s);
  std::string text = m.render(plain());
  EXPECT_TRUE(has(text, "traefik_entrypoint_requests_tls_total{entrypoint=\"websecure\","
                        "tls_cipher=\"TLS_AES_128_GCM_SHA256\",tls_version=\"1.3\"} 1"))
      << text;
  EXPECT_TRUE(has(text, "traefik_service_requests_tls_total{service=\"app@file\","
                        "tls_cipher=\"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\",tls_version=\"1.2\"} 1"));
  EXPECT_TRUE(has(text, "traefik_service_retries_total{service=\"app@file\"} 4"));
  EXPECT_TRUE(has(text, "traefik_service_requests_total{code=\"0\",method=\"GET\",protocol=\"grpc\",service=\"app@file\"} 1"));
  EXPECT_TRUE(has(text, "traefik_service_requests_total{code=\"101\",method=\"GET\",protocol=\"websocket\","
                        "service=\"app@file\"} 1"));
}

TEST(MetricsTest, GaugesFromTheScrapeAndGoneElementsHidden) {
  Metrics m(MetricsOptions{}, {"web"}, 1);
  m.record(0, get("old@file", "gone@file"));
  m.record(0, get("new@file", "kept@file"));
  m.configReloaded(1700000000);
  runtime::Snapshot snapshot;
  snapshot.runtime.routers["new@file"];
  snapshot.runtime.services["kept@file"];
  ScrapeInputs in = plain();
  in.snapshot = &snapshot;
  in.openConnections = {{{"web", "TCP"}, 3}};
  in.serverStatus = [](const std::string& service) {
    std::map<std::string, std::string> out;
    if (service == "kept@file") out = {{"http://a:80", "UP"}, {"http://b:80", "DOWN"}};
    return out;
  };
  std::string text = m.render(in);
  EXPECT_TRUE(has(text, "traefik_config_reloads_total 1"));
  EXPECT_TRUE(has(text, "traefik_config_last_reload_success 1.7e+09"));
  EXPECT_TRUE(has(text, "traefik_open_connections{entrypoint=\"web\",protocol=\"TCP\"} 3"));
  EXPECT_TRUE(has(text, "traefik_service_server_up{service=\"kept@file\",url=\"http://a:80\"} 1"));
  EXPECT_TRUE(has(text, "traefik_service_server_up{service=\"kept@file\",url=\"http://b:80\"} 0"));
  EXPECT_EQ(text.find("gone@file"), std::string::npos);
  EXPECT_NE(text.find("kept@file"), std::string::npos);
}

TEST(MetricsTest, ScrapeWhileWorkersCount) {
  Metrics m(MetricsOptions{}, {"web"}, 2);
  std::atomic<int> running{2};
  std::thread w0([&] {
    for (int i = 0; i < 20000; ++i) m.record(0, get("r@file", "s" + std::to_string(i % 300) + "@file", 200 + i % 7));
    --running;
  });
  std::thread w1([&] {
    for (int i = 0; i < 20000; ++i) m.record(1, get("r@file", "s@file", 200));
    --running;
  });
  do {  // scrapes race the workers until both are done
    std::string text = m.render(plain());
    EXPECT_NE(text.find("traefik_config_reloads_total"), std::string::npos);
  } while (running > 0);
  w0.join();
  w1.join();
  std::string text = m.render(plain());
  EXPECT_NE(text.find("s299@file"), std::string::npos);
  EXPECT_TRUE(has(text, "traefik_service_requests_total{code=\"200\",method=\"GET\",protocol=\"http\",service=\"s@file\"} "
                        "20000"));
}

TEST(LabelInterningTest, NamesGetStableIdsAndReusedAddressesAreChecked) {
  NameInterner names(4);
  std::string a = "router-a@file";
  uint32_t id = names.id(a);
  EXPECT_EQ(names.id(a), id);
  EXPECT_EQ(names.id(std::string("router-a@file")), id);
  a.replace(0, 8, "router-b");  // same address, other content
  uint32_t other = names.id(a);
  EXPECT_NE(other, id);
  EXPECT_EQ(names.name(other), "router-b@file");
  EXPECT_EQ(names.id("x"), 2u);
  EXPECT_EQ(names.id("y"), 3u);
  EXPECT_EQ(names.id("z"), NameInterner::kFull);
  EXPECT_EQ(names.id(""), NameInterner::kFull);
  EXPECT_EQ(names.id("x"), 2u);
}

TEST(LabelInterningTest, KeyIndexGrows) {
  KeyIndex index;
  for (uint64_t k = 0; k < 10000; ++k) index.insert(k * 131071, uint32_t(k));
  for (uint64_t k = 0; k < 10000; ++k) {
    const uint32_t* v = index.find(k * 131071);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(*v, k);
  }
  EXPECT_EQ(index.find(7), nullptr);
  EXPECT_EQ(index.size(), 10000u);
}

TEST(LabelInterningTest, SeriesTableIsBounded) {
  SeriesTable table(2, 3);
  for (uint64_t k = 0; k < 3; ++k) ASSERT_NE(table.create(k, "k=\"" + std::to_string(k) + "\"", {}, {}), nullptr);
  EXPECT_EQ(table.create(9, "k=\"9\"", {}, {}), nullptr);
  EXPECT_EQ(table.dropped(), 1u);
  SeriesTable::add(table.find(1)[1], 5);
  size_t seen = 0;
  table.forEach([&](const SeriesTable::Series& s) {
    ++seen;
    if (s.labels == "k=\"1\"") EXPECT_EQ(s.values[1].load(), 5u);
  });
  EXPECT_EQ(seen, 3u);
}

TEST(RequestFactsTest, MethodsProtocolsAndGrpcStatus) {
  EXPECT_EQ(methodName(methodId("PATCH")), "PATCH");
  EXPECT_EQ(methodName(methodId("PROPFIND")), "EXTENSION_METHOD");
  exchange::Request r;
  r.headers.add("Content-Type", "application/grpc+proto");
  EXPECT_EQ(requestProtocol(r), Protocol::Grpc);
  r.headers.set("Content-Type", "application/grpc-web-text");
  EXPECT_EQ(requestProtocol(r), Protocol::GrpcWeb);
  r.headers.set("Content-Type", "text/plain");
  r.headers.add("Accept", "text/html, Text/Event-Stream");
  EXPECT_EQ(requestProtocol(r), Protocol::Sse);
  r.headers.add("Connection", "keep-alive, Upgrade");
  r.headers.add("Upgrade", "websocket");
  EXPECT_EQ(requestProtocol(r), Protocol::Websocket);
  exchange::Response response;
  EXPECT_EQ(grpcStatus(response), 2);
  response.headers.add("Grpc-Status", "14");
  EXPECT_EQ(grpcStatus(response), 14);
  EXPECT_EQ(tlsVersionLabel("TLS 1.2"), "1.2");
  EXPECT_EQ(cipherLabel("ECDHE-ECDSA-CHACHA20-POLY1305"), "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(cipherLabel("NOT-A-CIPHER"), "unknown");
  EXPECT_EQ(splitHostPort("[::1]:8080"), (std::pair<std::string_view, std::string_view>{"::1", "8080"}));
  EXPECT_EQ(splitHostPort("example.com"), (std::pair<std::string_view, std::string_view>{"example.com", "-"}));
}

}  // namespace
}  // namespace causeway::observe
