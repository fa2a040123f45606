#include "provider/kv_layout.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "config/flat_keys.h"
#include "core/bytes.h"

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

bool readKvDump(const std::string& path, std::vector<std::pair<std::string, std::string>>& out,
                std::string& error) {
  namespace json = boost::json;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    error = "cannot read " + path;
    return false;
  }
  std::stringstream text;
  text << file.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(text.str(), ec);
  if (ec) {
    error = path + " is not JSON: " + ec.message();
    return false;
  }
  auto decoded = [&](const json::value* field, std::string& into) {
    into.clear();
    return !field || field->is_null() || (field->is_string() && base64Decode(std::string_view(field->as_string()), into));
  };
  out.clear();
  if (v.is_object() && v.as_object().contains("kvs")) {  // etcdctl get --prefix -w json
    const json::value& kvs = v.as_object().at("kvs");
    for (const json::value& kv : kvs.is_array() ? kvs.as_array() : json::array{}) {
      std::string key, value;
      if (!kv.is_object() || !decoded(kv.as_object().if_contains("key"), key) ||
          !decoded(kv.as_object().if_contains("value"), value)) {
        error = path + ": an entry of kvs is not base64 key and value";
        return false;
      }
      out.emplace_back(std::move(key), std::move(value));
    }
    return true;
  }
  if (v.is_object()) {  // {"traefik/http/…": "value"}
    for (const auto& [key, value] : v.as_object()) {
      if (!value.is_string()) {
        error = path + ": the value of " + std::string(key) + " is not a string";
        return false;
      }
      out.emplace_back(std::string(key), std::string(value.as_string()));
    }
    return true;
  }
  if (v.is_array()) {  // consul kv export
    for (const json::value& entry : v.as_array()) {
      const json::object* o = entry.if_object();
      const json::value* key = o ? o->if_contains("key") : nullptr;
      std::string value;
      if (!key || !key->is_string() || !decoded(o->if_contains("value"), value)) {
        error = path + ": expected consul kv export entries {key, value (base64)}";
        return false;
      }
      std::string name(key->as_string());
      if (!name.ends_with("/")) out.emplace_back(std::move(name), std::move(value));
    }
    return true;
  }
  error = path + ": expected a JSON object of keys, etcdctl's JSON or consul kv export";
  return false;
}

}  // namespace causeway::provider
