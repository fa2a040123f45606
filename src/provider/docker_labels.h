// Docker containers → dynamic configuration, by Traefik's label grammar and auto-wiring rules
// (docs/providers.md, "Docker"). Pure: the containers as the Engine API describes them go in, a
// configuration tree comes out; the provider (docker_provider.h) fetches and watches.
//
// Per container that is running (or `traefik.docker.allownonrunning`), healthy when it has a
// health check, enabled (`traefik.enable`, else `exposedByDefault`) and matching `constraints`:
//  - the labels under `traefik.` are the configuration, their dotted paths as flags' are
//    (`traefik.http.routers.r.tls.domains[0].main`), keys case-insensitive, lists comma-separated;
//  - no HTTP service in the labels: one, named after the container (Compose:
//    `<service>-<project>`), normalized; a load balancer without servers gets the container's
//    address: its IP on `traefik.docker.network` or the `network` option (else its first
//    network; 127.0.0.1 in host networking; with `useBindPortIP`, the host binding of the port),
//    and `loadbalancer.server.port` or its lowest exposed port;
//  - no HTTP router (and no TCP or UDP router): one, named like the service, with `defaultRule`
//    rendered as a Go template over {Name, ContainerName, Labels}; a router without a rule gets
//    that rule, one without a service gets the only service (an error with several).
// Containers that define the same element merge: a service's servers add up when the rest is
// the same; different definitions of one name are an error and the element is dropped.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config_error.h"
#include "config/node.h"
#include "provider/normalize.h"

namespace causeway::provider {

struct DockerPortBinding {
  int containerPort = 0;
  std::string hostIp;
  int hostPort = 0;
};

struct DockerContainer {
  std::string id;
  std::string name;  // without the leading '/'
  std::map<std::string, std::string> labels;
  std::string state = "running";  // State.Status
  std::string health;             // State.Health.Status, "" without a health check
  std::string networkMode;        // HostConfig.NetworkMode
  std::map<std::string, std::string> networks;  // network name → IPAddress
  std::vector<int> exposedPorts;                 // TCP ports of Config.ExposedPorts, sorted
  std::vector<DockerPortBinding> bindings;       // NetworkSettings.Ports
};

struct DockerOptions {
  bool exposedByDefault = true;
  std::string defaultRule = "Host(`{{ normalize .Name }}`)";
  std::string network;
  bool useBindPortIP = false;
  bool allowEmptyServices = false;
  std::string constraints;
  std::string source = "docker";  // names the provider in error locations
};

// Checks `constraints` (Traefik's expression over labels: Label(`k`,`v`), LabelRegex(`k`,`re`),
// !, &&, ||, parentheses). "" when it is well formed, else why not.
std::string checkConstraints(const std::string& expression);

// The configuration the containers make. Errors name the container (and the label).
config::Node buildDockerConfig(const std::vector<DockerContainer>& containers,
                               const DockerOptions& options,
                               std::vector<config::ConfigError>& errors);

}  // namespace causeway::provider
