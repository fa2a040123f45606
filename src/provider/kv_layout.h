// Traefik's KV layout (docs/providers.md, "The KV layout"), shared by the KV providers (Redis,
// etcd): every key under `rootKey` + "/" is one value of the dynamic configuration tree,
// `traefik/http/routers/api/rule` = "Host(`a`)", list items by index
// (`traefik/http/routers/api/entryPoints/0` = "web"); names match case-insensitively, as every
// configuration source's do. Values are plain strings (a JSON object is not expanded).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config_error.h"
#include "config/node.h"

namespace causeway::provider {

// The tree of one store's keys, kept up to date key by key (etcd's watch): put() and remove()
// change only the key's path, so a change costs in proportion to it. tree() hands the tree on
// without copying it; a change made while it is still held elsewhere copies it first.
class KvTree {
 public:
  KvTree(std::string_view rootKey, const std::string& source);
  // Sets `key` (outside rootKey + "/": ignored; a malformed key: one of errors()).
  void put(const std::string& key, const std::string& value);
  void remove(const std::string& key);
  std::shared_ptr<const config::Node> tree() const { return root_; }
  // The tree itself, when nothing else holds it (else a copy).
  config::Node take();
  std::vector<config::ConfigError> errors() const;

 private:
  config::Node& root();  // copy-on-write
  bool split(const std::string& key, std::vector<std::string>& segments) const;

  std::string prefix_;
  std::shared_ptr<const std::string> origin_;
  std::shared_ptr<config::Node> root_;
  std::vector<config::ConfigError> bad_;  // malformed keys (rare), in the order they came
};

// Keys and values read from a KV store, and the tree they make: keys outside `rootKey` + "/"
// are skipped; a key that is empty past the root, or whose segments are empty, is an error
// naming it (the rest of the tree is kept). `source` names the store in errors' locations.
config::Node nodeFromKeyValues(const std::vector<std::pair<std::string, std::string>>& pairs,
                               std::string_view rootKey, const std::string& source,
                               std::vector<config::ConfigError>& errors);
config::Node nodeFromKeyValues(const std::map<std::string, std::string>& pairs,
                               std::string_view rootKey, const std::string& source,
                               std::vector<config::ConfigError>& errors);

// A KV store's dump, for `causeway check --kvDump`: a JSON object of keys and values, etcdctl's
// `get --prefix -w json` output (base64 keys and values), or `consul kv export` (a list of
// {key, value} with base64 values). False with `error` when the file is none of these.
bool readKvDump(const std::string& path, std::vector<std::pair<std::string, std::string>>& out,
                std::string& error);

}  // namespace causeway::provider
