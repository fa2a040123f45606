#include "clients/redis/sentinel.h"

#include "core/log.h"

namespace causeway::clients::redis {
namespace {

constexpr std::chrono::milliseconds kAskEvery{250};

}  // namespace

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
    for (const std::string& endpoint : sentinels_.endpoints) {
      RedisSettings one = sentinels_;
      one.endpoints = {endpoint};
      one.db = 0;
      auto client = RedisClient::forWorker(workerIndex, io, watchdog, one);
      resp::Value reply;
      std::string why;
      std::vector<std::string> command{"SENTINEL", "get-master-addr-by-name", masterSet_};
      bool ok = co_await client->call(std::move(command), reply, why);
      if (!ok || reply.type != resp::Value::Type::Array || reply.items.size() != 2) {
        error = "sentinel " + endpoint + ": " +
                (ok ? (reply.isError() ? reply.text : "no master for " + masterSet_) : why);
        continue;
      }
      known = reply.items[0].text + ":" + reply.items[1].text;
      break;
    }
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
