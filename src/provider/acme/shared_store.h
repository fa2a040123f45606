// Where replicas share ACME certificates (`certificatesResolvers.<name>.acme.sharedStorage`,
// causeway's own; docs/acme.md): a small key-value interface over Redis or etcd, with
// values that are JSON text and a lock with an owner and a time to live (Redis: SET NX PX
// and a compare-and-delete script; etcd: a lease and a create-if-absent transaction).
//
// Keys under the prefix, per resolver:
//   <prefix>/<resolver>/account                 the ACME account (acme.json's Account)
//   <prefix>/<resolver>/certificates/<names>    one certificate (acme.json's entry)
//   <prefix>/<resolver>/locks/<names>           held by the replica ordering it
//   <prefix>/<resolver>/challenges/<id>         a challenge in progress, for the others to
//                                               answer too (the CA may reach any replica)
//
// Control thread only.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/acme_config.h"
#include "io/asio.h"

namespace causeway::provider {

class SharedStore {
 public:
  using Pairs = std::vector<std::pair<std::string, std::string>>;

  // Null with `error` when the options cannot be used (bad endpoint, TLS files).
  static std::unique_ptr<SharedStore> make(asio::io_context& io, const config::AcmeSharedStorage& options,
                                           std::string& error);
  virtual ~SharedStore() = default;

  // "redis 127.0.0.1:6379" for messages.
  virtual const std::string& describe() const = 0;
  // Every key under `prefix` and its value; nullopt with `error` when the store cannot answer.
  virtual awaitable<std::optional<Pairs>> list(const std::string& prefix, std::string& error) = 0;
  virtual awaitable<bool> put(const std::string& key, const std::string& value, std::string& error) = 0;
  virtual awaitable<bool> remove(const std::string& key, std::string& error) = 0;
  // Takes the lock `key` for `ttl` with `owner` as its value when nobody holds it: true when
  // taken, false when held, nullopt with `error` when the store cannot answer.
  virtual awaitable<std::optional<bool>> tryLock(const std::string& key, const std::string& owner,
                                                 std::chrono::seconds ttl, std::string& error) = 0;
  // Releases the lock if `owner` still holds it.
  virtual awaitable<void> unlock(const std::string& key, const std::string& owner) = 0;
};

}  // namespace causeway::provider
