#include "provider/kv_layout.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "config/flat_keys.h"
#include "core/bytes.h"

namespace causeway::provider {

KvTree::KvTree(std::string_view rootKey, const std::string& source)
    : prefix_(std::string(rootKey) + "/"),
      origin_(std::make_shared<const std::string>(source)),
      root_(std::make_shared<config::Node>(config::Node::map())) {}

config::Node& KvTree::root() {
  if (root_.use_count() > 1) root_ = std::make_shared<config::Node>(*root_);
  return *root_;
}

config::Node KvTree::take() {
  if (root_.use_count() > 1) return *root_;
  return std::move(*root_);
}

bool KvTree::split(const std::string& key, std::vector<std::string>& segments) const {
  segments.clear();
  if (key.size() == prefix_.size()) return false;
  for (std::string_view rest = std::string_view(key).substr(prefix_.size());;) {
    size_t slash = rest.find('/');
    std::string_view segment = rest.substr(0, slash);
    if (segment.empty()) return false;
    segments.emplace_back(segment);
    if (slash == std::string_view::npos) return true;
    rest = rest.substr(slash + 1);
  }
}

void KvTree::put(const std::string& key, const std::string& value) {
  if (!key.starts_with(prefix_)) return;
  // The store and the key in one shared string, which every node of the key's path points to
  // (a Location is copied into each): it prints as "<store> <key>", as a source and a key do.
  config::Location location;
  location.source = std::make_shared<const std::string>(*origin_ + " " + key);
  std::vector<std::string> segments;
  if (!split(key, segments)) {
    config::ConfigError error;
    error.location = location;
    error.element = key;
    error.message = "expected a key of the form " + prefix_ + "<section>/<name>/…, without empty segments";
    std::erase_if(bad_, [&](const config::ConfigError& e) { return e.element == key; });
    bad_.push_back(std::move(error));
    return;
  }
  config::setPath(root(), segments, value, location);
}

void KvTree::remove(const std::string& key) {
  if (!key.starts_with(prefix_)) return;
  if (std::erase_if(bad_, [&](const config::ConfigError& e) { return e.element == key; })) return;
  std::vector<std::string> segments;
  if (!split(key, segments)) return;
  // The path to the key, then the key, then the maps it leaves empty.
  config::Node* node = &root();
  std::vector<config::Node*> chain{node};
  for (size_t i = 0; i + 1 < segments.size(); ++i) {
    node = node->find(segments[i]);
    if (!node || !node->isMap()) return;
    chain.push_back(node);
  }
  // A key that is also a directory of other keys ("…/tls" = "true" beside "…/tls/certResolver")
  // holds their values: they stay.
  const config::Node* leaf = chain.back()->find(segments.back());
  if (!leaf || leaf->isMap()) return;
  chain.back()->erase(segments.back());
  for (size_t i = chain.size() - 1; i > 0 && chain[i]->size() == 0; --i) chain[i - 1]->erase(segments[i - 1]);
}

std::vector<config::ConfigError> KvTree::errors() const { return bad_; }

namespace {

template <class Pairs>
config::Node build(const Pairs& pairs, std::string_view rootKey, const std::string& source,
                   std::vector<config::ConfigError>& errors) {
  KvTree tree(rootKey, source);
  for (const auto& [key, value] : pairs) tree.put(key, value);
  for (config::ConfigError& e : tree.errors()) errors.push_back(std::move(e));
  return tree.take();
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
