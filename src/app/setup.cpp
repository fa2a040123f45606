#include "app/setup.h"

#include <iostream>

#include "core/log.h"
#include "provider/acme/acme_provider.h"
#include "provider/consul_provider.h"
#include "provider/docker_provider.h"
#include "provider/etcd_provider.h"
#include "provider/file_provider.h"
#include "provider/http_provider.h"
#include "provider/kubernetes/crd_builder.h"
#include "provider/kubernetes/gateway_builder.h"
#include "provider/kubernetes/ingress_builder.h"
#include "provider/kubernetes/kube_provider.h"
#include "provider/kubernetes/nginx_builder.h"
#include "provider/redis_provider.h"
#include "provider/rest_provider.h"
#include "provider/zookeeper_provider.h"

namespace causeway::app {

std::optional<config::StaticConfig> loadStatic(const CommandLine& cl, std::string* configFile,
                                               std::vector<config::ConfigError>* warnings) {
  auto result = config::loadStaticConfig(cl.args, cl.environ, cl.workingDir);
  if (configFile) *configFile = result.configFile;
  if (!result.ok()) {
    for (const auto& error : result.errors)
      std::cerr << (error.warning ? "warning: " : "error: ") << error.toString() << "\n";
    return std::nullopt;
  }
  // Warnings are logged once logging is set up (the configuration says where logs go).
  if (warnings) *warnings = std::move(result.errors);
  else
    for (const auto& error : result.errors) std::cerr << "warning: " << error.toString() << "\n";
  return std::move(result.config);
}

void logWarnings(const std::vector<config::ConfigError>& warnings) {
  for (const auto& warning : warnings) {
    if (warning.unsupported)
      log::warn(warning.toString(), {{"notSupportedYet", true}});
    else
      log::warn(warning.toString());
  }
}

bool setupLogging(const config::StaticConfig& config) {
  log::Options options;
  if (!log::parseLevel(config.log.level, options.level)) options.level = log::Level::Error;
  options.json = iequals(config.log.format, "json");
  options.filePath = config.log.filePath;
  std::string error;
  if (!log::configure(options, error)) {
    std::cerr << "log.filePath: " << error << "\n";
    return false;
  }
  return true;
}

std::vector<std::unique_ptr<provider::Provider>> makeProviders(const config::StaticConfig& config,
                                                               std::vector<config::ConfigError>& errors) {
  std::vector<std::unique_ptr<provider::Provider>> providers;
  const auto& p = config.providers;
  if (p.file) {
    provider::FileProviderOptions options;
    options.filename = p.file->filename;
    options.directory = p.file->directory;
    options.watch = p.file->watch;
    options.debugLogGeneratedTemplate = p.file->debugLogGeneratedTemplate;
    options.guardRouterLoss = p.file->guardRouterLoss;
    providers.push_back(std::make_unique<provider::FileProvider>(options));
  }
  if (p.redis) providers.push_back(std::make_unique<provider::RedisProvider>(*p.redis));
  if (p.consul) providers.push_back(std::make_unique<provider::ConsulProvider>(*p.consul));
  if (p.docker) providers.push_back(std::make_unique<provider::DockerProvider>(*p.docker));
  if (p.zooKeeper) providers.push_back(std::make_unique<provider::ZooKeeperProvider>(*p.zooKeeper));
  if (p.etcd) providers.push_back(std::make_unique<provider::EtcdProvider>(*p.etcd));
  if (p.http) providers.push_back(std::make_unique<provider::HttpProvider>(*p.http));
  if (p.rest) providers.push_back(std::make_unique<provider::RestProvider>());
  if (p.kubernetesCRD) {
    provider::kube::CrdOptions options;
    options.ingressClass = p.kubernetesCRD->ingressClass;
    options.allowCrossNamespace = p.kubernetesCRD->allowCrossNamespace;
    options.allowExternalNameServices = p.kubernetesCRD->allowExternalNameServices;
    options.allowEmptyServices = p.kubernetesCRD->allowEmptyServices;
    options.nativeLBByDefault = p.kubernetesCRD->nativeLBByDefault;
    auto cache = std::make_shared<provider::kube::CrdCache>();  // the IngressRoutes built last time
    providers.push_back(std::make_unique<provider::KubernetesProvider>(
        "kubernetescrd", "providers.kubernetesCRD", *p.kubernetesCRD, provider::kube::crdResources(),
        [options, cache](const provider::kube::KubeObjects& objects) {
          return buildCrdConfig(objects, options, cache.get());
        }));
  }
  if (p.kubernetesGateway) {
    const config::KubernetesGatewayProvider& k = *p.kubernetesGateway;
    provider::kube::GatewayOptions options;
    for (const auto& [name, ep] : config.entryPoints) {
      std::string address = ep.address.substr(0, ep.address.find('/'));
      size_t colon = address.rfind(':');
      int port = colon == std::string::npos ? 0 : std::atoi(address.c_str() + colon + 1);
      options.entryPoints.push_back({name, port, ep.http.tls.has_value()});
    }
    if (k.statusAddress) {
      options.statusIp = k.statusAddress->ip;
      options.statusHostname = k.statusAddress->hostname;
      if (k.statusAddress->service) {
        options.statusServiceName = k.statusAddress->service->name;
        options.statusServiceNamespace = k.statusAddress->service->namespace_;
      }
    }
    options.nativeLBByDefault = k.nativeLBByDefault;
    options.experimentalChannel = k.experimentalChannel;
    providers.push_back(std::make_unique<provider::KubernetesProvider>(
        "kubernetesgateway", "providers.kubernetesGateway", k, provider::kube::gatewayResources(k.experimentalChannel),
        [options](const provider::kube::KubeObjects& objects) { return buildGatewayConfig(objects, options); }));
  }
  if (p.kubernetesIngressNGINX) {
    config::KubernetesIngressNginxProvider k = *p.kubernetesIngressNGINX;
    if (!k.watchNamespace.empty()) k.namespaces = {k.watchNamespace};
    provider::kube::NginxOptions options;
    options.ingressClass = k.ingressClass;
    options.controllerClass = k.controllerClass;
    options.watchIngressWithoutClass = k.watchIngressWithoutClass;
    options.ingressClassByName = k.ingressClassByName;
    options.publishService = k.publishService;
    options.publishStatusAddress = k.publishStatusAddress;
    options.defaultBackendService = k.defaultBackendService;
    options.allowSnippetAnnotations = k.allowSnippetAnnotations;
    options.allowCrossNamespaceResources = k.allowCrossNamespaceResources;
    options.strictValidatePathType = k.strictValidatePathType;
    options.disableSvcExternalName = k.disableSvcExternalName;
    options.globalAllowedResponseHeaders = k.globalAllowedResponseHeaders;
    options.proxyBodySize = k.proxyBodySize;
    options.proxyConnectTimeout = k.proxyConnectTimeout;
    options.proxyReadTimeout = k.proxyReadTimeout;
    options.proxySendTimeout = k.proxySendTimeout;
    options.upstreamKeepaliveTimeout = k.upstreamKeepaliveTimeout;
    options.proxyNextUpstreamTries = k.proxyNextUpstreamTries;
    if (!k.httpEntryPoint.empty()) options.nonTlsEntryPoints = {k.httpEntryPoint};
    else
      for (const auto& [name, ep] : config.entryPoints)
        if (!ep.http.tls) options.nonTlsEntryPoints.push_back(name);
    if (!k.httpsEntryPoint.empty()) options.tlsEntryPoints = {k.httpsEntryPoint};
    providers.push_back(std::make_unique<provider::KubernetesProvider>(
        "kubernetesingressnginx", "providers.kubernetesIngressNGINX", k, provider::kube::nginxResources(),
        [options](const provider::kube::KubeObjects& objects) { return buildNginxConfig(objects, options); }));
  }
  if (p.kubernetesIngress) {
    const config::KubernetesIngressProvider& k = *p.kubernetesIngress;
    provider::kube::IngressOptions options;
    options.ingressClass = k.ingressClass;
    options.allowExternalNameServices = k.allowExternalNameServices;
    options.allowEmptyServices = k.allowEmptyServices;
    options.nativeLBByDefault = k.nativeLBByDefault;
    options.strictPrefixMatching = k.strictPrefixMatching;
    options.disableIngressClassLookup = k.disableIngressClassLookup || k.disableClusterScopeResources;
    if (k.ingressEndpoint) {
      options.endpointIp = k.ingressEndpoint->ip;
      options.endpointHostname = k.ingressEndpoint->hostname;
      options.publishedService = k.ingressEndpoint->publishedService;
    }
    providers.push_back(std::make_unique<provider::KubernetesProvider>(
        "kubernetes", "providers.kubernetesIngress", k, provider::kube::ingressResources(),
        [options](const provider::kube::KubeObjects& objects) { return buildIngressConfig(objects, options); }));
  }
  for (const auto& [name, resolver] : config.certificatesResolvers)
    if (resolver.acme) {
      providers.push_back(std::make_unique<provider::AcmeProvider>(config, std::make_shared<tls::AcmeState>()));
      break;
    }
  auto unsupported = [&](const std::optional<config::Node>& section, const char* name) {
    if (!section) return;
    config::ConfigError warning;
    warning.location = section->location();
    warning.element = std::string("providers.") + name;
    warning.message = "this provider is not supported yet; it is ignored";
    warning.warning = true;
    warning.unsupported = true;
    errors.push_back(warning);
  };
  unsupported(p.swarm, "swarm");
  unsupported(p.knative, "knative");
  unsupported(p.consulCatalog, "consulCatalog");
  unsupported(p.nomad, "nomad");
  unsupported(p.ecs, "ecs");
  unsupported(p.plugin, "plugin");
  return providers;
}

}  // namespace causeway::app
