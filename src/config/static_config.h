// Static configuration (reference §1): read once at start from a file, environment variables
// and CLI flags, with Traefik's key names and defaults.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/acme_config.h"
#include "config/client_tls.h"
#include "config/config_error.h"
#include "config/decode.h"
#include "config/duration.h"
#include "config/dynamic_tcp.h"
#include "config/entry_point.h"
#include "config/node.h"
#include "config/observability_config.h"

namespace causeway::config {

struct FileProvider {
  std::string filename;  // one dynamic configuration file
  std::string directory; // or every .yml/.yaml/.toml file in a directory
  bool watch = true;
  bool debugLogGeneratedTemplate = false;
  bool guardRouterLoss = true;  // causeway extension (docs/security.md, H03)

  static void describe(auto& self, auto& v) {
    v("filename", self.filename);
    v("directory", self.directory);
    v("watch", self.watch);
    v("guardRouterLoss", self.guardRouterLoss);
    v("debugLogGeneratedTemplate", self.debugLogGeneratedTemplate);
  }

  void validate(DecodeContext& context) const {
    if (filename.empty() && directory.empty()) context.error("expected a filename or a directory");
  }
};

// What the KV providers' options have in common (Traefik's kv.Provider): where the store is,
// the root of the keys, and the checks on both.
inline void validateKvStore(DecodeContext& context, const std::vector<std::string>& endpoints,
                            const std::string& rootKey) {
  if (endpoints.empty()) context.error("expected at least one endpoint");
  if (rootKey.empty()) context.error("rootKey must not be empty");
}

// providers.redis: dynamic configuration from Redis keys under `rootKey`, in Traefik's KV layout
// (provider/redis_provider.h).
struct RedisProviderSentinel {
  std::string masterName;
  std::string username;
  std::string password;
  bool latencyStrategy = false;
  bool randomStrategy = false;
  bool replicaStrategy = false;
  bool useDisconnectedReplicas = false;
  static void describe(auto& self, auto& v) {
    v("masterName", self.masterName);
    v("username", self.username);
    v("password", self.password);
    // Read routing among replicas: causeway reads the master.
    const NotYet replicas{"the redis provider reads the master, never a replica"};
    v("latencyStrategy", self.latencyStrategy, replicas);
    v("randomStrategy", self.randomStrategy, replicas);
    v("replicaStrategy", self.replicaStrategy, replicas);
    v("useDisconnectedReplicas", self.useDisconnectedReplicas, replicas);
  }
};

struct RedisProvider {
  std::vector<std::string> endpoints{"127.0.0.1:6379"};
  std::string rootKey = "traefik";
  std::string username;
  std::string password;
  int64_t db = 0;
  std::optional<ClientTls> tls;
  std::optional<RedisProviderSentinel> sentinel;
  // causeway: how often the keys are read again (the provider polls; see docs/providers.md).
  Duration pollInterval = std::chrono::seconds(1);

  static void describe(auto& self, auto& v) {
    v("endpoints", self.endpoints);
    v("rootKey", self.rootKey);
    v("username", self.username);
    v("password", self.password);
    v("db", self.db);
    v("tls", self.tls);
    v("sentinel", self.sentinel);
    v("pollInterval", self.pollInterval);
  }

  void validate(DecodeContext& context) const {
    validateKvStore(context, endpoints, rootKey);
    if (pollInterval.value < std::chrono::milliseconds(100))
      context.error("pollInterval must be at least 100ms");
  }
};

// The options of the etcd and ZooKeeper providers: endpoints, rootKey, credentials and TLS.
struct KvStoreOptions {
  std::vector<std::string> endpoints;
  std::string rootKey = "traefik";
  std::string username;
  std::string password;
  std::optional<ClientTls> tls;

  static void describe(auto& self, auto& v) {
    v("endpoints", self.endpoints);
    v("rootKey", self.rootKey);
    v("username", self.username);
    v("password", self.password);
    v("tls", self.tls);
  }
  void validate(DecodeContext& context) const { validateKvStore(context, endpoints, rootKey); }
};

// providers.etcd: dynamic configuration from etcd v3 keys under `rootKey`, in Traefik's KV
// layout, read and then watched (provider/etcd_provider.h).
struct EtcdProvider : KvStoreOptions {
  EtcdProvider() { endpoints = {"127.0.0.1:2379"}; }
};

// providers.consul: dynamic configuration from Consul KV under `rootKey`, in Traefik's KV layout,
// followed with blocking queries (provider/consul_provider.h).
struct ConsulProvider {
  std::vector<std::string> endpoints{"127.0.0.1:8500"};
  std::string rootKey = "traefik";
  std::string token;
  std::vector<std::string> namespaces;
  std::optional<ClientTls> tls;

  static void describe(auto& self, auto& v) {
    v("endpoints", self.endpoints);
    v("rootKey", self.rootKey);
    v("token", self.token);
    v("namespaces", self.namespaces, NotYet{"Consul Enterprise namespaces are not supported yet: the default namespace is read"});
    v("tls", self.tls);
  }

  void validate(DecodeContext& context) const { validateKvStore(context, endpoints, rootKey); }
};

// providers.docker: containers and their labels from the Docker Engine API
// (provider/docker_provider.h, provider/docker_labels.h).
struct DockerProvider {
  std::string endpoint = "unix:///var/run/docker.sock";
  std::string defaultRule = "Host(`{{ normalize .Name }}`)";
  bool exposedByDefault = true;
  std::string network;
  bool useBindPortIP = false;
  bool watch = true;
  std::string constraints;
  bool allowEmptyServices = false;
  Duration httpClientTimeout;  // 0: 10 s for a listing (the events stream has none)
  std::string username;
  std::string password;
  std::optional<ClientTls> tls;

  static void describe(auto& self, auto& v) {
    v("endpoint", self.endpoint);
    v("defaultRule", self.defaultRule);
    v("exposedByDefault", self.exposedByDefault);
    v("network", self.network);
    v("useBindPortIP", self.useBindPortIP);
    v("watch", self.watch);
    v("constraints", self.constraints);
    v("allowEmptyServices", self.allowEmptyServices);
    v("httpClientTimeout", self.httpClientTimeout);
    v("username", self.username);
    v("password", self.password);
    v("tls", self.tls);
  }

  void validate(DecodeContext& context) const {
    if (endpoint.empty()) context.error("expected an endpoint (unix:///var/run/docker.sock or tcp://host:port)");
  }
};

// providers.zooKeeper: dynamic configuration from ZooKeeper znodes under `/rootKey`, in
// Traefik's KV layout, followed with watches (provider/zookeeper_provider.h).
struct ZooKeeperProvider : KvStoreOptions {
  ZooKeeperProvider() { endpoints = {"127.0.0.1:2181"}; }
};

// providers.http: a dynamic configuration (JSON or YAML) polled from an HTTP endpoint
// (provider/http_provider.h).
struct HttpProvider {
  std::string endpoint;
  Duration pollInterval = std::chrono::seconds(5);
  Duration pollTimeout = std::chrono::seconds(5);
  std::map<std::string, std::string> headers;
  std::optional<ClientTls> tls;
  int64_t maxResponseBodySize = -1;  // bytes; < 0: no bound

  static void describe(auto& self, auto& v) {
    v("endpoint", self.endpoint);
    v("pollInterval", self.pollInterval);
    v("pollTimeout", self.pollTimeout);
    v("headers", self.headers);
    v("tls", self.tls);
    v("maxResponseBodySize", self.maxResponseBodySize);
  }

  void validate(DecodeContext& context) const {
    if (endpoint.empty()) context.error("expected an endpoint (the URL to poll)");
    if (pollInterval.value <= std::chrono::milliseconds(0))
      context.error("pollInterval must be positive");
    if (pollTimeout.value <= std::chrono::milliseconds(0))
      context.error("pollTimeout must be positive");
  }
};

// What every Kubernetes provider shares: where the API server is (docs/kubernetes.md), which
// objects are read, and how fast.
struct KubernetesOptions {
  std::string endpoint;          // empty: in-cluster, or KUBECONFIG
  std::string token;
  std::string certAuthFilePath;
  std::vector<std::string> namespaces;  // empty: all
  std::string labelSelector;
  Duration throttleDuration;  // the least time between two configurations (0: 5 ms, a burst of events)
  bool allowEmptyServices = false;
  bool allowExternalNameServices = false;
  bool nativeLBByDefault = false;
  bool disableClusterScopeResources = false;
  double qps = 50;  // requests per second to the API server (causeway's; Traefik's Gateway provider has them)
  int burst = 100;
  std::optional<std::vector<std::string>> crossProviderNamespaces;

  static void describe(auto& self, auto& v) {
    v("endpoint", self.endpoint);
    v("token", self.token);
    v("certAuthFilePath", self.certAuthFilePath);
    v("namespaces", self.namespaces);
    v("labelSelector", self.labelSelector);
    v("throttleDuration", self.throttleDuration);
    v("allowEmptyServices", self.allowEmptyServices);
    v("allowExternalNameServices", self.allowExternalNameServices);
    v("nativeLBByDefault", self.nativeLBByDefault);
    v("disableClusterScopeResources", self.disableClusterScopeResources);
    v("qps", self.qps);
    v("burst", self.burst);
    v("crossProviderNamespaces", self.crossProviderNamespaces,
      NotYet{"references to other providers' objects (x@file) are allowed from every namespace"});
  }
  void validate(DecodeContext& context) const {
    if (qps < 0) context.error("qps must not be negative");
    if (burst < 1) context.error("burst must be at least 1");
  }
};

// providers.kubernetesCRD: Traefik's custom resources (traefik.io/v1alpha1), Services,
// EndpointSlices and Secrets (provider/kubernetes/crd_builder.h).
struct KubernetesCrdProvider : KubernetesOptions {
  std::string ingressClass;
  bool allowCrossNamespace = false;

  static void describe(auto& self, auto& v) {
    KubernetesOptions::describe(self, v);
    v("ingressClass", self.ingressClass);
    v("allowCrossNamespace", self.allowCrossNamespace);
  }
};

struct KubernetesIngressEndpoint {
  std::string ip;
  std::string hostname;
  std::string publishedService;  // namespace/name of the Service whose load balancer is published

  static void describe(auto& self, auto& v) {
    v("ip", self.ip);
    v("hostname", self.hostname);
    v("publishedService", self.publishedService);
  }
};

// providers.kubernetesIngress: networking.k8s.io/v1 Ingresses of causeway's class
// (provider/kubernetes/ingress_builder.h).
struct KubernetesIngressProvider : KubernetesOptions {
  std::string ingressClass;
  std::optional<KubernetesIngressEndpoint> ingressEndpoint;
  bool disableIngressClassLookup = false;
  bool strictPrefixMatching = false;
  bool reportNodeInternalIPs = false;

  static void describe(auto& self, auto& v) {
    KubernetesOptions::describe(self, v);
    v("ingressClass", self.ingressClass);
    v("ingressEndpoint", self.ingressEndpoint);
    v("disableIngressClassLookup", self.disableIngressClassLookup);
    v("strictPrefixMatching", self.strictPrefixMatching);
    v("reportNodeInternalIPs", self.reportNodeInternalIPs,
      NotYet{"node addresses are not read; only ingressEndpoint is written to the Ingress status"});
  }
};

struct KubernetesStatusService {
  std::string name;
  std::string namespace_;
  static void describe(auto& self, auto& v) {
    v("name", self.name);
    v("namespace", self.namespace_);
  }
};

struct KubernetesStatusAddress {
  std::string ip;
  std::string hostname;
  std::optional<KubernetesStatusService> service;
  static void describe(auto& self, auto& v) {
    v("ip", self.ip);
    v("hostname", self.hostname);
    v("service", self.service);
  }
};

// providers.kubernetesGateway: the Gateway API (provider/kubernetes/gateway_builder.h).
struct KubernetesGatewayProvider : KubernetesOptions {
  std::optional<KubernetesStatusAddress> statusAddress;
  bool experimentalChannel = false;

  static void describe(auto& self, auto& v) {
    KubernetesOptions::describe(self, v);
    v("statusAddress", self.statusAddress);
    v("experimentalChannel", self.experimentalChannel);
  }
};

// providers.kubernetesIngressNGINX: Ingresses of ingress-nginx's class with its annotations
// (provider/kubernetes/nginx_builder.h).
struct KubernetesIngressNginxProvider : KubernetesOptions {
  std::string watchNamespace;  // one namespace ("" all); `namespaces` works too
  std::string watchNamespaceSelector;
  std::string ingressClass = "nginx";
  std::string controllerClass = "k8s.io/ingress-nginx";
  bool watchIngressWithoutClass = false;
  bool ingressClassByName = false;
  std::string publishService;
  std::vector<std::string> publishStatusAddress;
  std::string defaultBackendService;
  bool disableSvcExternalName = false;
  std::string httpEntryPoint;
  std::string httpsEntryPoint;
  bool allowSnippetAnnotations = false;
  bool allowCrossNamespaceResources = false;
  bool strictValidatePathType = true;
  std::vector<std::string> globalAllowedResponseHeaders;
  int64_t proxyBodySize = 1048576;
  int proxyConnectTimeout = 60;
  int proxyReadTimeout = 60;
  int proxySendTimeout = 60;
  int upstreamKeepaliveTimeout = 60;
  int proxyNextUpstreamTries = 3;
  std::optional<Node> globalAuthURL, customHTTPErrors, proxyRequestBuffering, proxyBuffering, ipAllowListStrategy;

  static void describe(auto& self, auto& v) {
    KubernetesOptions::describe(self, v);
    v("watchNamespace", self.watchNamespace);
    v("watchNamespaceSelector", self.watchNamespaceSelector,
      NotYet{"watchNamespaceSelector is not supported yet; use watchNamespace or namespaces"});
    v("ingressClass", self.ingressClass);
    v("controllerClass", self.controllerClass);
    v("watchIngressWithoutClass", self.watchIngressWithoutClass);
    v("ingressClassByName", self.ingressClassByName);
    v("publishService", self.publishService);
    v("publishStatusAddress", self.publishStatusAddress);
    v("defaultBackendService", self.defaultBackendService);
    v("disableSvcExternalName", self.disableSvcExternalName);
    v("httpEntryPoint", self.httpEntryPoint);
    v("httpsEntryPoint", self.httpsEntryPoint);
    v("allowSnippetAnnotations", self.allowSnippetAnnotations);
    v("allowCrossNamespaceResources", self.allowCrossNamespaceResources);
    v("strictValidatePathType", self.strictValidatePathType);
    v("globalAllowedResponseHeaders", self.globalAllowedResponseHeaders);
    v("proxyBodySize", self.proxyBodySize);
    v("proxyConnectTimeout", self.proxyConnectTimeout);
    v("proxyReadTimeout", self.proxyReadTimeout);
    v("proxySendTimeout", self.proxySendTimeout);
    v("upstreamKeepaliveTimeout", self.upstreamKeepaliveTimeout);
    v("proxyNextUpstreamTries", self.proxyNextUpstreamTries);
    v("globalAuthURL", self.globalAuthURL, NotYet{"globalAuthURL is not supported yet; use the auth-url annotation"});
    v("customHTTPErrors", self.customHTTPErrors, NotYet{"customHTTPErrors is not supported yet"});
    v("proxyRequestBuffering", self.proxyRequestBuffering, NotYet{"request buffering is not supported yet"});
    v("proxyBuffering", self.proxyBuffering, NotYet{"response buffering is not supported yet"});
    v("ipAllowListStrategy", self.ipAllowListStrategy, NotYet{"ipAllowListStrategy is not supported yet"});
  }
};

// providers.rest: dynamic configuration PUT to the API (provider/rest_provider.h). With
// `insecure`, a router rest@internal on the `traefik` entryPoint serves it.
struct RestProvider {
  bool insecure = false;
  static void describe(auto& self, auto& v) { v("insecure", self.insecure); }
};

// Providers other than `file`, `redis`, `etcd`, `consul`, `zooKeeper`, `docker`, `http` and `rest` are kept raw until they are implemented: absent → nullopt;
// present (even as an empty value, which enables them with defaults) → the node as written.
struct Providers {
  Duration providersThrottleDuration = std::chrono::seconds(2);
  std::vector<std::string> precedence = {"kubernetesgateway",
                                         "kubernetescrd",
                                         "kubernetes",
                                         "kubernetesingressnginx",
                                         "swarm",
                                         "docker",
                                         "file",
                                         "redis",
                                         "knative",
                                         "consul",
                                         "consulcatalog",
                                         "nomad",
                                         "etcd",
                                         "ecs",
                                         "http",
                                         "zookeeper",
                                         "rest"};
  std::optional<FileProvider> file;
  std::optional<RedisProvider> redis;
  std::optional<RestProvider> rest;
  std::optional<EtcdProvider> etcd;
  std::optional<ConsulProvider> consul;
  std::optional<DockerProvider> docker;
  std::optional<ZooKeeperProvider> zooKeeper;
  std::optional<HttpProvider> http;
  std::optional<KubernetesCrdProvider> kubernetesCRD;
  std::optional<KubernetesIngressProvider> kubernetesIngress;
  std::optional<KubernetesGatewayProvider> kubernetesGateway;
  std::optional<KubernetesIngressNginxProvider> kubernetesIngressNGINX;
  std::optional<Node> swarm, knative, consulCatalog, nomad, ecs, plugin;

  static void describe(auto& self, auto& v) {
    v("providersThrottleDuration", self.providersThrottleDuration);
    v("precedence", self.precedence);
    v("file", self.file);
    v("docker", self.docker);
    v("swarm", self.swarm);
    v("kubernetesIngress", self.kubernetesIngress);
    v("kubernetesIngressNGINX", self.kubernetesIngressNGINX);
    v("kubernetesCRD", self.kubernetesCRD);
    v("kubernetesGateway", self.kubernetesGateway);
    v("knative", self.knative);
    v("rest", self.rest);
    v("consulCatalog", self.consulCatalog);
    v("nomad", self.nomad);
    v("ecs", self.ecs);
    v("consul", self.consul);
    v("etcd", self.etcd);
    v("zooKeeper", self.zooKeeper);
    v("redis", self.redis);
    v("http", self.http);
    v("plugin", self.plugin);
  }
};

struct StaticForwardingTimeouts {
  Duration dialTimeout = std::chrono::seconds(30);
  Duration responseHeaderTimeout; // 0 = none
  Duration idleConnTimeout = std::chrono::seconds(90);

  static void describe(auto& self, auto& v) {
    v("dialTimeout", self.dialTimeout);
    v("responseHeaderTimeout", self.responseHeaderTimeout);
    v("idleConnTimeout", self.idleConnTimeout);
  }
};

// Defaults of the `default@internal` servers transport.
struct StaticServersTransport {
  bool insecureSkipVerify = false;
  std::vector<std::string> rootCAs; // file paths or PEM
  int maxIdleConnsPerHost = 200;    // negative disables connection reuse
  StaticForwardingTimeouts forwardingTimeouts;
  std::optional<Node> spiffe;

  static void describe(auto& self, auto& v) {
    v("insecureSkipVerify", self.insecureSkipVerify);
    v("rootCAs", self.rootCAs);
    v("maxIdleConnsPerHost", self.maxIdleConnsPerHost);
    v("forwardingTimeouts", self.forwardingTimeouts);
    v("spiffe", self.spiffe, NotYet{"serversTransport.spiffe is not supported yet; upstream TLS uses rootCAs and certificates"});
  }
};

struct Log {
  std::string level = "ERROR";
  std::string format = "common"; // "json" or anything else (Traefik treats it as common)
  std::string filePath;          // empty → stdout
  bool noColor = false;
  int maxSize = 0; // MB before rotation
  int maxBackups = 0;
  int maxAge = 0; // days
  bool compress = false;
  std::optional<OtlpLogs> otlp;  // log lines as OTLP log records too

  static void describe(auto& self, auto& v) {
    v("level", self.level, OneOf{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL", "PANIC"});
    v("format", self.format);
    v("filePath", self.filePath);
    v("noColor", self.noColor);
    v("maxSize", self.maxSize, NotYet{"log rotation (maxSize) is not supported yet; rotate with logrotate and SIGUSR1"});
    v("maxBackups", self.maxBackups, NotYet{"log rotation (maxBackups) is not supported yet; rotate with logrotate and SIGUSR1"});
    v("maxAge", self.maxAge, NotYet{"log rotation (maxAge) is not supported yet; rotate with logrotate and SIGUSR1"});
    v("compress", self.compress, NotYet{"log rotation (compress) is not supported yet; rotate with logrotate and SIGUSR1"});
    v("otlp", self.otlp);
  }
};

struct Api {
  bool insecure = false; // serve api@internal/dashboard@internal on entry point `traefik`
  bool dashboard = true;
  std::string basePath = "/";
  bool debug = false;
  bool disableDashboardAd = false;
  std::string dashboardName;

  static void describe(auto& self, auto& v) {
    v("insecure", self.insecure);
    v("dashboard", self.dashboard);
    v("basePath", self.basePath);
    v("debug", self.debug, NotYet{"api.debug is not supported yet; /debug/vars and /debug/pprof are not served"});
    v("disableDashboardAd", self.disableDashboardAd);
    v("dashboardName", self.dashboardName);
  }
};

struct Ping {
  std::string entryPoint = "traefik";
  bool manualRouting = false;
  int terminatingStatusCode = 503;

  static void describe(auto& self, auto& v) {
    v("entryPoint", self.entryPoint);
    v("manualRouting", self.manualRouting);
    v("terminatingStatusCode", self.terminatingStatusCode);
  }
};

// causeway extension: process-wide resource bounds (docs/security.md, "Limits and defaults").
struct ProcessLimits {
  // Bytes of request heads held beyond each request's free allowance, across every
  // connection: HTTP/1.1 heads still being read and HTTP/2 header lists of open streams.
  int64_t requestHeadMemory = 64 << 20;

  static void describe(auto& self, auto& v) { v("requestHeadMemory", self.requestHeadMemory); }
  void validate(DecodeContext& context) const {
    if (requestHeadMemory < (1 << 20)) context.error("limits.requestHeadMemory must be at least 1048576 (1 MiB)");
  }
};

struct Core {
  std::string defaultRuleSyntax = "v3";

  static void describe(auto& self, auto& v) {
    v("defaultRuleSyntax", self.defaultRuleSyntax, OneOf{"v3", "v2"});
  }
};

struct Global {
  bool checkNewVersion = true;
  bool sendAnonymousUsage = false;
  bool notAppendXForwardedFor = false;

  static void describe(auto& self, auto& v) {
    v("checkNewVersion", self.checkNewVersion);
    v("sendAnonymousUsage", self.sendAnonymousUsage);
    v("notAppendXForwardedFor", self.notAppendXForwardedFor);
  }
};

// The whole static configuration. Sections typed as std::optional<Node> are Traefik sections
// that causeway accepts but does not interpret yet (kept raw; nullopt when absent).
struct StaticConfig {
  Global global;
  StaticServersTransport serversTransport;
  // Defaults of TCP services without a serversTransport (default@internal; proxyProtocol is
  // dynamic-only in Traefik and accepted here too).
  std::optional<TcpServersTransport> tcpServersTransport;
  std::map<std::string, EntryPoint> entryPoints;
  Providers providers;
  std::optional<Api> api;
  std::optional<Metrics> metrics;
  std::optional<Ping> ping;
  Log log;
  std::optional<AccessLog> accessLog;
  std::optional<Tracing> tracing;
  std::optional<Node> hostResolver;
  std::map<std::string, CertificatesResolver> certificatesResolvers;
  std::optional<Node> experimental;
  Core core;
  std::optional<Node> spiffe;
  std::optional<Node> ocsp;
  std::optional<Node> hub;
  int workers = 0; // causeway extension: worker threads; 0 = one per CPU core
  ProcessLimits limits; // causeway extension

  static void describe(auto& self, auto& v) {
    v("global", self.global);
    v("serversTransport", self.serversTransport);
    v("tcpServersTransport", self.tcpServersTransport);
    v("entryPoints", self.entryPoints);
    v("providers", self.providers);
    v("api", self.api);
    v("metrics", self.metrics);
    v("ping", self.ping);
    v("log", self.log);
    v("accessLog", self.accessLog);
    v("tracing", self.tracing);
    v("hostResolver", self.hostResolver, NotYet{"hostResolver (CNAME flattening) is not supported yet; it is ignored"});
    v("certificatesResolvers", self.certificatesResolvers);
    v("experimental", self.experimental, NotYet{"experimental features (plugins, ...) are not supported yet; they are ignored"});
    v("core", self.core);
    v("spiffe", self.spiffe, NotYet{"spiffe is not supported yet; it is ignored"});
    v("ocsp", self.ocsp, NotYet{"OCSP stapling is not supported yet; no OCSP response is stapled"});
    v("hub", self.hub, NotYet{"Traefik Hub is not supported: causeway serves the open parts of its gateways itself; hub is ignored"});
    v("workers", self.workers);
    v("limits", self.limits);
  }

  void validate(DecodeContext& context) const {
    if (workers < 0) context.error("workers must be 0 (one per CPU core) or more");
  }
};

// Adds Traefik's implicit entry points: `http` on ":80" when none is defined, and `traefik` on
// ":8080" when api.insecure is set, or ping or metrics.prometheus use the `traefik` entry point
// without manual routing, or providers.rest.insecure is set, unless the user defined `traefik`.
void applyImplicitEntryPoints(StaticConfig& config);

struct StaticLoadResult {
  StaticConfig config;
  std::vector<ConfigError> errors; // errors and warnings, each with its location
  std::string configFile;          // the file used; empty when none
  std::string sources;             // where the configuration came from ("file", "flags", ...)

  bool ok() const { return !hasErrors(errors); }
};

// Loads the static configuration from one source as Traefik does: the file if there is one,
// else the CLI flags, else the environment variables; what another source sets is reported as
// ignored (a warning). With configLayering=true (flag or CAUSEWAY_CONFIGLAYERING) the sources
// are combined instead: a file, then environment variables over it, then CLI flags over both. The file is `--configFile=path` (or CAUSEWAY_CONFIGFILE /
// TRAEFIK_CONFIGFILE; relative to `workingDir`; a missing file is an error), else the first of
// findStaticConfigFile(staticConfigSearchDirectories(workingDir)); no file is fine.
// Environment variables whose first segment is not a static section are ignored (as Traefik).
// `args` are the arguments after the program name and sub-command; `environ` holds
// "NAME=value" strings. Implicit entry points are applied. Never throws.
StaticLoadResult loadStaticConfig(const std::vector<std::string>& args,
                                  const std::vector<std::string>& environ,
                                  const std::string& workingDir);

// `workingDir`, then $XDG_CONFIG_HOME and $HOME/.config (from `environ`, as Traefik),
// then /etc/causeway, then /etc/traefik.
std::vector<std::string> staticConfigSearchDirectories(const std::string& workingDir,
                                                       const std::vector<std::string>& environ = {});

// The first existing file among causeway.yml, causeway.yaml, causeway.toml, traefik.yml,
// traefik.yaml, traefik.toml in the first directory, then the next directory...; "" if none.
std::string findStaticConfigFile(const std::vector<std::string>& directories);

} // namespace causeway::config
