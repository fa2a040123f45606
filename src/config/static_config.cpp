#include "config/static_config.h"

#include <filesystem>
#include <system_error>

#include "config/flat_keys.h"
#include "config/parse.h"

namespace causeway::config {

namespace {

constexpr const char* kConfigFileNames[] = {"causeway.yml", "causeway.yaml", "causeway.toml",
                                            "traefik.yml",  "traefik.yaml",  "traefik.toml"};

bool isRegularFile(const std::filesystem::path& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec);
}

// Removes the `configFile` key from a flags or environment tree; returns its value node.
std::optional<Node> takeConfigFileKey(Node& root) {
  const Node* value = root.find("configFile");
  if (!value) return std::nullopt;
  Node result = *value;
  root.erase("configFile");
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
  if ((apiNeedsIt || pingNeedsIt || metricsNeedIt) && !config.entryPoints.contains("traefik"))
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
  Node flags = nodeFromFlags(args, result.errors);
  Node environment = nodeFromEnvironment(environ, result.errors);

  // Which file.
  std::optional<Node> configFileFlag = takeConfigFileKey(flags);
  std::optional<Node> configFileEnv = takeConfigFileKey(environment);
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

  // File < environment < flags.
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
  dropUnknownSections(environment);
  overlay(root, environment);
  overlay(root, flags);

  DecodeContext context;
  decode(root, result.config, context);
  std::vector<ConfigError> decodeErrors = context.takeErrors();
  result.errors.insert(result.errors.end(), decodeErrors.begin(), decodeErrors.end());
  applyImplicitEntryPoints(result.config);
  return result;
}

} // namespace causeway::config
