// The developer portal's store in memory (gateway/api/portal_store.h): a change applies whole or
// not at all, its preconditions (create-only, must-exist) decide, and the state a reader gets
// finds keys by their SHA-256 and subscriptions by application. The Redis store runs the same
// preconditions in a Lua script (tests/e2e/test_portal_api.py, against a real redis-server).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "core/bytes.h"
#include "exchange/worker_context.h"
#include "gateway/api/credentials.h"
#include "gateway/api/portal_store.h"

namespace causeway::gateway::api {
namespace {

using Outcome = PortalStore::Outcome;
using Table = PortalChange::Table;

// A worker of one's own (WorkerContext is made by runtime::Worker; only the io_context is used).
struct TestWorker final : exchange::WorkerContext {
  TestWorker() : WorkerContext(0) {}
};

struct Fixture {
  TestWorker worker;
  std::shared_ptr<PortalStore> store;
  Fixture() {
    std::string error;
    // A store of its own: memory stores are shared by the process, one per `nullptr` options,
    // so each test starts from what the previous ones left; the tests use distinct names.
    store = PortalStore::shared(nullptr, 1, error);
  }
  Outcome apply(const PortalChange& change) {
    Outcome out = Outcome::Unavailable;
    asio::co_spawn(
        worker.io(),
        [&]() -> awaitable<void> {
          std::string error;
          out = co_await store->apply(worker, change, error);
        },
        asio::detached);
    worker.io().run();
    worker.io().restart();
    return out;
  }
  std::shared_ptr<const PortalState> state() {
    std::shared_ptr<const PortalState> out;
    asio::co_spawn(
        worker.io(),
        [&]() -> awaitable<void> {
          std::string error;
          out = co_await store->state(worker, error);
        },
        asio::detached);
    worker.io().run();
    worker.io().restart();
    return out;
  }
};

TEST(PortalStore, ChangesApplyWholeOrNotAtAll) {
  Fixture f;
  ASSERT_TRUE(f.store);
  EXPECT_FALSE(f.store->inRedis());
  PortalApplication app{"app-one", "One", "alice", "dev@file", "g1", 1};
  PortalChange create;
  create.create(Table::Apps, app.appId, PortalStore::encode(app));
  EXPECT_EQ(f.apply(create), Outcome::Done);
  int64_t version = f.state()->version;
  // The same form posted again: refused, nothing written.
  EXPECT_EQ(f.apply(create), Outcome::Exists);
  EXPECT_EQ(f.state()->version, version);

  std::string secret = "cw_secret-one";
  PortalKey key{"k1", app.appId, "laptop", secret.substr(0, 8), hexEncode(sha256Bytes(secret)), 2, "g1"};
  PortalChange addKey;
  addKey.mustExist(Table::Apps, "app-missing");
  addKey.create(Table::Keys, key.sha256, PortalStore::encode(key));
  EXPECT_EQ(f.apply(addKey), Outcome::Missing);  // the application is checked first
  EXPECT_EQ(f.state()->keys.count(sha256Bytes(secret)), 0u);

  addKey.steps.front().field = app.appId;
  EXPECT_EQ(f.apply(addKey), Outcome::Done);
  PortalSubscription sub{app.appId, "weather-for-all@file", 3, "g1"};
  PortalChange subscribe;
  subscribe.create(Table::Subs, app.appId + "|" + sub.catalogItem, PortalStore::encode(sub));
  EXPECT_EQ(f.apply(subscribe), Outcome::Done);

  std::shared_ptr<const PortalState> s = f.state();
  ASSERT_EQ(s->keys.count(sha256Bytes(secret)), 1u);
  const PortalKey& found = s->keys.at(sha256Bytes(secret));
  EXPECT_EQ(found.appId, "app-one");
  EXPECT_EQ(found.prefix, "cw_secre");
  EXPECT_EQ(found.sha256, key.sha256);
  EXPECT_EQ(s->apps.at("app-one").owner, "alice");
  ASSERT_EQ(s->subscriptions.at("app-one").size(), 1u);
  EXPECT_EQ(s->subscriptions.at("app-one")[0].catalogItem, "weather-for-all@file");

  // Revoking: the key must still be there; a second revoke is Missing.
  PortalChange revoke;
  revoke.mustExist(Table::Keys, key.sha256);
  revoke.erase(Table::Keys, key.sha256);
  EXPECT_EQ(f.apply(revoke), Outcome::Done);
  EXPECT_EQ(f.apply(revoke), Outcome::Missing);
  EXPECT_EQ(f.state()->keys.count(sha256Bytes(secret)), 0u);
  EXPECT_GT(f.state()->version, version);

  // A key written for an earlier application of the same appId (deleted meanwhile) never counts.
  std::string stale = "cw_secret-stale";
  PortalKey old{"k2", app.appId, "old", stale.substr(0, 8), hexEncode(sha256Bytes(stale)), 4, "g0"};
  PortalChange addOld;
  addOld.create(Table::Keys, old.sha256, PortalStore::encode(old));
  EXPECT_EQ(f.apply(addOld), Outcome::Done);
  EXPECT_EQ(f.state()->keys.count(sha256Bytes(stale)), 0u);
}

TEST(PortalStore, BadStoreOptionsAreAnError) {
  config::Node options = config::Node::map();
  options.set("keyPrefix", config::Node::scalar("x:"));
  std::string error;
  EXPECT_EQ(PortalStore::shared(&options, 1, error), nullptr);
  EXPECT_NE(error.find("expected redis"), std::string::npos) << error;
}

}  // namespace
}  // namespace causeway::gateway::api
