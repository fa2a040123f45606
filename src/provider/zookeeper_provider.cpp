#include "provider/zookeeper_provider.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "clients/zookeeper/zk_client.h"
#include "provider/kv_layout.h"
#include "provider/source_watch.h"

namespace causeway::provider {

namespace zk = clients::zookeeper;
using namespace std::chrono_literals;

namespace {

constexpr auto kSessionTimeout = 10s;

// Every value under /rootKey, keyed without the leading slash ("traefik/http/…"). "" or why not.
awaitable<std::string> readTree(zk::Session& session, const std::string& rootKey,
                                std::map<std::string, std::string>& out) {
  out.clear();
  std::vector<std::string> level{"/" + rootKey};
  while (!level.empty()) {
    std::vector<zk::Request> requests;
    for (const std::string& path : level) requests.push_back({zk::Request::Op::Children, path, true});
    std::vector<zk::Reply> replies;
    if (std::string error = co_await session.call(requests, replies); !error.empty()) co_return error;
    std::vector<std::string> next;
    std::vector<zk::Request> leaves;
    if (level.size() == 1 && level[0] == "/" + rootKey && replies[0].err != 0) {
      // No root yet: an exists watch fires when it is created (getChildren left none).
      std::vector<zk::Request> exists{{zk::Request::Op::Exists, level[0], true}};
      if (std::string error = co_await session.call(exists, replies); !error.empty()) co_return error;
      co_return "";
    }
    for (size_t i = 0; i < level.size(); ++i) {
      if (replies[i].err != 0) continue;  // gone since its parent was read
      if (replies[i].children.empty() && level[i] != "/" + rootKey) {  // a value
        leaves.push_back({zk::Request::Op::Data, level[i], true});
        continue;
      }
      for (const std::string& child : replies[i].children) next.push_back(level[i] + "/" + child);
    }
    if (!leaves.empty()) {
      if (std::string error = co_await session.call(leaves, replies); !error.empty()) co_return error;
      for (size_t i = 0; i < leaves.size(); ++i)
        if (replies[i].err == 0) out[leaves[i].path.substr(1)] = replies[i].data;
    }
    level = std::move(next);
  }
  co_return "";
}

}  // namespace

struct ZooKeeperProvider::State : RemoteSource {
  config::ZooKeeperProvider options;
  std::optional<tls::TlsClientSettings> tls;  // with options.tls
  std::string source;
  std::map<std::string, std::string> keys;
  std::shared_ptr<zk::Session> session;
  bool reread = false;

  LoadResult build() const {
    LoadResult result;
    result.ok = true;
    result.config.provider = "zookeeper";
    result.config.root = nodeFromKeyValues(keys, options.rootKey, source, result.errors);
    return result;
  }
};

ZooKeeperProvider::ZooKeeperProvider(config::ZooKeeperProvider options) : state_(std::make_shared<State>()) {
  state_->options = std::move(options);
  if (state_->options.tls) {
    tls::TlsClientSettings settings;
    settings.context = tls::makeClientContext(*state_->options.tls, state_->settingsError);
    settings.verify = !state_->options.tls->insecureSkipVerify;
    if (settings.context) state_->tls = std::move(settings);
  }
  state_->source = "zookeeper " + (state_->options.endpoints.empty() ? std::string() : state_->options.endpoints.front());
}

ZooKeeperProvider::~ZooKeeperProvider() {
  state_->stop();
  if (state_->session) state_->session->close();
}

namespace {

awaitable<void> readOnce(std::shared_ptr<ZooKeeperProvider::State> s, asio::io_context* io, std::string* error) {
  zk::Session session(*io);
  *error = co_await session.open(s->options.endpoints, kSessionTimeout, s->options.username, s->options.password,
                                    s->tls ? &*s->tls : nullptr);
  if (error->empty()) *error = co_await readTree(session, s->options.rootKey, s->keys);
  session.close();
}

awaitable<void> watchLoop(std::shared_ptr<ZooKeeperProvider::State> s, asio::io_context* io) {
  Backoff backoff;
  while (!s->stopped) {
    auto session = std::make_shared<zk::Session>(*io);
    s->session = session;
    std::string error = co_await session->open(s->options.endpoints, kSessionTimeout, s->options.username,
                                               s->options.password, s->tls ? &*s->tls : nullptr);
    while (error.empty() && !s->stopped) {
      session->clearNotified();
      s->reread = false;
      error = co_await readTree(*session, s->options.rootKey, s->keys);
      if (!error.empty() || s->stopped) break;
      backoff.reset();
      s->watch->read(s->build());
      while (error.empty() && !session->notified() && !s->reread && !s->stopped) error = co_await session->idle();
      if (!error.empty()) break;
      s->timer->expires_after(100ms);  // a burst of changes: one read
      co_await s->timer->async_wait(nothrow);
    }
    session->close();
    s->session = nullptr;
    if (s->stopped) break;
    s->watch->failed(error);
    s->timer->expires_after(backoff.next());
    co_await s->timer->async_wait(nothrow);
  }
}

}  // namespace

LoadResult ZooKeeperProvider::load() {
  if (!state_->settingsError.empty()) {
    LoadResult result;
    result.config.provider = "zookeeper";
    result.errors.push_back({{}, "providers.zooKeeper.tls", state_->settingsError, false, false});
    return result;
  }
  std::string error;
  runAlone([&](asio::io_context& io) { return readOnce(state_, &io, &error); });
  if (!error.empty()) {
    LoadResult result;
    result.config.provider = "zookeeper";
    result.errors.push_back(unreachable("zooKeeper", error, "tried again until ZooKeeper answers"));
    return result;
  }
  return state_->build();
}

void ZooKeeperProvider::watch(asio::io_context& control, ConfigSink sink) {
  if (!state_->settingsError.empty()) return;  // load() reports it
  state_->start(control, "zookeeper", std::move(sink), statusReporter());
  asio::co_spawn(control, watchLoop(state_, &control), asio::detached);
}

void ZooKeeperProvider::reload() {
  // Read again: the idle wait ends at its next wake-up (a third of the session timeout) at the
  // latest; closing the session would read now but count as an outage.
  state_->reread = true;
}

}  // namespace causeway::provider
