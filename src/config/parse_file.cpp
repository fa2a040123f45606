
#include <fstream>
#include <sstream>

#include "config/go_template.h"
#include "config/parse.h"

namespace causeway::config {

namespace {

constexpr std::streamoff kMaxConfigFileBytes = 64 << 20;

bool endsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

ParseResult failure(const std::string& path, std::string message) {
  ParseResult result;
  result.errors.push_back({Location{sourceName(path), 0, 0}, {}, std::move(message), false});
  return result;
}

} // namespace

bool parseDynamicText(std::string_view text, const std::string& sourceName, Node& out,
                      std::vector<ConfigError>& warnings, std::string& error) {
  ParseResult parsed = parseYaml(text, sourceName);  // JSON is YAML too
  for (ConfigError& e : parsed.errors) {
    if (!e.warning) {
      error = e.toString();
      return false;
    }
    warnings.push_back(std::move(e));
  }
  if (parsed.root.isNull()) parsed.root = Node::map();
  if (!parsed.root.isMap()) {
    error = "expected a dynamic configuration object (http, tcp, udp, tls, apiManagement)";
    return false;
  }
  out = std::move(parsed.root);
  return true;
}

ParseResult parseConfigFile(const std::string& path, const TemplateOptions* templated) {
  const bool yaml = endsWith(path, ".yml") || endsWith(path, ".yaml");
  const bool toml = endsWith(path, ".toml");
  if (!yaml && !toml)
    return failure(path, "unsupported configuration file extension; expected .yml, .yaml or .toml");

  std::ifstream file(path, std::ios::binary);
  if (!file) return failure(path, "cannot read configuration file");
  file.seekg(0, std::ios::end);
  const std::streamoff size = file.tellg();
  if (size < 0) return failure(path, "cannot read configuration file");
  if (size > kMaxConfigFileBytes) return failure(path, "configuration file larger than 64 MiB");
  file.seekg(0, std::ios::beg);
  std::string text(size > 0 ? size_t(size) : 0, '\0');
  if (size > 0 && !file.read(text.data(), size))
    return failure(path, "cannot read configuration file");

  if (!templated) return yaml ? parseYaml(text, path) : parseToml(text, path);

  // A dynamic file is a Go template first (Traefik's file provider): rendered with no data,
  // then parsed. A file without actions renders to itself.
  if (!gotemplate::hasActions(text)) return yaml ? parseYaml(text, path) : parseToml(text, path);
  std::string rendered;
  gotemplate::Error error;
  if (!gotemplate::render(text, gotemplate::Value(), rendered, error)) {
    ParseResult result;
    result.errors.push_back({Location{sourceName(path), error.line, 0}, {},
                             "template: " + error.message, false});
    return result;
  }
  if (templated->generated) *templated->generated = rendered;
  ParseResult result = yaml ? parseYaml(rendered, path) : parseToml(rendered, path);
  if (rendered != text)
    for (ConfigError& e : result.errors)
      if (e.location.line > 0)
        e.message += " (at a line of the text the template generated; "
                     "providers.file.debugLogGeneratedTemplate logs it)";
  return result;
}

} // namespace causeway::config
