// inFlightReq: at most `amount` requests in flight per source (sourceCriterion; the request
// Host when none is set) for the whole process. A request counts from the moment it passes
// until its exchange ends (response body sent), as Traefik's deferred release after the
// proxied response was copied. Beyond the limit: 429 "max connections reached: <amount>".
#include <mutex>
#include <unordered_map>

#include "exchange/local_reply.h"
#include "limits/source_criterion.h"
#include "middleware/contract.h"

namespace causeway::middleware {
namespace {

struct Options {
  int64_t amount = 0;
  std::optional<limits::SourceCriterionOptions> sourceCriterion;

  static void describe(auto& self, auto& v) {
    v("amount", self.amount);
    v("sourceCriterion", self.sourceCriterion);
  }
};

// Counters per source, sharded so that workers rarely contend on one mutex.
class InFlightTable {
 public:
  bool acquire(const std::string& key, int64_t limit) {
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    int64_t& count = shard.counts[key];
    if (count >= limit) {
      if (count == 0) shard.counts.erase(key);
      return false;
    }
    ++count;
    return true;
  }
  void release(const std::string& key) {
    Shard& shard = shardFor(key);
    std::lock_guard lock(shard.mutex);
    auto it = shard.counts.find(key);
    if (it == shard.counts.end()) return;
    if (--it->second <= 0) shard.counts.erase(it);
  }

 private:
  struct Shard {
    std::mutex mutex;
    std::unordered_map<std::string, int64_t> counts;
  };
  Shard& shardFor(const std::string& key) {
    return shards_[std::hash<std::string>{}(key) % shards_.size()];
  }
  std::array<Shard, 16> shards_;
};

// Lives in the exchange's arena: its destructor (arena reset, after the response was written)
// releases the slot.
class Lease {
 public:
  Lease(std::shared_ptr<InFlightTable> table, std::string key)
      : table_(std::move(table)), key_(std::move(key)) {}
  ~Lease() { table_->release(key_); }
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;

 private:
  std::shared_ptr<InFlightTable> table_;
  std::string key_;
};

struct Compiled {
  int64_t amount = 0;
  limits::SourceExtractor extractor;
};

class InFlightReq final : public Handler {
 public:
  InFlightReq(const Compiled& c, HandlerPtr next, const WrapContext&)
      : c_(c), next_(std::move(next)), table_(std::make_shared<InFlightTable>()) {}

  awaitable<void> handle(Exchange& ex) const override {
    std::string key = c_.extractor.extract(ex);
    if (!table_->acquire(key, c_.amount)) {
      ex.record.errorDetail = "too many requests in flight";
      exchange::localReply(ex, 429, "max connections reached: " + std::to_string(c_.amount));
      ex.response.headers.remove("X-Content-Type-Options");
      co_return;
    }
    ex.arena.make<Lease>(table_, std::move(key));
    co_await next_->handle(ex);
  }

 private:
  Compiled c_;
  HandlerPtr next_;
  std::shared_ptr<InFlightTable> table_;  // one per router, shared by every worker
};

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& options = *decoded;
  std::string error;
  auto extractor =
      limits::SourceExtractor::make(options.sourceCriterion, limits::SourceExtractor::Fallback::RequestHost, error);
  if (!extractor) {
    context.error("inFlightReq: error creating requests limiter: " + error);
    return nullptr;
  }
  return factoryOf<InFlightReq>(Compiled{options.amount, std::move(*extractor)});
}

const exchange::MiddlewareRegistration registration("inFlightReq", create);

}  // namespace
}  // namespace causeway::middleware
