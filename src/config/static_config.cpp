#include "config/static_config.h"

#include <filesystem>
#include <system_error>

#include "config/dynamic_config.h"
#include "config/flat_keys.h"
#include "config/parse.h"
#include "config/static_keys.h"

namespace causeway::config {

namespace {

constexpr const char* kConfigFileNames[] = {"causeway.yml", "causeway.yaml", "causeway.toml",
                                            "traefik.yml",  "traefik.yaml",  "traefik.toml"};

bool isRegularFile(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// Removes a meta key (configFile, configLayering) from a flags or environment tree; returns its
// value node.
std::optional<Node> takeKey(Node& root, std::string_view key) {
  const Node* value = root.find(key);
  if (!value) return std::nullopt;
  Node result = *value;
  root.erase(key);
  return result;
}

// Keeps only the environment variables that address a static section (Traefik ignores the
// others, e.g. TRAEFIK_VERSION set by container images).
void dropUnknownSections(Node& environment) {
  const auto& sections = fieldNames<StaticConfig>();
  std::vector<std::string> unknown;
  for (const NodeEntry& entry : environment.entries()) {
    bool known = false;
    for (std::string_view section : sections)
      known = known || iequals(section, entry.key);
    if (!known) unknown.push_back(entry.key);
  }
  for (const std::string& key : unknown)
    environment.erase(key);
}

} // namespace

void applyImplicitEntryPoints(StaticConfig& config) {
  if (config.entryPoints.empty()) config.entryPoints["http"].address = ":80";
  const bool apiNeedsIt = config.api && config.api->insecure;
  const bool pingNeedsIt =
      config.ping && !config.ping->manualRouting && config.ping->entryPoint == "traefik";
  const bool metricsNeedIt = config.metrics && config.metrics->prometheus &&
                             !config.metrics->prometheus->manualRouting &&
                             config.metrics->prometheus->entryPoint == "traefik";
  const bool restNeedsIt = config.providers.rest && config.providers.rest->insecure;
  if ((apiNeedsIt || pingNeedsIt || metricsNeedIt || restNeedsIt) &&
      !config.entryPoints.contains("traefik"))
    config.entryPoints["traefik"].address = ":8080";
}

std::vector<std::string> staticConfigSearchDirectories(const std::string& workingDir,
                                                       const std::vector<std::string>& environ) {
  auto variable = [&](std::string_view name) -> std::string {
    for (const auto& entry : environ)
      if (entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 && entry[name.size()] == '=')
        return entry.substr(name.size() + 1);
    return {};
  };
  std::vector<std::string> directories = {workingDir};
  // Traefik also searches $XDG_CONFIG_HOME/ and $HOME/.config/.
  if (std::string xdg = variable("XDG_CONFIG_HOME"); !xdg.empty()) directories.push_back(xdg);
  if (std::string home = variable("HOME"); !home.empty()) directories.push_back(home + "/.config");
  directories.push_back("/etc/causeway");
  directories.push_back("/etc/traefik");
  return directories;
}

std::string findStaticConfigFile(const std::vector<std::string>& directories) {
  for (const std::string& directory : directories) {
    for (const char* name : kConfigFileNames) {
      const std::filesystem::path path = std::filesystem::path(directory) / name;
      if (isRegularFile(path)) return path.string();
    }
  }
  return {};
}

StaticLoadResult loadStaticConfig(const std::vector<std::string>& args,
                                  const std::vector<std::string>& environ,
                                  const std::string& workingDir) {
  StaticLoadResult result;
  Node flags = nodeFromFlags(args, result.errors, [](std::span<const std::string> path) {
    if (path.size() == 1 && (iequals(path[0], "configFile"))) return FlagKind::Value;
    if (path.size() == 1 && (iequals(path[0], "configLayering"))) return FlagKind::Bool;
    return flagKind(path);
  });
  Node environment = nodeFromEnvironment(environ, result.errors);

  // Which file.
  std::optional<Node> configFileFlag = takeKey(flags, "configFile");
  std::optional<Node> configFileEnv = takeKey(environment, "configFile");
  std::optional<Node> layeringFlag = takeKey(flags, "configLayering");
  std::optional<Node> layeringEnv = takeKey(environment, "configLayering");
  const std::optional<Node>& chosen = configFileFlag ? configFileFlag : configFileEnv;
  if (chosen) {
    std::filesystem::path path = chosen->text();
    if (path.is_relative()) path = std::filesystem::path(workingDir) / path;
    if (!chosen->isScalar() || chosen->text().empty())
      result.errors.push_back({chosen->location(), "configFile", "expected a file path", false});
    else if (!isRegularFile(path))
      result.errors.push_back({chosen->location(), "configFile",
                               "configuration file not found: " + path.string(), false});
    else
      result.configFile = path.string();
    if (!result.ok()) return result;
  } else {
    result.configFile = findStaticConfigFile(staticConfigSearchDirectories(workingDir, environ));
  }
  bool layering = false;
  for (const auto& flag : {layeringFlag, layeringEnv}) {
    if (!flag || layering) continue;
    DecodeContext context;
    decode(*flag, layering, context);
    for (auto& e : context.takeErrors()) result.errors.push_back(std::move(e));
  }
  dropUnknownSections(environment);

  Node root = Node::map();
  if (!result.configFile.empty()) {
    ParseResult parsed = parseConfigFile(result.configFile);
    result.errors.insert(result.errors.end(), parsed.errors.begin(), parsed.errors.end());
    if (parsed.root.isMap())
      root = std::move(parsed.root);
    else if (!parsed.root.isNull())
      result.errors.push_back(
          {parsed.root.location(),
           {},
           "expected a map of static sections; got " + std::string(parsed.root.kindName()),
           false});
  }
  if (layering) {
    // causeway's opt-in: file < environment < flags.
    overlay(root, environment);
    overlay(root, flags);
    result.sources = "file, environment and flags (configLayering)";
  } else {
    // Traefik's rule: one source, the file if there is one, else the flags, else the
    // environment. What the others set is ignored, and said so.
    auto ignored = [&](const Node& source, const std::string& why) {
      for (const NodeEntry& entry : source.entries())
        result.errors.push_back({entry.keyLocation.known() ? entry.keyLocation : source.location(), entry.key,
                                 "ignored: " + why + " (Traefik reads the static configuration from one source; "
                                 "--configLayering=true combines them)",
                                 true});
    };
    if (!result.configFile.empty()) {
      ignored(flags, "the static configuration comes from " + result.configFile);
      ignored(environment, "the static configuration comes from " + result.configFile);
      result.sources = "file";
    } else if (flags.size() > 0) {
      root = std::move(flags);
      ignored(environment, "the static configuration comes from the command line");
      result.sources = "flags";
    } else {
      root = std::move(environment);
      result.sources = root.size() > 0 ? "environment" : "defaults";
    }
  }

  // The same file may hold dynamic configuration for the file provider (Traefik's loaders each
  // take their own root keys): those keys are not static ones, and are skipped here.
  for (std::string_view key : fieldNames<DynamicConfig>()) root.erase(key);

  DecodeContext context;
  decode(root, result.config, context);
  std::vector<ConfigError> decodeErrors = context.takeErrors();
  result.errors.insert(result.errors.end(), decodeErrors.begin(), decodeErrors.end());
  applyImplicitEntryPoints(result.config);
  return result;
}

} // namespace causeway::config
