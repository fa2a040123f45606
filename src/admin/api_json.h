// The JSON representations of Traefik's API (pkg/api/handler*.go, pkg/config/runtime): each
// element's configuration as decoded (json_encode.h) plus its runtime state: `name`
// (name@provider), `provider`, `status` (enabled, warning, disabled), `error` (the list of
// its errors), and for routers `using` (the entryPoints it really listens on) and
// `priorityStr`, for services `usedBy`, `type` and `serverStatus` (url → UP/DOWN, read live
// from the health of each server), for middlewares `usedBy` and `type`.
//
// Pure functions of an immutable snapshot and the static configuration; any thread (the
// live server status is read through atomics).
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <string>

#include "config/static_config.h"
#include "runtime/snapshot.h"

namespace causeway::admin {

boost::json::object routerJson(const runtime::Snapshot& snapshot, const std::string& name,
                               const runtime::RouterState& state);
boost::json::object serviceJson(const runtime::Snapshot& snapshot, const std::string& name,
                                const runtime::ServiceState& state);
boost::json::object middlewareJson(const runtime::Snapshot& snapshot, const std::string& name,
                                   const runtime::MiddlewareState& state);

// An entryPoint's static configuration with its name.
// The same for the tcp section (Traefik's /api/tcp/*): routers show tls.passthrough.
// An API management resource (config/api_management.h): its spec (API keys left out), status,
// errors and users.
boost::json::object apiResourceJson(const runtime::Snapshot& snapshot, const std::string& name,
                                    const runtime::ApiResourceState& state);
boost::json::object tcpRouterJson(const runtime::Snapshot& snapshot, const std::string& name,
                                  const runtime::RouterState& state);
boost::json::object tcpServiceJson(const runtime::Snapshot& snapshot, const std::string& name,
                                   const runtime::ServiceState& state);
boost::json::object tcpMiddlewareJson(const runtime::Snapshot& snapshot, const std::string& name,
                                      const runtime::MiddlewareState& state);
// /api/certificates (causeway; Traefik's is unreleased): every certificate of the TLS store,
// with its names, issuer, validity, serial and the provider it came from ("acme" for the
// certificates resolvers' ones; their errors are in /api/warnings).
boost::json::array certificatesJson(const runtime::Snapshot& snapshot);
// And the udp section (Traefik's /api/udp/*).
boost::json::object udpRouterJson(const runtime::Snapshot& snapshot, const std::string& name,
                                  const runtime::RouterState& state);
boost::json::object udpServiceJson(const runtime::Snapshot& snapshot, const std::string& name,
                                   const runtime::ServiceState& state);
boost::json::object entryPointJson(const std::string& name, const config::EntryPoint& entryPoint);

// /api/overview: counts per kind with warnings and errors, features and providers.
boost::json::object overviewJson(const runtime::Snapshot& snapshot, const config::StaticConfig& config);

// /api/rawdata: routers, middlewares and services keyed by name (without the list fields
// name, provider, type and priorityStr, as Traefik).
boost::json::object rawDataJson(const runtime::Snapshot& snapshot);
// causeway extension (/api/warnings): configuration warnings that belong to no element, with
// their location: options causeway ignores (notSupportedYet) and sources that were not read.
boost::json::array warningsJson(const runtime::Snapshot& snapshot);

// /api/version: Version, Codename, startDate (+ dashboard options).
boost::json::object versionJson(const config::StaticConfig& config,
                                std::chrono::system_clock::time_point startDate);

// Go's time.Time JSON form (RFC 3339 with nanoseconds, trailing zeros dropped), in UTC.
std::string rfc3339Nano(std::chrono::system_clock::time_point time);

}  // namespace causeway::admin
