// The running dynamic configuration: immutable once published, shared by every worker.
// A reload builds a new Snapshot on the control thread and swaps a pointer; a request
// keeps the snapshot it started with until it ends.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "exchange/handler.h"
#include "exchange/tcp_handler.h"
#include "router/route_table.h"
#include "runtime/runtime_state.h"
#include "tls/tls_store.h"
#include "upstream/udp_balancer.h"

namespace causeway::config {
struct DynamicConfig;
}

namespace causeway::runtime {

// What a router resolves to once its rule matched.
struct RouteTarget {
  std::string name;      // qualified router name, e.g. "whoami@file"
  std::string service;   // qualified service name
  exchange::HandlerPtr handler;    // entryPoint middlewares → router middlewares → service
};
using RouteTargetPtr = std::shared_ptr<const RouteTarget>;

// What a TCP router resolves to (docs/tcp-udp.md).
struct TcpRouteTarget {
  enum class Tls { None, Terminate, Passthrough };
  std::string name;     // qualified router name
  std::string service;  // qualified service name
  Tls tls = Tls::None;
  bool catchAll = false;  // the rule is HostSNI(`*`) (possibly with ClientIP): it yields to HTTPS hosts
  exchange::TcpHandlerPtr handler;  // router middlewares → service
};
using TcpRouteTargetPtr = std::shared_ptr<const TcpRouteTarget>;

// The UDP router of a UDP entryPoint (it has no rule: one router per entryPoint).
struct UdpRouteTarget {
  std::string name;
  std::string service;
  upstream::UdpBalancerPtr balancer;
};

struct EntryPointRoutes {
  router::RouteTable<RouteTargetPtr> table;     // routers without tls: cleartext connections
  router::RouteTable<RouteTargetPtr> tlsTable;  // routers with tls: TLS connections
  bool sniCheck = false;  // some host on this entryPoint has non-default TLS options (421 rule)

  // TCP routers, tried before the HTTP routers as Traefik arbitrates (downstream/connection.cpp).
  router::RouteTable<TcpRouteTargetPtr> tcpTable;     // without tls: HostSNI(`*`), ClientIP
  router::RouteTable<TcpRouteTargetPtr> tcpTlsTable;  // with tls (terminated or passthrough)
  // The hosts of the HTTPS routers (lower-case exact names and "*.parent" wildcards), which
  // take a TLS connection before a TCP router whose rule is a catch-all; and whether some
  // HTTPS router has no Host (an HTTPS catch-all).
  std::vector<std::string> httpsHosts;
  bool httpsCatchAll = false;
  bool httpsHostMatches(std::string_view serverName) const;

  std::shared_ptr<const UdpRouteTarget> udp;  // UDP entryPoints only
};

struct Snapshot {
  uint64_t generation = 0;
  std::vector<EntryPointRoutes> routes;  // indexed by EntryPoint::index
  RuntimeState runtime;                  // every element with its status and errors
  tls::TlsStorePtr tls;                       // certificates and TLS options
  // The decoded configuration of each provider this snapshot was built from (the API shows
  // each element's configuration).
  std::map<std::string, std::shared_ptr<const config::DynamicConfig>> configs;
};
using SnapshotPtr = std::shared_ptr<const Snapshot>;

// Where the control thread publishes and workers pick up snapshots.
class SnapshotHolder {
 public:
  void publish(SnapshotPtr snapshot) {
    std::lock_guard lock(mutex_);
    current_ = std::move(snapshot);
    generation_.fetch_add(1, std::memory_order_release);
  }
  SnapshotPtr load() const {
    std::lock_guard lock(mutex_);
    return current_;
  }
  // Changes whenever publish() runs; cheap enough to read on every request.
  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  SnapshotPtr current_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace causeway::runtime
