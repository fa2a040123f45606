// YAML → Node, with yaml-cpp. yaml-cpp throws; nothing escapes this file.

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>

#include "config/parse.h"

namespace causeway::config {

namespace {

class YamlConverter {
public:
  YamlConverter(std::shared_ptr<const std::string> source, std::vector<ConfigError>& errors)
      : source_(std::move(source)), errors_(errors) {}

  Location at(const YAML::Mark& mark, const Location& fallback) const {
    if (mark.is_null() || mark.line < 0) return fallback;
    Location location;
    location.source = source_;
    location.line = mark.line + 1;
    location.column = mark.column + 1;
    return location;
  }

  Location at(const YAML::Mark& mark) const { return at(mark, Location{source_, 0, 0}); }

  Node convert(const YAML::Node& yaml, const Location& fallback) {
    Location location = at(yaml.Mark(), fallback);
    switch (yaml.Type()) {
    case YAML::NodeType::Undefined:
    case YAML::NodeType::Null:
      return Node::null(location);
    case YAML::NodeType::Scalar:
      return Node::scalar(yaml.Scalar(), location);
    case YAML::NodeType::Sequence: {
      Node list = Node::list(location);
      for (const YAML::Node& item : yaml)
        list.append(convert(item, location));
      return list;
    }
    case YAML::NodeType::Map:
      return convertMap(yaml, location);
    }
    return Node::null(location);
  }

private:
  Node convertMap(const YAML::Node& yaml, const Location& location) {
    Node map = Node::map(location);
    std::vector<Node> mergeSources; // values of `<<` keys, applied after the explicit keys
    for (auto it = yaml.begin(); it != yaml.end(); ++it) {
      Location keyLocation = at(it->first.Mark(), location);
      if (!it->first.IsScalar()) {
        errors_.push_back({keyLocation, {}, "map keys must be plain values", false});
        continue;
      }
      const std::string& key = it->first.Scalar();
      Node value = convert(it->second, keyLocation);
      if (key == "<<") {
        mergeSources.push_back(std::move(value));
        continue;
      }
      if (const auto i = map.indexOf(key)) {
        errors_.push_back({keyLocation,
                           {},
                           "duplicate key '" + key +
                               "' (keys are case-insensitive; the first is '" +
                               map.entries()[*i].key + "'); the later value wins",
                           true});
      }
      map.set(key, std::move(value), std::move(keyLocation));
    }
    for (const Node& source : mergeSources)
      merge(map, source);
    return map;
  }

  // YAML merge key: entries of the merged map(s) that the map does not define itself.
  void merge(Node& map, const Node& source) {
    if (source.isList()) {
      for (const Node& item : source.items())
        merge(map, item);
      return;
    }
    if (!source.isMap()) {
      errors_.push_back(
          {source.location(), {}, "a merge key '<<' expects a map or a list of maps", false});
      return;
    }
    for (const NodeEntry& entry : source.entries())
      if (!map.find(entry.key)) map.set(entry.key, entry.value, entry.keyLocation);
  }

  std::shared_ptr<const std::string> source_;
  std::vector<ConfigError>& errors_;
};

} // namespace

ParseResult parseYaml(std::string_view text, const std::string& name) {
  ParseResult result;
  auto source = sourceName(name);
  YamlConverter converter(source, result.errors);
  try {
    YAML::Node document = YAML::Load(std::string(text));
    result.root = converter.convert(document, Location{source, 0, 0});
  } catch (const YAML::DeepRecursion& e) { // yaml-cpp reports it as "bad file"
    result.root = Node();
    result.errors.push_back({converter.at(e.mark), {}, "invalid YAML: nesting too deep", false});
  } catch (const YAML::Exception& e) {
    result.root = Node();
    result.errors.push_back({converter.at(e.mark), {}, "invalid YAML: " + e.msg, false});
  } catch (const std::exception& e) {
    result.root = Node();
    result.errors.push_back(
        {Location{source, 0, 0}, {}, std::string("invalid YAML: ") + e.what(), false});
  }
  return result;
}

} // namespace causeway::config
