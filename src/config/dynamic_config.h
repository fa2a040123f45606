// Dynamic ("routing") configuration (reference §2), decoded per provider from the generic tree.
// Routers, services, middlewares and servers transports are Element<T>s: an element with
// errors carries them and is disabled later; its siblings decode normally.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/api_management.h"
#include "config/config_error.h"
#include "config/decode.h"
#include "config/domain.h"
#include "config/dynamic_service.h"
#include "config/dynamic_tcp.h"
#include "config/dynamic_udp.h"
#include "config/dynamic_tls.h"
#include "config/node.h"
#include "config/router_tls.h"
#include "config/servers_transport.h"

namespace causeway::config {

// Unset flags inherit the entry point's observability defaults.
struct RouterObservability {
  std::optional<bool> accessLogs;
  std::optional<bool> metrics;
  std::optional<bool> tracing;
  std::string traceVerbosity = "minimal";

  static void describe(auto& self, auto& v) {
    v("accessLogs", self.accessLogs);
    v("metrics", self.metrics);
    v("tracing", self.tracing);
    v("traceVerbosity", self.traceVerbosity, OneOf{"minimal", "detailed"});
  }
};

// The message of a service with none of the service types (Traefik: `the service "x@file"
// does not have any type defined`).
inline constexpr std::string_view kServiceWithoutType = "does not have any type defined";

// causeway extension: per-router timeouts (Traefik has entryPoint and transport timeouts only;
// traefik/traefik#10962). Zero leaves the entryPoint's or the transport's.
struct RouterTimeouts {
  Duration requestBody;     // the whole request body must arrive within this (408)
  Duration responseHeader;  // the upstream's response head within this (504)
  Duration exchange;        // from the request head to the end of the response (504, or cut)
  Duration idle;            // HTTP/1.1: keep-alive idle time after this router's response

  static void describe(auto& self, auto& v) {
    v("requestBody", self.requestBody);
    v("responseHeader", self.responseHeader);
    v("exchange", self.exchange);
    v("idle", self.idle);
  }
};

struct Router {
  std::string rule;
  Box<std::string> ruleSyntax;  // absent → core.defaultRuleSyntax (boxed: rarely set, and a
                                // configuration of 10,000 routers holds one for each)
  int64_t priority = 0;                  // 0 → length of the rule
  std::vector<std::string> entryPoints;  // empty → the default entry points
  std::vector<std::string> middlewares;
  std::string service;
  Box<RouterTls> tls; // present → TLS-only router
  Box<RouterObservability> observability;
  std::vector<std::string> parentRefs; // multi-layer routing
  // causeway extensions (Traefik reports these keys as unknown; docs/compatibility.md):
  Box<int64_t> maxRequestBodyBytes;  // a larger request body gets 413 before the upstream sees it
  Box<RouterTimeouts> timeouts;

  static void describe(auto& self, auto& v) {
    v("rule", self.rule);
    v("ruleSyntax", self.ruleSyntax, OneOf{"v3", "v2"});
    v("priority", self.priority);
    v("entryPoints", self.entryPoints);
    v("middlewares", self.middlewares);
    v("service", self.service);
    v("tls", self.tls);
    v("observability", self.observability);
    v("parentRefs", self.parentRefs);
    v("maxRequestBodyBytes", self.maxRequestBodyBytes);
    v("timeouts", self.timeouts);
  }

  void validate(DecodeContext& context) const {
    if (maxRequestBodyBytes && *maxRequestBodyBytes < 0) context.error("maxRequestBodyBytes must be 0 or more");
  }
};

// A middleware is a map with exactly one key, its type (e.g. `stripPrefix`, matched
// case-insensitively by the middleware registry), whose value holds its options, kept raw.
struct Middleware {
  std::string type; // as written
  Node options;

  void decodeNode(const Node& node, DecodeContext& context);
};

struct HttpConfig {
  std::map<std::string, Element<Router>> routers;
  std::map<std::string, Element<Service>> services;
  std::map<std::string, Element<Middleware>> middlewares;
  std::map<std::string, Element<ServersTransport>> serversTransports;
  std::optional<Node> models; // Traefik-internal router defaults; accepted and ignored

  static void describe(auto& self, auto& v) {
    v("routers", self.routers);
    v("services", self.services);
    v("middlewares", self.middlewares);
    v("serversTransports", self.serversTransports);
    v("models", self.models);
  }
};

struct DynamicConfig {
  HttpConfig http;
  TcpConfig tcp;
  UdpConfig udp;
  TlsConfig tls;
  ApiManagementConfig apiManagement;  // causeway's form of Traefik Hub's API management resources
  // Warnings of this configuration that belong to no router, service, middleware or transport
  // (e.g. an option causeway does not implement yet), for the API and dashboard.
  std::vector<ConfigError> notices;

  static void describe(auto& self, auto& v) {
    v("http", self.http);
    v("tcp", self.tcp);
    v("udp", self.udp);
    v("tls", self.tls);
    v("apiManagement", self.apiManagement);
  }
};

// Decodes one provider's configuration tree. An empty document is an empty configuration.
// Root keys of the static configuration (entryPoints, providers, ...) are skipped, as Traefik's
// file provider skips them: one file may hold both (a key neither kind knows is an error).
// Every error and warning is appended to `errors`; those about a router, service, middleware or
// servers transport are also attached to that element. Never throws.
// `previous`: the last decoding of the same provider's configuration, if any; its unchanged
// routers, services, middlewares and transports are copied instead of decoded again.
DynamicConfig decodeDynamic(const Node& root, std::vector<ConfigError>& errors,
                            const DynamicConfig* previous = nullptr);

} // namespace causeway::config
