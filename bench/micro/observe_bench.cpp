// Micro-benchmarks of the per-request cost of observability (src/observe): counting a request
// into the Prometheus metrics, the whole observer with metrics only, and formatting and
// queueing an access-log line (common and JSON), and tracing a sampled request.
#include <benchmark/benchmark.h>

#include "config/dynamic_config.h"
#include "config/static_config.h"
#include "core/arena.h"
#include "observe/access_log.h"
#include "observe/metrics.h"
#include "observe/observability.h"
#include "observe/tracer.h"
#include "runtime/entry_point.h"
#include "runtime/snapshot.h"
#include "runtime/worker.h"

namespace {

using namespace causeway;

// A finished proxied request on a real Exchange (the observers read nothing else).
struct ExchangeFixture {
  static std::vector<runtime::EntryPoint> entryPoints() {
    std::vector<runtime::EntryPoint> eps(1);
    eps[0].name = "web";
    return eps;
  }
  ExchangeFixture() : worker(0, snapshots, observers, entryPointList.size()) {
    // The snapshot a request pins: the router's own observability options are looked up in it.
    auto file = std::make_shared<config::DynamicConfig>();
    file->http.routers["app"];
    snapshot.configs["file"] = file;
    snapshot.runtime.routers["app@file"].rule = "Host(`app.example.com`)";
    info.entryPoint = &entryPointList[0];
    info.peerIpText = "192.0.2.1";
    info.peerPort = 51000;
    info.peerAddress = "192.0.2.1:51000";
  }
  void fill(exchange::Exchange& ex) {
    ex.snapshot = &snapshot;
    ex.record.start = std::chrono::steady_clock::now();
    ex.record.startWall = std::chrono::system_clock::now();
    auto& r = ex.request;
    r.method = "GET";
    r.path = "/api/v1/users";
    r.query = "id=42";
    r.hasQuery = true;
    r.authority = "app.example.com";
    r.headers.add("Host", "app.example.com");
    r.headers.add("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36");
    r.headers.add("Accept", "text/html,application/xhtml+xml");
    r.headers.add("Accept-Encoding", "gzip, deflate, br");
    r.headers.add("X-Forwarded-Proto", "http");
    r.headers.add("X-Forwarded-Host", "app.example.com");
    r.headers.add("X-Real-Ip", "192.0.2.1");
    ex.record.routerName = "app@file";
    ex.record.serviceName = "app@file";
    ex.record.serviceUrl = "http://10.0.0.7:8080";
    ex.record.originStart = ex.record.start;
    ex.record.originEnd = ex.record.start;
    ex.record.originStatus = 200;
    ex.record.responseBytes = 1234;
    ex.response.status = 200;
    ex.response.headers.add("Content-Type", "application/json");
    ex.response.headers.add("Content-Length", "1234");
  }
  std::vector<runtime::EntryPoint> entryPointList = entryPoints();
  runtime::SnapshotHolder snapshots;
  runtime::Observers observers;
  runtime::Worker worker;
  exchange::ConnectionInfo info;
  runtime::Snapshot snapshot;
  Arena arena;
};

void BM_MetricsRecord(benchmark::State& state) {
  observe::MetricsOptions options;
  options.routers = true;
  observe::Metrics metrics(options, {"web"}, 1);
  observe::RequestSample s;
  s.method = observe::methodId("GET");
  s.code = 200;
  s.router = "app@file";
  s.service = "app@file";
  s.durationNanos = 1'500'000;
  s.responseBytes = 1234;
  for (auto _ : state) {
    metrics.record(0, s);
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_MetricsRecord);

std::shared_ptr<observe::Observability> make(const config::StaticConfig& c, ExchangeFixture& f) {
  std::vector<std::string> warnings, errors;
  auto o = observe::Observability::create(c, f.entryPointList, 1, warnings, errors);
  std::string error;
  o->start(error);
  return o;
}

void runObserver(benchmark::State& state, const config::StaticConfig& c) {
  ExchangeFixture f;
  auto observer = make(c, f);
  for (auto _ : state) {
    exchange::Exchange ex(f.worker, f.arena, f.info);
    f.fill(ex);
    observer->onRequest(ex);
    observer->onComplete(ex);
    f.arena.reset();
  }
  observer->stop();
}

// The baseline: building the exchange alone (subtract it from the others).
void BM_ExchangeOnly(benchmark::State& state) {
  ExchangeFixture f;
  for (auto _ : state) {
    exchange::Exchange ex(f.worker, f.arena, f.info);
    f.fill(ex);
    benchmark::DoNotOptimize(ex.record.start);
    f.arena.reset();
  }
}
BENCHMARK(BM_ExchangeOnly);

void BM_ObserverMetrics(benchmark::State& state) {
  config::StaticConfig c;
  c.metrics.emplace();
  c.metrics->prometheus.emplace();
  runObserver(state, c);
}
BENCHMARK(BM_ObserverMetrics);

void BM_ObserverAccessLogCommon(benchmark::State& state) {
  config::StaticConfig c;
  c.accessLog.emplace();
  c.accessLog->filePath = "/dev/null";
  runObserver(state, c);
}
BENCHMARK(BM_ObserverAccessLogCommon);

void BM_ObserverAccessLogJson(benchmark::State& state) {
  config::StaticConfig c;
  c.accessLog.emplace();
  c.accessLog->filePath = "/dev/null";
  c.accessLog->format = "json";
  runObserver(state, c);
}
BENCHMARK(BM_ObserverAccessLogJson);

void BM_ObserverMetricsAndAccessLog(benchmark::State& state) {
  config::StaticConfig c;
  c.metrics.emplace();
  c.metrics->prometheus.emplace();
  c.accessLog.emplace();
  c.accessLog->filePath = "/dev/null";
  runObserver(state, c);
}
BENCHMARK(BM_ObserverMetricsAndAccessLog);

// A sampled request: ids, the upstream traceparent, and its two spans encoded (not exported).
void BM_TracingSampledEncode(benchmark::State& state) {
  ExchangeFixture f;
  observe::Tracer tracer(observe::TracerOptions{}, nullptr, 1);
  std::string out;
  for (auto _ : state) {
    exchange::Exchange ex(f.worker, f.arena, f.info);
    f.fill(ex);
    exchange::ExchangeNotes notes;
    notes.path = ex.request.path;
    tracer.onRequest(ex, notes);
    out.clear();
    benchmark::DoNotOptimize(tracer.encode(ex, notes, false, 0, out));
    f.arena.reset();
  }
}
BENCHMARK(BM_TracingSampledEncode);

}  // namespace
