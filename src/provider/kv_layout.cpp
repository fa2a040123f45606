#include "provider/kv_layout.h"

#include "config/flat_keys.h"

namespace causeway::provider {

namespace {

template <class Pairs>
config::Node build(const Pairs& pairs, std::string_view rootKey, const std::string& source,
                   std::vector<config::ConfigError>& errors) {
  config::Node root = config::Node::map();
  auto origin = std::make_shared<const std::string>(source);
  std::string prefix = std::string(rootKey) + "/";
  for (const auto& [key, value] : pairs) {
    if (!key.starts_with(prefix)) continue;
    config::Location location;
    location.source = origin;
    location.key = key;
    std::vector<std::string> segments;
    bool bad = key.size() == prefix.size();
    for (std::string_view rest = std::string_view(key).substr(prefix.size()); !bad;) {
      size_t slash = rest.find('/');
      std::string_view segment = rest.substr(0, slash);
      if (segment.empty()) bad = true;
      segments.emplace_back(segment);
      if (slash == std::string_view::npos) break;
      rest = rest.substr(slash + 1);
    }
    if (bad) {
      config::ConfigError error;
      error.location = location;
      error.element = key;
      error.message = "expected a key of the form " + prefix + "<section>/<name>/…, without empty segments";
      errors.push_back(std::move(error));
      continue;
    }
    config::setPath(root, segments, value, location);
  }
  return root;
}

}  // namespace

config::Node nodeFromKeyValues(const std::vector<std::pair<std::string, std::string>>& pairs,
                               std::string_view rootKey, const std::string& source,
                               std::vector<config::ConfigError>& errors) {
  return build(pairs, rootKey, source, errors);
}

config::Node nodeFromKeyValues(const std::map<std::string, std::string>& pairs,
                               std::string_view rootKey, const std::string& source,
                               std::vector<config::ConfigError>& errors) {
  return build(pairs, rootKey, source, errors);
}

}  // namespace causeway::provider
