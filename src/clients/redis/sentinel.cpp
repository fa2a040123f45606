#include "clients/redis/sentinel.h"

#include "core/log.h"

namespace causeway::clients::redis {
namespace {

constexpr std::chrono::milliseconds kAskEvery{250};

}  // namespace

awaitable<std::string> askSentinels(const RedisSettings& sentinels, const std::string& masterSet,
                                    const ClientFor& clientFor, std::string& error) {
  for (const std::string& endpoint : sentinels.endpoints) {
    RedisSettings one = sentinels;
    one.endpoints = {endpoint};
    one.db = 0;
    std::shared_ptr<RedisClient> client = clientFor(one);
    resp::Value reply;
    std::string why;
    std::vector<std::string> command{"SENTINEL", "get-master-addr-by-name", masterSet};
    bool ok = co_await client->call(std::move(command), reply, why);
    if (ok && reply.type == resp::Value::Type::Array && reply.items.size() == 2)
      co_return reply.items[0].text + ":" + reply.items[1].text;
    error = "sentinel " + endpoint + ": " +
            (ok ? (reply.isError() ? reply.text : "no master for " + masterSet) : why);
  }
  co_return std::string();
}

awaitable<std::optional<RedisSettings>> SentinelMaster::master(unsigned workerIndex,
                                                               asio::io_context& io,
                                                               io::Watchdog& watchdog,
                                                               std::string& error) {
  std::string known;
  {
    std::lock_guard lock(mutex_);
    known = master_;
    auto now = std::chrono::steady_clock::now();
    if (known.empty() && now - asked_ < kAskEvery) {
      error = "no Redis master known (the sentinels were asked less than 250 ms ago)";
      co_return std::nullopt;
    }
    if (known.empty()) asked_ = now;
  }
  if (known.empty()) {
    const ClientFor clientFor = [&](const RedisSettings& one) {
      return RedisClient::forWorker(workerIndex, io, watchdog, one);
    };
    known = co_await askSentinels(sentinels_, masterSet_, clientFor, error);
    if (known.empty()) co_return std::nullopt;
    std::lock_guard lock(mutex_);
    if (master_ != known) {
      log::info("redis: master of the sentinel set",
                {{"masterSet", masterSet_}, {"master", known}});
      master_ = known;
      generation_.fetch_add(1, std::memory_order_release);
    }
  }
  RedisSettings settings = data_;
  settings.endpoints = {known};
  co_return settings;
}

void SentinelMaster::unusable(const std::string& endpoint) {
  std::lock_guard lock(mutex_);
  if (master_ == endpoint) master_.clear();
}

}  // namespace causeway::clients::redis
