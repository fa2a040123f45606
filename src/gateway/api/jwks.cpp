#include "gateway/api/jwks.h"

#include <ctime>

#include "core/log.h"
#include "core/strings.h"
#include "exchange/worker_context.h"

namespace causeway::gateway::api {
namespace {

constexpr std::chrono::seconds kDefaultLifetime{300};
constexpr std::chrono::seconds kMaxLifetime{86400};
// How long a request waits for another request's fetch of the same set.
constexpr std::chrono::seconds kMaxWait{20};

// An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") as seconds since the epoch; -1 if not one.
int64_t parseHttpDate(std::string_view text) {
  std::tm tm{};
  std::string s(text);
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return -1;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

std::chrono::seconds cacheLifetime(const HttpAnswer& answer, std::chrono::seconds floor) {
  std::optional<int64_t> seconds;
  std::string_view control = answer.header("Cache-Control");
  for (std::string_view part : splitTrimmed(control, ',')) {
    if (iequals(part, "no-cache") || iequals(part, "no-store")) seconds = 0;
    if (part.size() > 8 && iequals(part.substr(0, 8), "max-age=") && !seconds) {
      if (auto n = parseDecimal(part.substr(8)))
        seconds = static_cast<int64_t>(std::min<uint64_t>(*n, 1u << 30));
    }
  }
  if (!seconds) {
    int64_t expires = parseHttpDate(answer.header("Expires"));
    int64_t date = parseHttpDate(answer.header("Date"));
    if (expires >= 0)
      seconds = std::max<int64_t>(0, expires - (date >= 0 ? date : std::time(nullptr)));
  }
  if (seconds) {
    if (auto age = parseDecimal(answer.header("Age")))
      *seconds =
          std::max<int64_t>(0, *seconds - static_cast<int64_t>(std::min<uint64_t>(*age, 1u << 30)));
  }
  std::chrono::seconds lifetime = seconds ? std::chrono::seconds(*seconds) : kDefaultLifetime;
  return std::clamp(lifetime, floor, std::max(floor, kMaxLifetime));
}

RemoteKeySet::View RemoteKeySet::view() {
  std::lock_guard lock(mutex_);
  return {keys_, generation_.load(std::memory_order_relaxed)};
}

awaitable<RemoteKeySet::View> RemoteKeySet::keysFor(exchange::WorkerContext& worker,
                                                    const std::string& kid) {
  auto now = std::chrono::steady_clock::now();
  bool mustWait = false, background = false;
  {
    std::lock_guard lock(mutex_);
    bool known =
        keys_ && (kid.empty() || std::any_of(keys_->begin(), keys_->end(),
                                             [&](const jose::Key& k) { return k.kid == kid; }));
    bool mayFetch =
        lastAttempt_ == std::chrono::steady_clock::time_point{} || now - lastAttempt_ >= floor_;
    if (!known && (mayFetch || fetching_)) {
      mustWait = true;
    } else if (known && now >= expires_ && !fetching_ && mayFetch) {
      background = true;
      fetching_ = true;
      lastAttempt_ = now;
    }
  }
  if (background) {
    asio::co_spawn(worker.io(), fetchInBackground(shared_from_this(), worker), asio::detached);
  }
  if (!mustWait) co_return view();

  // Fetch now, or wait for the fetch another request started.
  auto deadline = now + kMaxWait;
  for (;;) {
    bool start = false;
    {
      std::lock_guard lock(mutex_);
      if (!fetching_) {
        bool known =
            keys_ && (kid.empty() || std::any_of(keys_->begin(), keys_->end(),
                                                 [&](const jose::Key& k) { return k.kid == kid; }));
        auto t = std::chrono::steady_clock::now();
        bool mayFetch =
            lastAttempt_ == std::chrono::steady_clock::time_point{} || t - lastAttempt_ >= floor_;
        if (known || !mayFetch) break;
        fetching_ = true;
        lastAttempt_ = t;
        start = true;
      }
    }
    if (start) {
      co_await fetch(worker);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    asio::steady_timer pause(worker.io(), std::chrono::milliseconds(10));
    co_await pause.async_wait(nothrow);
  }
  co_return view();
}

awaitable<void> RemoteKeySet::fetchInBackground(std::shared_ptr<RemoteKeySet> self,
                                                exchange::WorkerContext& worker) {
  co_await self->fetch(worker);
}

awaitable<void> RemoteKeySet::fetch(exchange::WorkerContext& worker) {
  HttpCall call;
  call.headers.emplace_back("Accept", "application/json, application/jwk-set+json");
  HttpAnswer answer = co_await client_->call(worker, call, 1 << 20);
  auto keys = std::make_shared<KeyList>();
  std::vector<std::string> skipped;
  std::string error;
  bool ok = answer.status == 200 && parseJwks(answer.body, *keys, skipped, error);
  if (answer.status == 0)
    error = answer.error;
  else if (answer.status != 200)
    error = "status " + std::to_string(answer.status);
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(mutex_);
  fetching_ = false;
  if (!ok) {
    log::warn("jwt: cannot fetch the JWK set; the last good keys stay in use",
              {{"middlewareName", name_}, {"url", client_->url()}, {"error", error}});
    // Try again once the floor has passed.
    expires_ = now + floor_;
    co_return;
  }
  for (const std::string& why : skipped)
    log::warn("jwt: a key of the JWK set is not used",
              {{"middlewareName", name_}, {"url", client_->url()}, {"reason", why}});
  expires_ = now + cacheLifetime(answer, floor_);
  if (answer.body != lastBody_) {
    lastBody_ = std::move(answer.body);
    keys_ = std::move(keys);
    generation_.fetch_add(1, std::memory_order_release);
    log::info("jwt: JWK set loaded", {{"middlewareName", name_},
                                      {"url", client_->url()},
                                      {"keys", std::to_string(keys_->size())}});
  }
}

}  // namespace causeway::gateway::api
