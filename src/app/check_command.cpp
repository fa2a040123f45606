// `causeway check`: loads the static and dynamic configuration exactly as `run` would,
// without opening any socket, and prints every problem with its file, line and element.
// --kvDump=FILE reads the configured KV provider's keys from a dump (provider/kv_layout.h) and
// --dockerInspect=FILE the docker provider's containers from `docker inspect` output, instead
// of the live store and engine.
// Exit status: 1 when there is at least one error; else 3 when the configuration uses an option
// causeway does not implement yet (unless --acceptUnsupported); else 0. Warnings are printed too.
#include <iostream>

#include "app/commands.h"
#include "app/setup.h"
#include "config/api_management.h"
#include "control/config_pipeline.h"
#include "control/server.h"
#include "provider/docker_provider.h"
#include "provider/kv_layout.h"

namespace causeway::app {
namespace {

// An error about one API management resource: printed with the resource's state below.
bool apiManagementElement(const std::string& element) {
  for (std::string_view kind : config::kApiManagementKinds)
    if (element.rfind("apiManagement." + std::string(kind) + ".", 0) == 0) return true;
  return false;
}

}  // namespace

int checkCommand(const CommandLine& cl) {
  std::vector<std::string> args;
  bool acceptUnsupported = false;
  std::string kvDump, dockerInspect;  // offline sources instead of the live store or engine
  for (const std::string& arg : cl.args) {
    if (arg == "--acceptUnsupported" || arg == "--acceptUnsupported=true") acceptUnsupported = true;
    else if (arg.starts_with("--kvDump=")) kvDump = arg.substr(9);
    else if (arg.starts_with("--dockerInspect=")) dockerInspect = arg.substr(16);
    else if (arg != "--acceptUnsupported=false") args.push_back(arg);
  }
  auto result = config::loadStaticConfig(args, cl.environ, cl.workingDir);
  int errors = 0, warnings = 0, unsupported = 0;
  auto print = [&](const std::string& line, bool warning, bool notImplemented = false) {
    std::cout << (warning ? (notImplemented ? "warning (not supported yet): " : "warning: ") : "error: ") << line
              << "\n";
    (warning ? warnings : errors) += 1;
    if (notImplemented) ++unsupported;
  };
  auto summary = [&] {
    std::string line = std::to_string(errors) + " error(s), " + std::to_string(warnings) + " warning(s)";
    if (unsupported > 0) line += ", " + std::to_string(unsupported) + " about options causeway does not implement yet";
    return line;
  };
  for (const auto& e : result.errors) print(e.toString(), e.warning, e.unsupported);
  if (!result.ok()) {
    std::cout << summary() << "\n";
    return 1;
  }
  const config::StaticConfig& config = result.config;
  if (!result.configFile.empty()) std::cout << "static configuration: " << result.configFile << "\n";

  std::vector<config::ConfigError> startErrors;
  auto entryPoints = control::resolveEntryPoints(config, startErrors);
  auto providers = makeProviders(config, startErrors);
  for (const auto& e : startErrors) print(e.toString(), e.warning, e.unsupported);

  // --kvDump stands for the KV provider configured (its name and rootKey), --dockerInspect for
  // the docker provider.
  std::string kvProvider, rootKey;
  if (config.providers.etcd) kvProvider = "etcd", rootKey = config.providers.etcd->rootKey;
  if (config.providers.consul) kvProvider = "consul", rootKey = config.providers.consul->rootKey;
  if (config.providers.redis) kvProvider = "redis", rootKey = config.providers.redis->rootKey;
  if (config.providers.zooKeeper) kvProvider = "zookeeper", rootKey = config.providers.zooKeeper->rootKey;
  if (!kvDump.empty() && kvProvider.empty())
    print("--kvDump: configure the KV provider it stands for (providers.etcd, consul, redis or zooKeeper)", false);
  if (!dockerInspect.empty() && !config.providers.docker)
    print("--dockerInspect: configure providers.docker (its options apply to the containers)", false);

  std::map<std::string, config::Node> roots;
  for (auto& provider : providers) {
    provider::LoadResult loaded;
    if (!kvDump.empty() && provider->name() == kvProvider) {
      std::vector<std::pair<std::string, std::string>> pairs;
      std::string error;
      loaded.config.provider = kvProvider;
      if (provider::readKvDump(kvDump, pairs, error)) {
        loaded.ok = true;
        loaded.config.root = provider::nodeFromKeyValues(pairs, rootKey, kvProvider + " dump " + kvDump, loaded.errors);
      } else {
        loaded.errors.push_back({{}, "--kvDump", error, false, false});
      }
    } else if (auto* docker = dynamic_cast<provider::DockerProvider*>(provider.get()); docker && !dockerInspect.empty()) {
      loaded = docker->loadInspect(dockerInspect);
    } else {
      loaded = provider->load();
    }
    for (const auto& e : loaded.errors) print(e.toString(), e.warning, e.unsupported);
    if (loaded.ok) roots[provider->name()] = loaded.config.shared ? *loaded.config.shared : std::move(loaded.config.root);
  }
  std::vector<config::ConfigError> decodeErrors;
  runtime::SnapshotPtr snapshot =
      control::ConfigPipeline::buildOnce(config, entryPoints, std::move(roots), decodeErrors);
  // Element errors appear again on their element below; print the others here.
  for (const auto& e : decodeErrors) {
    if (e.element.rfind("http.routers.", 0) == 0 || e.element.rfind("http.services.", 0) == 0 ||
        e.element.rfind("http.middlewares.", 0) == 0 || apiManagementElement(e.element))
      continue;
    print(e.toString(), e.warning, e.unsupported);
  }
  auto report = [&](const char* kind, const std::string& name, const runtime::ElementState& state) {
    for (const auto& error : state.errors)
      print(std::string(kind) + " " + name + ": " + error,
            state.unsupported || state.status != runtime::ElementStatus::Disabled, state.unsupported);
  };
  for (const auto& [name, state] : snapshot->runtime.routers) report("router", name, state);
  for (const auto& [name, state] : snapshot->runtime.services) report("service", name, state);
  for (const auto& [name, state] : snapshot->runtime.middlewares) report("middleware", name, state);
  for (const auto& [name, state] : snapshot->runtime.tcpRouters) report("TCP router", name, state);
  for (const auto& [name, state] : snapshot->runtime.tcpServices) report("TCP service", name, state);
  for (const auto& [name, state] : snapshot->runtime.tcpMiddlewares) report("TCP middleware", name, state);
  for (const auto& [name, state] : snapshot->runtime.udpRouters) report("UDP router", name, state);
  for (const auto& [name, state] : snapshot->runtime.udpServices) report("UDP service", name, state);
  for (const auto& [kind, resources] : snapshot->runtime.apiResources)
    for (const auto& [name, state] : resources) report(("apiManagement." + kind).c_str(), name, state);
  for (const auto& error : snapshot->runtime.globalErrors) print(error, false);

  size_t routers = 0;
  for (const auto& [name, state] : snapshot->runtime.routers)
    if (state.status != runtime::ElementStatus::Disabled) ++routers;
  std::cout << "routers: " << routers << " enabled of " << snapshot->runtime.routers.size() << "; " << summary()
            << "\n";
  if (errors > 0) return 1;
  if (unsupported > 0 && !acceptUnsupported) {
    std::cout << "exit status 3: the configuration uses options causeway does not implement yet "
                 "(--acceptUnsupported accepts them; docs/compatibility.md)\n";
    return 3;
  }
  return 0;
}

}  // namespace causeway::app
