// Dynamic configuration: `http.services.<name>` (reference §2.2), with Traefik's key names and
// defaults.
#pragma once

#include "config/box.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/decode.h"
#include "config/duration.h"

namespace causeway::config {

struct Server {
  std::string url;           // http://, https:// or h2c://
  std::optional<int> weight; // absent → 1
  bool preservePath = false; // prepend the URL path to the request path

  int effectiveWeight() const { return weight.value_or(1); }

  static void describe(auto& self, auto& v) {
    v("url", self.url);
    v("weight", self.weight);
    v("preservePath", self.preservePath);
  }
};

struct Cookie {
  std::string name; // empty → derived from the service name
  bool secure = false;
  bool httpOnly = false;
  std::string sameSite; // "", none, lax, strict
  int maxAge = 0;       // 0 = session cookie; negative = expire now
  std::string path = "/";
  std::string domain;

  static void describe(auto& self, auto& v) {
    v("name", self.name);
    v("secure", self.secure);
    v("httpOnly", self.httpOnly);
    v("sameSite", self.sameSite, OneOf{"", "none", "lax", "strict"});
    v("maxAge", self.maxAge);
    v("path", self.path);
    v("domain", self.domain);
  }
};

struct Sticky {
  std::optional<Cookie> cookie;

  static void describe(auto& self, auto& v) { v("cookie", self.cookie); }
};

struct ServerHealthCheck {
  std::string scheme;
  std::string mode = "http"; // http or grpc
  std::string path;
  std::string method; // empty → GET
  int status = 0;     // 0 → any 2xx/3xx is healthy
  int port = 0;
  std::string hostname;
  Duration interval = std::chrono::seconds(30);
  std::optional<Duration> unhealthyInterval; // absent → interval
  Duration timeout = std::chrono::seconds(5);
  std::map<std::string, std::string> headers;
  bool followRedirects = true;

  static void describe(auto& self, auto& v) {
    v("scheme", self.scheme);
    v("mode", self.mode, OneOf{"http", "grpc"});
    v("path", self.path);
    v("method", self.method);
    v("status", self.status);
    v("port", self.port);
    v("hostname", self.hostname);
    v("interval", self.interval);
    v("unhealthyInterval", self.unhealthyInterval);
    v("timeout", self.timeout);
    v("headers", self.headers);
    v("followRedirects", self.followRedirects);
  }
};

struct PassiveHealthCheck {
  Duration failureWindow = std::chrono::seconds(10);
  int maxFailedAttempts = 1;

  static void describe(auto& self, auto& v) {
    v("failureWindow", self.failureWindow);
    v("maxFailedAttempts", self.maxFailedAttempts);
  }
};

struct ResponseForwarding {
  Duration flushInterval = std::chrono::milliseconds(100); // negative = flush every write

  static void describe(auto& self, auto& v) { v("flushInterval", self.flushInterval); }
};

struct LoadBalancer {
  std::vector<Server> servers;
  std::string strategy = "wrr";
  bool passHostHeader = true;
  std::string serversTransport; // empty → default@internal
  ResponseForwarding responseForwarding;
  Box<Sticky> sticky;
  Box<ServerHealthCheck> healthCheck;
  std::optional<PassiveHealthCheck> passiveHealthCheck;

  static void describe(auto& self, auto& v) {
    v("servers", self.servers);
    v("strategy", self.strategy, OneOf{"wrr", "p2c", "hrw", "leasttime"});
    v("passHostHeader", self.passHostHeader);
    v("serversTransport", self.serversTransport);
    v("responseForwarding", self.responseForwarding);
    v("sticky", self.sticky);
    v("healthCheck", self.healthCheck);
    v("passiveHealthCheck", self.passiveHealthCheck);
  }
};

// `healthCheck: {}` on a parent service: propagate the children's health upward.
struct ParentHealthCheck {
  static void describe(auto&, auto&) {}
};

struct WeightedService {
  std::string name;
  int weight = 1;

  static void describe(auto& self, auto& v) {
    v("name", self.name);
    v("weight", self.weight);
  }
};

struct Weighted {
  std::vector<WeightedService> services;
  Box<Sticky> sticky;
  std::optional<ParentHealthCheck> healthCheck;

  static void describe(auto& self, auto& v) {
    v("services", self.services);
    v("sticky", self.sticky);
    v("healthCheck", self.healthCheck);
  }
};

struct HighestRandomWeight {
  std::vector<WeightedService> services;
  std::optional<ParentHealthCheck> healthCheck;

  static void describe(auto& self, auto& v) {
    v("services", self.services);
    v("healthCheck", self.healthCheck);
  }
};

struct Mirror {
  std::string name;
  int percent = 0; // 0 = nothing mirrored

  static void describe(auto& self, auto& v) {
    v("name", self.name);
    v("percent", self.percent);
  }
};

struct Mirroring {
  std::string service;
  bool mirrorBody = true;
  int64_t maxBodySize = -1; // -1 = unlimited
  std::vector<Mirror> mirrors;
  std::optional<ParentHealthCheck> healthCheck;

  static void describe(auto& self, auto& v) {
    v("service", self.service);
    v("mirrorBody", self.mirrorBody);
    v("maxBodySize", self.maxBodySize);
    v("mirrors", self.mirrors);
    v("healthCheck", self.healthCheck);
  }
};

struct FailoverErrors {
  std::vector<std::string> status; // e.g. "500-504"
  int64_t maxRequestBodyBytes = -1;

  static void describe(auto& self, auto& v) {
    v("status", self.status);
    v("maxRequestBodyBytes", self.maxRequestBodyBytes);
  }
};

struct Failover {
  std::string service;
  std::string fallback;
  std::optional<ParentHealthCheck> healthCheck;
  std::optional<FailoverErrors> errors;

  static void describe(auto& self, auto& v) {
    v("service", self.service);
    v("fallback", self.fallback);
    v("healthCheck", self.healthCheck);
    v("errors", self.errors);
  }
};

// Exactly one of the five kinds is set (checked by validate), plus service-level middlewares.
struct Service {
  std::optional<LoadBalancer> loadBalancer;
  Box<Weighted> weighted;
  Box<Mirroring> mirroring;
  Box<Failover> failover;
  Box<HighestRandomWeight> highestRandomWeight;
  std::vector<std::string> middlewares;

  static void describe(auto& self, auto& v) {
    v("loadBalancer", self.loadBalancer);
    v("weighted", self.weighted);
    v("mirroring", self.mirroring);
    v("failover", self.failover);
    v("highestRandomWeight", self.highestRandomWeight);
    v("middlewares", self.middlewares);
  }

  void validate(DecodeContext& context) const;
};

} // namespace causeway::config
