// TOML → Node, with toml++.

#include <algorithm>
#include <charconv>
#include <sstream>
#include <toml++/toml.h>

#include "config/parse.h"

namespace causeway::config {

namespace {

class TomlConverter {
public:
  explicit TomlConverter(std::shared_ptr<const std::string> source) : source_(std::move(source)) {}

  Location at(const toml::source_region& region) const {
    Location location;
    location.source = source_;
    location.line = int(region.begin.line);
    location.column = int(region.begin.column);
    return location;
  }

  Node convert(const toml::node& toml) const {
    Location location = at(toml.source());
    if (const toml::table* table = toml.as_table()) return convertTable(*table, location);
    if (const toml::array* array = toml.as_array()) {
      Node list = Node::list(location);
      for (const toml::node& item : *array)
        list.append(convert(item));
      return list;
    }
    if (const auto* text = toml.as_string()) return Node::scalar(text->get(), location);
    if (const auto* integer = toml.as_integer())
      return Node::scalar(std::to_string(integer->get()), location);
    if (const auto* boolean = toml.as_boolean())
      return Node::scalar(boolean->get() ? "true" : "false", location);
    if (const auto* floating = toml.as_floating_point()) {
      char buffer[64];
      auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, floating->get());
      return Node::scalar(std::string(buffer, ec == std::errc() ? end : buffer), location);
    }
    // Dates and times: their TOML text.
    std::ostringstream out;
    toml.visit([&out](const auto& value) {
      if constexpr (toml::is_date<decltype(value)> || toml::is_time<decltype(value)> ||
                    toml::is_date_time<decltype(value)>)
        out << value;
    });
    return Node::scalar(out.str(), location);
  }

private:
  Node convertTable(const toml::table& table, const Location& location) const {
    // toml++ sorts keys; restore document order from the key positions.
    std::vector<std::pair<const toml::key*, const toml::node*>> entries;
    for (auto&& [key, value] : table)
      entries.emplace_back(&key, &value);
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      const auto& pa = a.first->source().begin;
      const auto& pb = b.first->source().begin;
      return pa.line != pb.line ? pa.line < pb.line : pa.column < pb.column;
    });
    Node map = Node::map(location);
    for (const auto& [key, value] : entries)
      map.set(std::string(key->str()), convert(*value), at(key->source()));
    return map;
  }

  std::shared_ptr<const std::string> source_;
};

} // namespace

ParseResult parseToml(std::string_view text, const std::string& name) {
  ParseResult result;
  auto source = sourceName(name);
  TomlConverter converter(source);
  auto fail = [&](const toml::parse_error& e) {
    result.errors.push_back(
        {converter.at(e.source()), {}, "invalid TOML: " + std::string(e.description()), false});
  };
#if TOML_EXCEPTIONS
  try {
    toml::table table = toml::parse(text, std::string_view(name));
    result.root = converter.convert(table);
  } catch (const toml::parse_error& e) {
    fail(e);
  } catch (const std::exception& e) {
    result.errors.push_back(
        {Location{source, 0, 0}, {}, std::string("invalid TOML: ") + e.what(), false});
  }
#else
  toml::parse_result parsed = toml::parse(text, std::string_view(name));
  if (parsed)
    result.root = converter.convert(parsed.table());
  else
    fail(parsed.error());
#endif
  // An empty document is an empty configuration, like an empty YAML file.
  if (result.root.isMap() && result.root.size() == 0)
    result.root = Node::null(result.root.location());
  return result;
}

} // namespace causeway::config
