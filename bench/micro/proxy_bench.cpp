// Micro-benchmarks of the per-request work around the parser and the router: header
// hygiene (X-Forwarded-*, hop-by-hop), the upstream request head, and the upstream pool.
#include <benchmark/benchmark.h>

#include "core/arena.h"
#include "downstream/forwarded_headers.h"
#include "http/h1/parser.h"
#include "runtime/entry_point.h"
#include "upstream/connection_pool.h"
#include "upstream/h1_client.h"

namespace {

using namespace causeway;

constexpr std::string_view kBrowserRequest =
    "GET /api/v1/users?id=42 HTTP/1.1\r\n"
    "Host: app.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36\r\n"
    "Accept: text/html,application/xhtml+xml\r\n"
    "Accept-Language: en-US,en;q=0.9\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=abc123; theme=dark\r\n"
    "X-Forwarded-For: 10.0.0.1\r\n"
    "\r\n";

struct Fixture {
  runtime::EntryPoint entryPoint;
  exchange::ConnectionInfo connection;
  upstream::UpstreamEndpoint endpoint;
  Fixture() {
    entryPoint.name = "web";
    connection.peerIpText = "127.0.0.1";
    connection.peerIp = *net::IpAddress::parse("127.0.0.1");
    std::string error;
    upstream::makeEndpoint("http://127.0.0.1:8081", std::make_shared<upstream::Transport>(), endpoint, error);
  }
};

void fillRequest(const http::h1::RequestHead& head, exchange::Request& r) {
  r.method = head.method;
  r.path = head.uri.path;
  r.rawPath = head.uri.path;
  r.query = head.uri.query;
  r.hasQuery = head.uri.hasQuery;
  r.authority = head.host;
  r.host = "app.example.com";
  r.headers = head.headers;
}

void BM_ForwardedHeaders(benchmark::State& state) {
  Fixture f;
  Arena arena;
  http::h1::RequestHead head;
  http::h1::ParseError error;
  http::h1::parseRequestHead(kBrowserRequest, {}, head, error);
  exchange::Request request;
  for (auto _ : state) {
    fillRequest(head, request);
    downstream::applyForwardedHeaders(request, arena, f.connection, f.entryPoint);
    benchmark::DoNotOptimize(request.headers.size());
    arena.reset();
  }
}
BENCHMARK(BM_ForwardedHeaders);

void BM_SerializeUpstreamHead(benchmark::State& state) {
  Fixture f;
  Arena arena;
  http::h1::RequestHead head;
  http::h1::ParseError error;
  http::h1::parseRequestHead(kBrowserRequest, {}, head, error);
  exchange::Request request;
  fillRequest(head, request);
  downstream::applyForwardedHeaders(request, arena, f.connection, f.entryPoint);
  std::string out;
  upstream::ForwardOptions options;
  for (auto _ : state) {
    upstream::serializeRequestHead(request, f.connection, f.endpoint, options, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations() * out.size()));
}
BENCHMARK(BM_SerializeUpstreamHead);

// Parse + header hygiene + upstream head: the user-space work of a request's way in.
void BM_RequestWayIn(benchmark::State& state) {
  Fixture f;
  Arena arena;
  http::h1::RequestHead head;
  http::h1::ParseError error;
  exchange::Request request;
  std::string out;
  upstream::ForwardOptions options;
  for (auto _ : state) {
    http::h1::parseRequestHead(kBrowserRequest, {}, head, error);
    fillRequest(head, request);
    downstream::applyForwardedHeaders(request, arena, f.connection, f.entryPoint);
    upstream::serializeRequestHead(request, f.connection, f.endpoint, options, out);
    benchmark::DoNotOptimize(out.data());
    arena.reset();
  }
}
BENCHMARK(BM_RequestWayIn);

// Taking an idle connection from the pool and giving it back (a keep-alive request's cost).
void BM_UpstreamPoolReuse(benchmark::State& state) {
  asio::io_context io(1);
  io::Watchdog watchdog;
  upstream::UpstreamPool pool(io, watchdog);
  Fixture f;
  f.endpoint.poolId = f.endpoint.transport->poolIdFor("bench");
  pool.release(f.endpoint, std::make_unique<upstream::UpstreamConnection>(io));
  for (auto _ : state) {
    upstream::Acquired acquired = pool.takeIdle(f.endpoint);
    pool.release(f.endpoint, std::move(acquired.connection));
  }
}
BENCHMARK(BM_UpstreamPoolReuse);

void BM_ArenaCopies(benchmark::State& state) {
  Arena arena;
  for (auto _ : state) {
    for (int i = 0; i < 16; ++i) benchmark::DoNotOptimize(arena.copy("x-forwarded-host: example.com"));
    arena.reset();
  }
}
BENCHMARK(BM_ArenaCopies);

}  // namespace
