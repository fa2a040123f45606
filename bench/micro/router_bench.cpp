// Router micro-benchmarks: rule compilation, and route-table lookups with one router, with
// 10,000 Host() routers (hit on the last added, and a miss), and with a table of PathPrefix
// routers that have no host.

#include <benchmark/benchmark.h>
#include <string>
#include <variant>

#include "router/route_table.h"
#include "router/rule.h"

namespace {

using causeway::router::CompiledRulePtr;
using causeway::router::compileRule;
using causeway::router::MatchInput;
using causeway::router::RouteTable;
using causeway::router::RuleSyntax;

CompiledRulePtr compile(const std::string& rule) {
  auto result = compileRule(rule, RuleSyntax::V3);
  if (auto* compiled = std::get_if<CompiledRulePtr>(&result)) return *compiled;
  std::abort();
}

std::string hostRule(int i) {
  return "Host(`service" + std::to_string(i) + ".example.com`) && PathPrefix(`/`)";
}

void BM_CompileRule(benchmark::State& state) {
  const std::string rule =
      "Host(`api.example.com`) && (PathPrefix(`/v1`) || PathPrefix(`/v2`)) && Method(`GET`)";
  for (auto _ : state)
    benchmark::DoNotOptimize(compileRule(rule, RuleSyntax::V3));
}
BENCHMARK(BM_CompileRule);

void BM_CompileRegexpRule(benchmark::State& state) {
  const std::string rule =
      R"(HostRegexp(`^[a-z]+\.example\.com$`) && PathRegexp(`^/api/v[0-9]+/`))";
  for (auto _ : state)
    benchmark::DoNotOptimize(compileRule(rule, RuleSyntax::V3));
}
BENCHMARK(BM_CompileRegexpRule);

void BM_MatchOneRouter(benchmark::State& state) {
  RouteTable<int> table;
  table.add(compile(hostRule(0)), 1, "r0", 0);
  table.build();
  MatchInput input;
  input.host = "service0.example.com";
  input.path = "/index.html";
  input.method = "GET";
  for (auto _ : state)
    benchmark::DoNotOptimize(table.match(input));
}
BENCHMARK(BM_MatchOneRouter);

RouteTable<int>& tenThousandHosts() {
  static RouteTable<int> table = [] {
    RouteTable<int> t;
    for (int i = 0; i < 10000; ++i) {
      std::string rule = hostRule(i);
      t.add(compile(rule), int64_t(rule.size()), "r" + std::to_string(i), i);
    }
    t.build();
    return t;
  }();
  return table;
}

void BM_Match10kHostsLastAdded(benchmark::State& state) {
  const RouteTable<int>& table = tenThousandHosts();
  MatchInput input;
  input.host = "service9999.example.com";
  input.path = "/index.html";
  input.method = "GET";
  for (auto _ : state)
    benchmark::DoNotOptimize(table.match(input));
}
BENCHMARK(BM_Match10kHostsLastAdded);

void BM_Match10kHostsMiss(benchmark::State& state) {
  const RouteTable<int>& table = tenThousandHosts();
  MatchInput input;
  input.host = "unknown.example.com";
  input.path = "/index.html";
  input.method = "GET";
  for (auto _ : state)
    benchmark::DoNotOptimize(table.match(input));
}
BENCHMARK(BM_Match10kHostsMiss);

// N PathPrefix routers without a host; the request hits the lowest-priority one, so every
// router is tried (the cost such a table inherently has).
void BM_MatchPathPrefixTable(benchmark::State& state) {
  RouteTable<int> table;
  int routers = int(state.range(0));
  for (int i = 0; i < routers; ++i)
    table.add(compile("PathPrefix(`/service" + std::to_string(i) + "/`)"), routers - i,
              "p" + std::to_string(i), i);
  table.build();
  std::string path = "/service" + std::to_string(routers - 1) + "/items/42";
  MatchInput input;
  input.host = "example.com";
  input.path = path;
  input.method = "GET";
  for (auto _ : state)
    benchmark::DoNotOptimize(table.match(input));
}
BENCHMARK(BM_MatchPathPrefixTable)->Arg(10)->Arg(100)->Arg(1000);

void BM_MatchQueryRegexpRule(benchmark::State& state) {
  CompiledRulePtr rule = compile("Path(`/search`) && QueryRegexp(`q`, `^[a-z ]+$`)");
  MatchInput input;
  input.path = "/search";
  input.rawQuery = "page=2&q=hello+world";
  for (auto _ : state)
    benchmark::DoNotOptimize(rule->matches(input));
}
BENCHMARK(BM_MatchQueryRegexpRule);

} // namespace
