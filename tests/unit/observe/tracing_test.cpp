#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "config/static_config.h"
#include "observe/otlp_json.h"
#include "observe/trace_context.h"
#include "observe/tracer.h"
#include "runtime/entry_point.h"
#include "runtime/worker.h"

namespace causeway::observe {
namespace {

namespace json = boost::json;

std::string hex(const uint8_t* data, size_t size) {
  std::string out;
  appendHex(out, data, size);
  return out;
}

TEST(TraceparentTest, ParsesValidHeaders) {
  ParentContext p;
  ASSERT_TRUE(parseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", p));
  EXPECT_EQ(hex(p.traceId.data(), 16), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(hex(p.spanId.data(), 8), "b7ad6b7169203331");
  EXPECT_TRUE(p.sampled);
  ASSERT_TRUE(parseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00", p));
  EXPECT_FALSE(p.sampled);
  // A future version may append fields after a dash.
  EXPECT_TRUE(parseTraceparent("01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03-extra", p));
  EXPECT_TRUE(p.sampled);
}

TEST(TraceparentTest, RejectsInvalidHeaders) {
  ParentContext p;
  for (std::string_view bad : {
           "",
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",            // no flags
           "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",         // upper case
           "00-00000000000000000000000000000000-b7ad6b7169203331-01",         // zero trace id
           "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",         // zero span id
           "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",         // version ff
           "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",   // v00 is exact
           "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
           "00-0af7651916cd43dd8448eb211c80319g-b7ad6b7169203331-01",
           "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x",
       })
    EXPECT_FALSE(parseTraceparent(bad, p)) << bad;
}

TEST(TraceparentTest, FormatsForTheUpstream) {
  ParentContext p;
  ASSERT_TRUE(parseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", p));
  std::string out;
  appendTraceparent(out, p.traceId, p.spanId, false);
  EXPECT_EQ(out, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");
  EXPECT_EQ(acceptableTracestate("congo=t61rcWkgMzE"), "congo=t61rcWkgMzE");
  EXPECT_EQ(acceptableTracestate("bad\nvalue"), "");
  EXPECT_EQ(acceptableTracestate(std::string(600, 'a')), "");
}

TEST(SamplerTest, TraceIdRatioBased) {
  exchange::TraceId low{}, high{};
  low[15] = 1;
  high.fill(0xff);
  EXPECT_TRUE(sampleByRatio(high, 1.0));
  EXPECT_FALSE(sampleByRatio(low, 0.0));
  EXPECT_TRUE(sampleByRatio(low, 0.001));
  EXPECT_FALSE(sampleByRatio(high, 0.999));
  // The upper half of the id space is sampled at 0.5 only below the threshold.
  exchange::TraceId mid{};
  mid[8] = 0x7f;
  EXPECT_TRUE(sampleByRatio(mid, 0.5));
  mid[8] = 0x80;
  EXPECT_FALSE(sampleByRatio(mid, 0.5));
  IdGenerator ids;
  int sampled = 0;
  for (int i = 0; i < 10000; ++i) sampled += sampleByRatio(ids.traceId(), 0.25);
  EXPECT_GT(sampled, 2200);
  EXPECT_LT(sampled, 2800);
}

TEST(RedactQueryTest, ValuesRedactedUnlessSafeKeysSorted) {
  EXPECT_EQ(redactQuery("b=2&a=1&token=s3cr%20t", {"a"}), "a=1&b=REDACTED&token=REDACTED");
  EXPECT_EQ(redactQuery("q=hello+world&q=again", {"q"}), "q=hello+world&q=again");
  EXPECT_EQ(redactQuery("", {}), "");
  EXPECT_EQ(redactQuery("flag", {}), "flag=REDACTED");
}

TEST(OtlpJsonTest, SpanAndExportRequestAreValidJson) {
  std::string spans;
  exchange::TraceId trace{};
  trace[0] = 0xab;
  exchange::SpanId span{}, parent{};
  span[7] = 1;
  parent[7] = 2;
  SpanJson s(spans);
  s.begin(trace, span, &parent, "k=v", "GET", SpanKind::Server, 1000, 2000);
  s.attribute("entry_point", "web");
  s.attribute("client.port", int64_t(5678));
  s.attribute("http.request.header.x-a", std::vector<std::string_view>{"1", "2"});
  s.end(2);
  std::string body;
  appendExportRequest(body, resourceAttributesJson({{"service.name", "traefik"}}), "github.com/traefik/traefik", spans);
  json::object o = json::parse(body).as_object();
  const auto& rs = o.at("resourceSpans").as_array().at(0).as_object();
  EXPECT_EQ(rs.at("resource").at("attributes").at(0).at("value").at("stringValue").as_string(), "traefik");
  const auto& ss = rs.at("scopeSpans").as_array().at(0).as_object();
  EXPECT_EQ(ss.at("scope").at("name").as_string(), "github.com/traefik/traefik");
  const auto& sp = ss.at("spans").as_array().at(0).as_object();
  EXPECT_EQ(sp.at("traceId").as_string(), "ab000000000000000000000000000000");
  EXPECT_EQ(sp.at("spanId").as_string(), "0000000000000001");
  EXPECT_EQ(sp.at("parentSpanId").as_string(), "0000000000000002");
  EXPECT_EQ(sp.at("traceState").as_string(), "k=v");
  EXPECT_EQ(sp.at("kind").as_int64(), 2);
  EXPECT_EQ(sp.at("startTimeUnixNano").as_string(), "1000");
  EXPECT_EQ(sp.at("status").at("code").as_int64(), 2);
  EXPECT_EQ(sp.at("attributes").at(1).at("value").at("intValue").as_string(), "5678");
  EXPECT_EQ(sp.at("attributes").at(2).at("value").at("arrayValue").at("values").as_array().size(), 2u);
}

// The tracer on a real exchange: context continued from the client, the upstream's parent,
// span names, kinds, parents and attributes.
class TracerExchangeTest : public ::testing::Test {
 protected:
  TracerExchangeTest() : worker_(0, snapshots_, observers_, entryPoints_.size()) {
    info_.entryPoint = &entryPoints_[0];
    info_.peerIpText = "192.0.2.9";
    info_.peerPort = 40000;
    info_.peerAddress = "192.0.2.9:40000";
  }
  static std::vector<runtime::EntryPoint> entryPoints() {
    std::vector<runtime::EntryPoint> eps(1);
    eps[0].name = "web";
    return eps;
  }
  std::vector<runtime::EntryPoint> entryPoints_ = entryPoints();
  runtime::SnapshotHolder snapshots_;
  runtime::Observers observers_;
  runtime::Worker worker_;
  Arena arena_;
  exchange::ConnectionInfo info_;
};

TEST_F(TracerExchangeTest, ContinuesTheClientTraceAndNamesTheUpstreamParent) {
  TracerOptions options;
  options.capturedRequestHeaders = {"X-Request-Id"};
  options.capturedResponseHeaders = {"content-type"};
  Tracer tracer(options, nullptr, 1);
  exchange::Exchange ex(worker_, arena_, info_);
  ex.record.start = std::chrono::steady_clock::now();
  ex.record.startWall = std::chrono::system_clock::now();
  ex.request.method = "GET";
  ex.request.path = "/api";
  ex.request.query = "token=abc";
  ex.request.hasQuery = true;
  ex.request.authority = "app.example";
  ex.request.headers.add("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  ex.request.headers.add("X-Request-Id", "r-1");
  exchange::ExchangeNotes notes;
  notes.path = ex.request.path;
  notes.query = ex.request.query;
  notes.hasQuery = true;
  tracer.onRequest(ex, notes);
  ASSERT_TRUE(notes.traced);
  EXPECT_TRUE(notes.sampled);
  std::string upstream(ex.request.headers.get("traceparent"));
  EXPECT_EQ(upstream, "00-0af7651916cd43dd8448eb211c80319c-" + hex(notes.clientSpan.data(), 8) + "-01");

  ex.record.routerName = "api@file";
  ex.record.serviceName = "api@file";
  ex.record.serviceUrl = "http://10.0.0.1:9000";
  ex.record.originStart = ex.record.start + std::chrono::microseconds(100);
  ex.record.originEnd = ex.record.start + std::chrono::microseconds(900);
  ex.record.originStatus = 503;
  ex.response.status = 503;
  ex.response.headers.add("Content-Type", "text/plain");
  std::string out = "[";
  uint8_t count = tracer.encode(ex, notes, false, 0, out);
  out += "]";
  ASSERT_EQ(count, 2);
  json::array spans = json::parse(out).as_array();
  auto attr = [](const json::value& span, std::string_view key) -> json::value {
    for (const auto& a : span.at("attributes").as_array())
      if (a.at("key").as_string() == key) return a.at("value");
    return nullptr;
  };
  const json::value& server = spans[0];
  EXPECT_EQ(server.at("name").as_string(), "GET");
  EXPECT_EQ(server.at("kind").as_int64(), 2);
  EXPECT_EQ(server.at("traceId").as_string(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_EQ(server.at("parentSpanId").as_string(), "b7ad6b7169203331");
  EXPECT_EQ(attr(server, "entry_point").at("stringValue").as_string(), "web");
  EXPECT_EQ(attr(server, "url.query").at("stringValue").as_string(), "token=REDACTED");
  EXPECT_EQ(attr(server, "client.port").at("intValue").as_string(), "40000");
  EXPECT_EQ(attr(server, "http.request.header.x-request-id").at("arrayValue").at("values").at(0).at("stringValue"),
            "r-1");
  EXPECT_EQ(attr(server, "http.response.header.content-type").at("arrayValue").at("values").at(0).at("stringValue"),
            "text/plain");
  EXPECT_EQ(server.at("status").at("code").as_int64(), 2);  // 5xx on a server span
  const json::value& proxy = spans[1];
  EXPECT_EQ(proxy.at("name").as_string(), "ReverseProxy");
  EXPECT_EQ(proxy.at("kind").as_int64(), 3);
  EXPECT_EQ(proxy.at("spanId").as_string(), hex(notes.clientSpan.data(), 8));
  EXPECT_EQ(proxy.at("parentSpanId").as_string(), server.at("spanId").as_string());
  EXPECT_EQ(attr(proxy, "url.full").at("stringValue").as_string(), "http://10.0.0.1:9000/api?token=REDACTED");
  EXPECT_EQ(attr(proxy, "server.port").at("intValue").as_string(), "9000");
  EXPECT_EQ(attr(proxy, "http.response.status_code").at("intValue").as_string(), "503");
}

TEST_F(TracerExchangeTest, DetailedAddsRouterAndServiceSpansAndRatioZeroSamplesNothing) {
  TracerOptions options;
  options.sampleRate = 0;
  Tracer tracer(options, nullptr, 1);
  exchange::Exchange ex(worker_, arena_, info_);
  ex.request.method = "POST";
  exchange::ExchangeNotes notes;
  tracer.onRequest(ex, notes);
  EXPECT_TRUE(notes.traced);
  EXPECT_FALSE(notes.sampled);
  EXPECT_TRUE(ex.request.headers.get("traceparent").ends_with("-00"));
  EXPECT_FALSE(notes.hasRemoteParent);

  ex.record.routerName = "r@file";
  ex.record.serviceName = "s@file";
  std::string out = "[";
  uint8_t count = tracer.encode(ex, notes, true, 0, out);
  out += "]";
  ASSERT_EQ(count, 3);  // no upstream call: no ReverseProxy span
  json::array spans = json::parse(out).as_array();
  EXPECT_FALSE(spans[0].as_object().contains("parentSpanId"));
  EXPECT_EQ(spans[1].at("name").as_string(), "Router");
  EXPECT_EQ(spans[1].at("kind").as_int64(), 1);
  EXPECT_EQ(spans[1].at("parentSpanId").as_string(), spans[0].at("spanId").as_string());
  EXPECT_EQ(spans[2].at("name").as_string(), "Service");
  EXPECT_EQ(spans[2].at("parentSpanId").as_string(), spans[1].at("spanId").as_string());
}

TEST_F(TracerExchangeTest, DetailedMiddlewareSpansNestAndAnAnsweringMiddlewareEndsTheTrace) {
  Tracer tracer({}, nullptr, 1);
  exchange::Exchange ex(worker_, arena_, info_);
  ex.record.start = std::chrono::steady_clock::now();
  ex.record.startWall = std::chrono::system_clock::now();
  ex.request.method = "GET";
  exchange::ExchangeNotes notes;
  tracer.onRequest(ex, notes);
  ASSERT_TRUE(notes.sampled);
  ex.record.routerName = "r@file";
  ex.record.serviceName = "s@file";
  const auto t0 = ex.record.start;
  exchange::MiddlewareSpanRecord records[2] = {
      {"outer@file", "Headers", t0 + std::chrono::microseconds(1), t0 + std::chrono::microseconds(50), -1},
      {"inner@file", "RateLimiter", t0 + std::chrono::microseconds(2), t0 + std::chrono::microseconds(40), 0}};
  notes.middlewareSpans = records;
  notes.middlewareSpanCount = 2;
  auto encode = [&] {
    std::string out = "[";
    tracer.encode(ex, notes, true, 0, out);
    out += "]";
    return json::parse(out).as_array();
  };
  // The innermost middleware answered: no Service span.
  json::array spans = encode();
  ASSERT_EQ(spans.size(), 4u);
  EXPECT_EQ(spans[2].at("name").as_string(), "Headers");
  EXPECT_EQ(spans[2].at("parentSpanId").as_string(), spans[1].at("spanId").as_string());
  EXPECT_EQ(spans[3].at("name").as_string(), "RateLimiter");
  EXPECT_EQ(spans[3].at("parentSpanId").as_string(), spans[2].at("spanId").as_string());
  EXPECT_NE(spans[3].at("spanId").as_string(), spans[2].at("spanId").as_string());
  EXPECT_EQ(spans[3].at("attributes").at(0).at("value").at("stringValue").as_string(), "inner@file");
  // It called the service: Service is the child of the innermost middleware.
  notes.serviceParent = 1;
  notes.serviceStart = t0 + std::chrono::microseconds(3);
  spans = encode();
  ASSERT_EQ(spans.size(), 5u);
  EXPECT_EQ(spans[4].at("name").as_string(), "Service");
  EXPECT_EQ(spans[4].at("parentSpanId").as_string(), spans[3].at("spanId").as_string());
}

}  // namespace
}  // namespace causeway::observe
