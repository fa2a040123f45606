#include "config/flat_keys.h"

#include <optional>

namespace causeway::config {

void setPath(Node& root, const std::vector<std::string>& segments, const std::string& value,
             const Location& location) {
  Node* current = &root;
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    Node* child = current->find(segments[i]);
    if (!child)
      child = &current->set(segments[i], Node::map(location), location);
    else if (!child->isMap())
      *child = Node::map(location);
    current = child;
  }
  Node* existing = current->find(segments.back());
  if (existing && existing->isMap() && iequals(value, "true")) return;
  current->set(segments.back(), Node::scalar(value, location), location);
}

// "entryPoints.web.http.tls.domains[0].main" → entryPoints, web, http, tls, domains, 0, main.
std::optional<std::vector<std::string>> splitDottedPath(std::string_view path, std::string& error) {
  std::vector<std::string> segments;
  while (true) {
    const size_t dot = path.find('.');
    std::string_view part = path.substr(0, dot);
    const size_t bracket = part.find('[');
    std::string_view name = part.substr(0, bracket);
    if (name.empty()) {
      error = "empty key segment";
      return std::nullopt;
    }
    segments.emplace_back(name);
    for (std::string_view rest = bracket == std::string_view::npos ? "" : part.substr(bracket);
         !rest.empty();) {
      const size_t close = rest.find(']');
      if (rest.front() != '[' || close == std::string_view::npos ||
          !parseDecimal(rest.substr(1, close - 1))) {
        error = "malformed list index in '" + std::string(part) + "'; expected name[0]";
        return std::nullopt;
      }
      segments.emplace_back(rest.substr(1, close - 1));
      rest.remove_prefix(close + 1);
    }
    if (dot == std::string_view::npos) break;
    path.remove_prefix(dot + 1);
  }
  return segments;
}

namespace {

// "ENTRYPOINTS_WEB_ADDRESS" → entrypoints, web, address; nullopt when a segment is empty.
std::optional<std::vector<std::string>> splitVariableName(std::string_view name) {
  std::vector<std::string> segments;
  while (true) {
    const size_t underscore = name.find('_');
    const std::string_view segment = name.substr(0, underscore);
    if (segment.empty()) return std::nullopt;
    segments.push_back(toLower(segment));
    if (underscore == std::string_view::npos) return segments;
    name.remove_prefix(underscore + 1);
  }
}

} // namespace

Node nodeFromFlags(const std::vector<std::string>& args, std::vector<ConfigError>& errors,
                   const FlagKindFn& kindOf) {
  auto source = sourceName("command line");
  Node root = Node::map(Location{source, 0, 0});
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      for (size_t j = i + 1; j < args.size(); ++j)
        errors.push_back({Location{sourceName(*source + " " + args[j]), 0, 0}, {}, "unexpected argument '" + args[j] + "' after --", false});
      break;
    }
    std::string_view text = arg;
    size_t dashes = text.starts_with("--") ? 2 : text.starts_with("-") ? 1 : 0;
    const size_t equals = text.find('=', dashes);
    const std::string_view name = text.substr(0, equals);
    Location location{sourceName(*source + " " + std::string(name)), 0, 0};
    if (dashes == 0 || name.size() == dashes || text.substr(dashes).starts_with('-')) {
      errors.push_back({location, {}, "unexpected argument '" + arg + "'; expected --key=value, --key value or --key", false});
      continue;
    }
    std::string error;
    auto segments = splitDottedPath(name.substr(dashes), error);
    if (!segments) {
      errors.push_back({location, std::string(name.substr(dashes)), error, false});
      continue;
    }
    FlagKind kind = kindOf ? kindOf(*segments) : FlagKind::Bool;
    std::string value;
    if (equals != std::string_view::npos) {
      value = arg.substr(equals + 1);
    } else if (kind == FlagKind::Bool || kind == FlagKind::Section) {
      value = "true";
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      errors.push_back({location, std::string(name.substr(dashes)), "flag needs an argument", false});
      continue;
    }
    if (kind == FlagKind::List) {
      // Repeated list flags collect their values (--entryPoints.web.forwardedHeaders.trustedIPs=a
      // --entryPoints.web.forwardedHeaders.trustedIPs=b).
      const Node* parent = &root;
      for (size_t s = 0; parent && s + 1 < segments->size(); ++s) parent = parent->find((*segments)[s]);
      const Node* existing = parent ? parent->find(segments->back()) : nullptr;
      if (existing && existing->isScalar() && !existing->text().empty()) value = existing->text() + "," + value;
    }
    setPath(root, *segments, value, location);
  }
  return root;
}

Node nodeFromEnvironment(const std::vector<std::string>& environ,
                         std::vector<ConfigError>& errors) {
  auto source = sourceName("environment");
  Node root = Node::map(Location{source, 0, 0});
  // TRAEFIK_ variables first, so that CAUSEWAY_ ones overwrite them.
  for (std::string_view prefix : {"TRAEFIK_", "CAUSEWAY_"}) {
    for (const std::string& variable : environ) {
      const size_t equals = variable.find('=');
      if (equals == std::string::npos) continue;
      const std::string_view name = std::string_view(variable).substr(0, equals);
      if (!istartsWith(name, prefix) || name.size() == prefix.size()) continue;
      Location location{sourceName(*source + " " + std::string(name)), 0, 0};
      auto segments = splitVariableName(name.substr(prefix.size()));
      if (!segments) {
        errors.push_back({location, {}, "empty key segment (double or trailing '_')", false});
        continue;
      }
      setPath(root, *segments, variable.substr(equals + 1), location);
    }
  }
  return root;
}

} // namespace causeway::config
