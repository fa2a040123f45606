#include "gateway/api/redis_limit.h"

#include <cmath>
#include <span>

#include "clients/redis/redis_settings.h"
#include "clients/redis/resp_protocol.h"
#include "gateway/api/redis_store.h"

namespace causeway::gateway::api {
namespace {

namespace resp = clients::redis::resp;

// KEYS[1]: the source's hash (fields r1..r3 for the rate limit, q1..q3 for the quota).
// ARGV: the rate limit ("bucket" with tokens per µs and burst, "window" with period in µs and
// limit, or "none"), ttl (ms), then the quota's period (µs; 0: none) and limit, then "take" or
// "peek" (decide without counting the request).
// Returns integers (no text to format or parse): {1 allowed, 0 refused by the rate limit, -1
// refused by the quota alone; then for the rate limit and the quota: left (floored), µs until
// one more is allowed (0 when allowed), µs until whole again (bucket) or until the window ends}.
const std::string kScript = R"lua(local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local s = redis.call('HMGET', KEYS[1], 'r1', 'r2', 'r3', 'q1', 'q2', 'q3')

-- At most `limit` in any `period`: the current and the previous fixed window, the previous
-- weighted by how much of it the sliding window still covers.
local function slide(period, limit, w, cur, prev)
  local window = math.floor(now / period)
  w = tonumber(w) or window
  cur = tonumber(cur) or 0
  prev = tonumber(prev) or 0
  if w < window then
    if w == window - 1 then prev = cur else prev = 0 end
    cur = 0
    w = window
  end
  local offset = now - window * period
  local used = prev * (1 - offset / period) + cur
  if used + 1 <= limit then
    return true, {w, cur + 1, prev}, limit - used - 1, 0, period - offset
  end
  local retry = period - offset
  if cur + 1 <= limit and prev > 0 then
    retry = ((1 - (limit - 1 - cur) / prev) - offset / period) * period
  elseif cur > 0 and cur + 1 > limit then
    retry = retry + (1 - (limit - 1) / cur) * period
  end
  return false, nil, limit - used, math.max(retry, 0), period - offset
end

-- `burst` tokens, refilled at `rate` per µs.
local function bucket(rate, burst, last, tokens)
  last = tonumber(last)
  tokens = tonumber(tokens)
  if not last or not tokens then
    last = now
    tokens = burst
  end
  local at = math.max(now, last)
  tokens = math.min(tokens + (at - last) * rate, burst)
  if tokens >= 1 then
    return true, {at, tokens - 1, 0}, tokens - 1, 0, (burst - tokens + 1) / rate
  end
  return false, nil, tokens, (1 - tokens) / rate, (burst - tokens) / rate
end

local rok, rs, rleft, rretry, rreset = true, nil, 0, 0, 0
if ARGV[1] == 'bucket' then
  rok, rs, rleft, rretry, rreset = bucket(tonumber(ARGV[2]), tonumber(ARGV[3]), s[1], s[2])
elseif ARGV[1] == 'window' then
  rok, rs, rleft, rretry, rreset = slide(tonumber(ARGV[2]), tonumber(ARGV[3]), s[1], s[2], s[3])
end
local qok, qs, qleft, qretry, qreset = true, nil, 0, 0, 0
local qperiod = tonumber(ARGV[5])
if qperiod > 0 then
  qok, qs, qleft, qretry, qreset = slide(qperiod, tonumber(ARGV[6]), s[4], s[5], s[6])
end
local function f(x) return string.format('%.17g', x) end
-- What is left counts this request only when it was let in.
if rok and not qok then rleft = rleft + 1 end
if qok and qperiod > 0 and not rok then qleft = qleft + 1 end
local allowed = 0
if rok and not qok then allowed = -1 end
if rok and qok then
  allowed = 1
end
if allowed == 1 and ARGV[7] ~= 'peek' then
  if rs then redis.call('HSET', KEYS[1], 'r1', f(rs[1]), 'r2', f(rs[2]), 'r3', f(rs[3])) end
  if qs then redis.call('HSET', KEYS[1], 'q1', f(qs[1]), 'q2', f(qs[2]), 'q3', f(qs[3])) end
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
local c = math.ceil
return {allowed, math.floor(rleft), c(rretry), c(rreset), math.floor(qleft), c(qretry), c(qreset)}
)lua";

}  // namespace

int64_t LimitDecision::retryAfterSeconds() const {
  return std::max<int64_t>(1, int64_t(std::ceil(std::max(retryMicros, quotaRetryMicros) / 1e6)));
}

RedisLimit::RedisLimit(const LimitSpec& spec, std::shared_ptr<const RedisStore> store) : store_(std::move(store)) {
  double periodMicros = std::chrono::duration<double, std::micro>(spec.period).count();
  int64_t ttlMillis = int64_t(std::ceil(periodMicros / 1000.0)) * 2 + 1000;
  auto exact = [](double x) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", x);
    return std::string(buf);
  };
  switch (spec.rate) {
    case LimitSpec::Rate::None:
      args_ = {"none", "0", "0"};
      break;
    case LimitSpec::Rate::Window:
      args_ = {"window", std::to_string(int64_t(periodMicros)), std::to_string(spec.limit)};
      break;
    case LimitSpec::Rate::Bucket: {
      int64_t burst = std::max<int64_t>(1, spec.burst);
      double rate = double(spec.limit) / periodMicros;
      args_ = {"bucket", exact(rate), std::to_string(burst)};
      // The bucket is forgotten once it would be full again (plus the period).
      ttlMillis += int64_t(std::ceil(double(burst) / rate / 1000.0));
      break;
    }
  }
  std::string quotaPeriod = "0", quotaLimit = "0";
  if (spec.quotaLimit > 0) {
    int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(spec.quotaPeriod).count();
    quotaPeriod = std::to_string(micros);
    quotaLimit = std::to_string(spec.quotaLimit);
    ttlMillis = std::max(ttlMillis, micros / 1000 * 2 + 1000);
  }
  args_.push_back(std::to_string(ttlMillis));
  args_.push_back(quotaPeriod);
  args_.push_back(quotaLimit);
  args_.push_back("take");
  sha_ = clients::redis::scriptSha1(kScript);
  std::vector<std::string> head{"EVALSHA", sha_, "1"};
  requestHead_ = resp::encodeCommand(head);
  // encodeCommand wrote "*3": the key and the arguments make it 4 + ARGV.
  requestHead_.replace(0, requestHead_.find("\r\n"), "*" + std::to_string(4 + args_.size()));
  std::string tail = resp::encodeCommand(args_);
  requestTail_ = tail.substr(tail.find("\r\n") + 2);  // without its own "*N"
  peekArgs_ = args_;
  peekArgs_.back() = "peek";
  tail = resp::encodeCommand(peekArgs_);
  peekTail_ = tail.substr(tail.find("\r\n") + 2);
}

awaitable<std::optional<LimitDecision>> RedisLimit::decide(exchange::WorkerContext& worker, const std::string& key,
                                                           std::string& error, bool peek) const {
  const std::string& tail = peek ? peekTail_ : requestTail_;
  // EVALSHA in RESP, most of it built once; the script is loaded when Redis does not know it.
  std::string request;
  request.reserve(requestHead_.size() + key.size() + 16 + tail.size());
  request += requestHead_;
  request += '$';
  request += std::to_string(key.size());
  request += "\r\n";
  request += key;
  request += "\r\n";
  request += tail;
  resp::Value reply;
  std::span<const std::string> keys(&key, 1);
  std::span<const std::string> args(peek ? peekArgs_ : args_);
  bool ok = co_await store_->evalsha(worker, std::move(request), kScript, sha_, keys, args, reply, error);
  if (!ok) co_return std::nullopt;
  if (reply.isError()) {
    error = "redis: " + reply.text;
    co_return std::nullopt;
  }
  if (reply.type != resp::Value::Type::Array || reply.items.size() != 7) {
    error = "unexpected reply from the rate limit script";
    co_return std::nullopt;
  }
  for (const resp::Value& item : reply.items)
    if (item.type != resp::Value::Type::Integer) {
      error = "unexpected values from the rate limit script";
      co_return std::nullopt;
    }
  LimitDecision d;
  double* fields[] = {&d.remaining,      &d.retryMicros,      &d.resetMicros,
                      &d.quotaRemaining, &d.quotaRetryMicros, &d.quotaResetMicros};
  d.allowed = reply.items[0].integer == 1;
  d.quotaRefused = reply.items[0].integer == -1;
  for (size_t i = 0; i < 6; ++i) *fields[i] = double(reply.items[i + 1].integer);
  co_return d;
}

}  // namespace causeway::gateway::api
