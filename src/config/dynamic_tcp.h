// Dynamic configuration: the `tcp` section (reference §2.4; docs/tcp-udp.md): TCP routers,
// services, middlewares and serversTransports with Traefik's key names and defaults.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/decode.h"
#include "config/domain.h"
#include "config/duration.h"
#include "config/dynamic_tls.h"
#include "config/node.h"
#include "config/router_tls.h"

namespace causeway::config {

// An HTTP router's tls section plus `passthrough`.
struct TcpRouterTls : RouterTls {
  bool passthrough = false;  // forward the TLS bytes as they are, chosen by SNI

  static void describe(auto& self, auto& v) {
    v("passthrough", self.passthrough);
    RouterTls::describe(self, v);
  }
};

struct TcpRouter {
  std::string rule;
  std::optional<std::string> ruleSyntax;  // absent → core.defaultRuleSyntax
  int64_t priority = 0;                   // 0 → length of the rule
  std::vector<std::string> entryPoints;   // empty → the default entry points
  std::vector<std::string> middlewares;
  std::string service;
  std::optional<TcpRouterTls> tls;  // present → a router for TLS connections only

  static void describe(auto& self, auto& v) {
    v("rule", self.rule);
    v("ruleSyntax", self.ruleSyntax, OneOf{"v3", "v2"});
    v("priority", self.priority);
    v("entryPoints", self.entryPoints);
    v("middlewares", self.middlewares);
    v("service", self.service);
    v("tls", self.tls);
  }
};

struct TcpServer {
  std::string address;  // "host:port"
  bool tls = false;     // dial TLS (with the service's serversTransport)
  std::optional<int> weight;  // causeway extension of Traefik's loadBalancer (absent → 1)

  static void describe(auto& self, auto& v) {
    v("address", self.address);
    v("tls", self.tls);
    v("weight", self.weight);
  }
};

struct TcpProxyProtocol {
  int version = 2;  // Traefik: 1 or 2; an empty section means version 2

  static void describe(auto& self, auto& v) { v("version", self.version); }
  void validate(DecodeContext& context) const {
    if (version != 1 && version != 2) context.error("proxyProtocol.version must be 1 or 2");
  }
};

// Active check of each server (Traefik v3.3): connect, write `send`, expect `expect` back.
struct TcpHealthCheck {
  int port = 0;  // 0: the server's port
  std::string send;
  std::string expect;
  Duration interval = std::chrono::seconds(30);
  std::optional<Duration> unhealthyInterval;
  Duration timeout = std::chrono::seconds(5);

  static void describe(auto& self, auto& v) {
    v("port", self.port);
    v("send", self.send);
    v("expect", self.expect);
    v("interval", self.interval);
    v("unhealthyInterval", self.unhealthyInterval);
    v("timeout", self.timeout);
  }

  void validate(DecodeContext& context) const {
    if (port < 0 || port > 65535) context.error("healthCheck.port must be between 0 and 65535");
    if (interval.value <= std::chrono::nanoseconds(0)) context.error("healthCheck.interval must be greater than 0");
    if (timeout.value <= std::chrono::nanoseconds(0)) context.error("healthCheck.timeout must be greater than 0");
  }
};

struct TcpLoadBalancer {
  std::vector<TcpServer> servers;
  std::string serversTransport;  // empty → default@internal
  // Deprecated in Traefik v3 for serversTransport.proxyProtocol / terminationDelay; still read.
  std::optional<TcpProxyProtocol> proxyProtocol;
  std::optional<int64_t> terminationDelay;  // milliseconds
  std::optional<TcpHealthCheck> healthCheck;

  static void describe(auto& self, auto& v) {
    v("servers", self.servers);
    v("serversTransport", self.serversTransport);
    v("proxyProtocol", self.proxyProtocol);
    v("terminationDelay", self.terminationDelay);
    v("healthCheck", self.healthCheck);
  }
};

struct TcpWeightedService {
  std::string name;
  int weight = 1;

  static void describe(auto& self, auto& v) {
    v("name", self.name);
    v("weight", self.weight);
  }
};

struct TcpWeighted {
  std::vector<TcpWeightedService> services;
  std::optional<Node> healthCheck;  // Traefik: propagate the children's health

  static void describe(auto& self, auto& v) {
    v("services", self.services);
    v("healthCheck", self.healthCheck, NotYet{"health propagation from weighted TCP services is not supported yet; the children's servers are still checked"});
  }
};

struct TcpService {
  std::optional<TcpLoadBalancer> loadBalancer;
  std::optional<TcpWeighted> weighted;

  static void describe(auto& self, auto& v) {
    v("loadBalancer", self.loadBalancer);
    v("weighted", self.weighted);
  }

  void validate(DecodeContext& context) const;
};

struct TcpIpAllowList {
  std::vector<std::string> sourceRange;

  static void describe(auto& self, auto& v) { v("sourceRange", self.sourceRange); }
};

struct TcpInFlightConn {
  int64_t amount = 0;

  static void describe(auto& self, auto& v) { v("amount", self.amount); }
};

// Exactly one type is set (checked by validate).
struct TcpMiddleware {
  std::optional<TcpIpAllowList> ipAllowList;
  std::optional<TcpIpAllowList> ipWhiteList;  // deprecated spelling of ipAllowList
  std::optional<TcpInFlightConn> inFlightConn;

  static void describe(auto& self, auto& v) {
    v("ipAllowList", self.ipAllowList);
    v("ipWhiteList", self.ipWhiteList);
    v("inFlightConn", self.inFlightConn);
  }

  void validate(DecodeContext& context) const;
  // "ipallowlist", "inflightconn" (Traefik's API `type`), "" when none.
  std::string typeName() const;
};

struct TcpServersTransportTls {
  std::string serverName;
  bool insecureSkipVerify = false;
  std::vector<std::string> rootCAs;
  std::vector<CertificateFiles> certificates;
  std::optional<Node> peerCertSANs;
  std::optional<Node> spiffe;

  static void describe(auto& self, auto& v) {
    v("serverName", self.serverName);
    v("insecureSkipVerify", self.insecureSkipVerify);
    v("rootCAs", self.rootCAs);
    v("certificates", self.certificates);
    v("peerCertSANs", self.peerCertSANs, NotYet{"peerCertSANs is not supported yet; the upstream certificate is verified against rootCAs and serverName only"});
    v("spiffe", self.spiffe, NotYet{"tcpServersTransport spiffe is not supported yet; upstream TLS uses rootCAs and certificates"});
  }
};

struct TcpServersTransport {
  Duration dialTimeout = std::chrono::seconds(30);
  Duration dialKeepAlive = std::chrono::seconds(15);
  // After one direction ends, how long the other may still run (negative: no limit).
  Duration terminationDelay = std::chrono::milliseconds(100);
  std::optional<TcpProxyProtocol> proxyProtocol;
  std::optional<TcpServersTransportTls> tls;

  static void describe(auto& self, auto& v) {
    v("dialTimeout", self.dialTimeout);
    v("dialKeepAlive", self.dialKeepAlive);
    v("terminationDelay", self.terminationDelay);
    v("proxyProtocol", self.proxyProtocol);
    v("tls", self.tls);
  }
};

struct TcpConfig {
  std::map<std::string, Element<TcpRouter>> routers;
  std::map<std::string, Element<TcpService>> services;
  std::map<std::string, Element<TcpMiddleware>> middlewares;
  std::map<std::string, Element<TcpServersTransport>> serversTransports;

  static void describe(auto& self, auto& v) {
    v("routers", self.routers);
    v("services", self.services);
    v("middlewares", self.middlewares);
    v("serversTransports", self.serversTransports);
  }
};

}  // namespace causeway::config
