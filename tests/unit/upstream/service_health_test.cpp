#include <gtest/gtest.h>

#include <functional>

#include "upstream/health/probe.h"
#include "upstream/health/registry.h"
#include "upstream/health/state.h"

namespace causeway::upstream {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// --- passive health: a fake clock drives the failure window ----------------------------

TEST(PassiveHealth, OneFailureTakesTheServerOutForTheWindow) {
  ServerHealth health("s@file", "http://a");
  PassiveHealthOptions options;  // Traefik defaults: 1 attempt, 10s
  Clock::time_point t0{seconds(1000)};
  EXPECT_TRUE(health.upAt(t0));
  EXPECT_TRUE(health.recordFailure(t0, options));
  EXPECT_FALSE(health.upAt(t0));
  EXPECT_FALSE(health.upAt(t0 + seconds(9)));
  EXPECT_TRUE(health.upAt(t0 + seconds(10)));
  EXPECT_TRUE(health.activeUp());
}

TEST(PassiveHealth, ConsecutiveFailuresWithinTheWindow) {
  ServerHealth health("s@file", "http://a");
  PassiveHealthOptions options;
  options.maxFailedAttempts = 3;
  options.failureWindow = seconds(2);
  Clock::time_point t0{seconds(1000)};
  EXPECT_FALSE(health.recordFailure(t0, options));
  EXPECT_FALSE(health.recordFailure(t0 + milliseconds(500), options));
  // A success clears the count.
  health.recordSuccess();
  EXPECT_FALSE(health.recordFailure(t0 + seconds(1), options));
  EXPECT_FALSE(health.recordFailure(t0 + milliseconds(1500), options));
  // Failures older than the window do not count.
  EXPECT_FALSE(health.recordFailure(t0 + milliseconds(3100), options));
  EXPECT_TRUE(health.upAt(t0 + milliseconds(3100)));
  EXPECT_FALSE(health.recordFailure(t0 + milliseconds(3600), options));  // 1.5 s is out now
  EXPECT_TRUE(health.recordFailure(t0 + milliseconds(3700), options));
  EXPECT_FALSE(health.upAt(t0 + milliseconds(3700)));
  EXPECT_TRUE(health.passivelyDownAt(t0 + milliseconds(5699)));
  EXPECT_TRUE(health.upAt(t0 + milliseconds(5700)));
}

TEST(PassiveHealth, RunningWindowIsNotExtended) {
  ServerHealth health("s@file", "http://a");
  PassiveHealthOptions options;
  options.failureWindow = seconds(10);
  Clock::time_point t0{seconds(1000)};
  EXPECT_TRUE(health.recordFailure(t0, options));
  EXPECT_FALSE(health.recordFailure(t0 + seconds(5), options));  // a late in-flight failure
  EXPECT_TRUE(health.upAt(t0 + seconds(10)));
  EXPECT_TRUE(health.clearPassiveWindow(t0 + seconds(10)));
  EXPECT_FALSE(health.clearPassiveWindow(t0 + seconds(11)));
}

TEST(PassiveHealth, WithActiveCheckStaysDownUntilTheCheckSaysUp) {
  ServerHealth health("s@file", "http://a");
  PassiveHealthOptions options;
  options.activeCheck = true;
  Clock::time_point t0{seconds(1000)};
  EXPECT_TRUE(health.recordFailure(t0, options));
  EXPECT_FALSE(health.upAt(t0 + seconds(3600)));
  EXPECT_TRUE(health.setActiveUp(true));
  EXPECT_TRUE(health.upAt(t0 + seconds(1)));
  EXPECT_FALSE(health.setActiveUp(true));  // no change
}

// --- health check URL (Traefik's newRequest) ----------------------------------------------

ProbeConfig probeFor(const std::string& server, config::ServerHealthCheck check) {
  ProbeConfig probe;
  std::string error;
  std::vector<std::string> warnings;
  EXPECT_TRUE(makeProbeConfig(check, server, probe, error, warnings)) << error;
  return probe;
}

TEST(ProbeConfig, PathSchemeAndPort) {
  config::ServerHealthCheck check;
  check.path = "/health?full=1";
  EXPECT_EQ(probeFor("http://10.0.0.1:8080/base/", check).url,
            "http://10.0.0.1:8080/health?full=1");
  check.path = "health";
  EXPECT_EQ(probeFor("http://10.0.0.1:8080/base/", check).url, "http://10.0.0.1:8080/base/health");
  check.port = 9000;
  check.scheme = "http";
  EXPECT_EQ(probeFor("http://backend/x", check).url, "http://backend:9000/health");
  auto probe = probeFor("http://backend", check);
  EXPECT_EQ(probe.method, "GET");
  EXPECT_EQ(probe.interval, seconds(30));
  EXPECT_EQ(probe.unhealthyInterval, seconds(30));
  EXPECT_EQ(probe.timeout, seconds(5));
  EXPECT_TRUE(probe.followRedirects);
  check.interval = seconds(10);
  EXPECT_EQ(probeFor("http://backend", check).unhealthyInterval, seconds(10));  // = interval
  check.unhealthyInterval = config::Duration(seconds(2));
  EXPECT_EQ(probeFor("http://backend", check).unhealthyInterval, seconds(2));
}

TEST(ProbeConfig, AbsolutePathIsAnErrorAndHeadersAreCanonical) {
  config::ServerHealthCheck check;
  check.path = "http://elsewhere/health";
  ProbeConfig probe;
  std::string error;
  std::vector<std::string> warnings;
  EXPECT_FALSE(makeProbeConfig(check, "http://backend", probe, error, warnings));
  EXPECT_NE(error.find("relative URL"), std::string::npos);
  check.path = "/h";
  check.headers["x-custom-header"] = "v";
  check.interval = seconds(0);
  ASSERT_TRUE(makeProbeConfig(check, "http://backend", probe, error, warnings));
  ASSERT_EQ(probe.headers.size(), 1u);
  EXPECT_EQ(probe.headers[0].first, "X-Custom-Header");
  EXPECT_EQ(probe.interval, seconds(30));
  EXPECT_EQ(warnings.size(), 1u);
}

// --- probes against a small loopback server ----------------------------------------------

// Answers every request with respond(head) and closes; records the heads.
class TinyServer {
 public:
  TinyServer(asio::io_context& io, std::function<std::string(const std::string&)> respond)
      : acceptor_(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)),
        respond_(std::move(respond)) {
    asio::co_spawn(io, accept(), asio::detached);
  }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::vector<std::string> heads;

 private:
  awaitable<void> accept() {
    while (true) {
      auto [ec, socket] = co_await acceptor_.async_accept(nothrow);
      if (ec) co_return;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        auto [readError, n] = co_await socket.async_read_some(asio::buffer(buf), nothrow);
        if (readError) break;
        head.append(buf, n);
      }
      heads.push_back(head);
      std::string answer = respond_(head);
      co_await asio::async_write(socket, asio::buffer(answer), nothrow);
      error_code ignored;
      socket.shutdown(tcp::socket::shutdown_both, ignored);
    }
  }
  tcp::acceptor acceptor_;
  std::function<std::string(const std::string&)> respond_;
};

std::string answer(int status, const std::string& extra = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 0\r\n" + extra + "\r\n";
}

std::string probe(asio::io_context& io, const ProbeConfig& config) {
  std::string result = "not run";
  asio::co_spawn(io, runProbe(io.get_executor(), config),
                 [&](std::exception_ptr e, std::string r) { result = e ? "exception" : r; });
  io.restart();
  auto deadline = Clock::now() + seconds(5);
  while (result == "not run" && Clock::now() < deadline)
    io.run_one_for(milliseconds(50));
  return result;
}

TEST(Probe, StatusRulesHeadersAndHostname) {
  asio::io_context io;
  int status = 200;
  TinyServer server(io, [&](const std::string&) { return answer(status); });
  config::ServerHealthCheck check;
  check.path = "/health";
  check.hostname = "health.test";
  check.headers["X-Probe"] = "1";
  ProbeConfig config = probeFor("http://127.0.0.1:" + std::to_string(server.port()), check);
  EXPECT_EQ(probe(io, config), "");
  ASSERT_EQ(server.heads.size(), 1u);
  EXPECT_EQ(server.heads[0].rfind("GET /health HTTP/1.1\r\n", 0), 0u) << server.heads[0];
  EXPECT_NE(server.heads[0].find("Host: health.test\r\n"), std::string::npos);
  EXPECT_NE(server.heads[0].find("X-Probe: 1\r\n"), std::string::npos);
  status = 302;  // 3xx without Location: healthy
  EXPECT_EQ(probe(io, config), "");
  status = 500;
  EXPECT_EQ(probe(io, config), "received error status code: 500");
  status = 204;
  config.status = 204;
  EXPECT_EQ(probe(io, config), "");
  status = 200;
  EXPECT_EQ(probe(io, config), "received error status code: 200 expected status code: 204");
}

TEST(Probe, RedirectsFollowedOrNot) {
  asio::io_context io;
  TinyServer server(io, [&](const std::string& head) {
    if (head.rfind("GET /health ", 0) == 0) return answer(301, "Location: /moved\r\n");
    return answer(503);
  });
  config::ServerHealthCheck check;
  check.path = "/health";
  ProbeConfig config = probeFor("http://127.0.0.1:" + std::to_string(server.port()), check);
  EXPECT_EQ(probe(io, config), "received error status code: 503");
  ASSERT_EQ(server.heads.size(), 2u);
  EXPECT_EQ(server.heads[1].rfind("GET /moved HTTP/1.1\r\n", 0), 0u);
  config.followRedirects = false;
  EXPECT_EQ(probe(io, config), "");  // the 301 itself is healthy
}

TEST(Probe, RefusedAndTimeout) {
  asio::io_context io;
  tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));  // never accepts
  uint16_t port = silent.local_endpoint().port();
  config::ServerHealthCheck check;
  check.path = "/";
  check.timeout = milliseconds(200);
  auto started = Clock::now();
  std::string result = probe(io, probeFor("http://127.0.0.1:" + std::to_string(port), check));
  EXPECT_EQ(result, "timeout after 200ms");
  EXPECT_LT(Clock::now() - started, seconds(2));
  silent.close();
  EXPECT_NE(probe(io, probeFor("http://127.0.0.1:" + std::to_string(port), check)).find("dial"),
            std::string::npos);
}

// --- the registry: checks once per server, state kept across builds ---------------------

TEST(HealthRegistry, ChecksTransitionsAndSurvivingBuilds) {
  asio::io_context io;
  int status = 200;
  TinyServer server(io, [&](const std::string&) { return answer(status); });
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  config::ServerHealthCheck check;
  check.path = "/health";
  check.interval = milliseconds(20);
  HealthRegistry registry(io);

  registry.beginBuild();
  ServerHealthPtr health = registry.server("s@file", url);
  registry.setActiveCheck("s@file", url, probeFor(url, check));
  registry.commitBuild();
  EXPECT_EQ(registry.activeChecks(), 1u);
  EXPECT_EQ(registry.serverStatus("s@file").at(url), "UP");

  status = 500;
  io.run_for(milliseconds(150));
  EXPECT_FALSE(health->up());
  EXPECT_EQ(registry.serverStatus("s@file").at(url), "DOWN");
  size_t checks = server.heads.size();
  EXPECT_GE(checks, 3u);
  EXPECT_LE(checks, 9u);  // one loop, about every 20 ms

  // A reload with the same configuration keeps the entry and its state.
  registry.beginBuild();
  EXPECT_EQ(registry.server("s@file", url), health);
  registry.setActiveCheck("s@file", url, probeFor(url, check));
  registry.commitBuild();
  EXPECT_FALSE(health->up());
  EXPECT_EQ(registry.activeChecks(), 1u);

  status = 200;
  io.run_for(milliseconds(100));
  EXPECT_TRUE(health->up());

  // Removing the health check stops it; removing the server drops its entry.
  registry.beginBuild();
  registry.server("s@file", url);
  registry.setActiveCheck("s@file", url, std::nullopt);
  registry.commitBuild();
  EXPECT_EQ(registry.activeChecks(), 0u);
  // A check already on the wire when it was removed may still arrive; nothing after it.
  size_t before = server.heads.size();
  io.run_for(milliseconds(80));
  EXPECT_LE(server.heads.size(), before + 1);
  before = server.heads.size();
  io.run_for(milliseconds(80));
  EXPECT_EQ(server.heads.size(), before);
  registry.beginBuild();
  registry.commitBuild();
  EXPECT_TRUE(registry.serverStatus("s@file").empty());
}

}  // namespace
}  // namespace causeway::upstream
