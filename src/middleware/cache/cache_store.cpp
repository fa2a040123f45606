#include "middleware/cache/cache_store.h"

#include <cstring>

#include "core/strings.h"
#include "middleware/cache/shared_tier.h"

namespace causeway::middleware::cache {

namespace {

constexpr std::string_view kMagic = "CWHC1";

void putNumber(std::string& out, int64_t value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}
void putText(std::string& out, std::string_view text) {
  putNumber(out, int64_t(text.size()));
  out.append(text);
}

struct Reader {
  std::string_view in;
  bool ok = true;
  int64_t number() {
    int64_t value = 0;
    if (in.size() < sizeof value) {
      ok = false;
      return 0;
    }
    std::memcpy(&value, in.data(), sizeof value);
    in.remove_prefix(sizeof value);
    return value;
  }
  std::string text() {
    int64_t size = number();
    if (!ok || size < 0 || uint64_t(size) > in.size()) {
      ok = false;
      return {};
    }
    std::string out(in.substr(0, size_t(size)));
    in.remove_prefix(size_t(size));
    return out;
  }
  std::vector<std::pair<std::string, std::string>> pairs() {
    int64_t count = number();
    std::vector<std::pair<std::string, std::string>> out;
    // Each pair takes at least two lengths: a count past what is left is corrupt.
    if (!ok || count < 0 || uint64_t(count) > in.size() / 16) {
      ok = false;
      return out;
    }
    out.reserve(size_t(count));
    for (int64_t i = 0; ok && i < count; ++i) {
      std::string name = text();
      std::string value = text();
      out.emplace_back(std::move(name), std::move(value));
    }
    return out;
  }
};

}  // namespace

std::string encodeStored(const Stored& s) {
  std::string out(kMagic);
  for (int64_t n : {int64_t(s.status), s.responseTime, s.initialAge, s.lifetime, s.staleWhileRevalidate,
                    s.staleIfError, int64_t(s.noCache) | int64_t(s.mustRevalidate) << 1})
    putNumber(out, n);
  for (std::string_view t : {std::string_view(s.url), std::string_view(s.etag), std::string_view(s.lastModified)})
    putText(out, t);
  for (const auto* list : {&s.headers, &s.vary}) {
    putNumber(out, int64_t(list->size()));
    for (const auto& [name, value] : *list) {
      putText(out, name);
      putText(out, value);
    }
  }
  putText(out, s.body ? std::string_view(*s.body) : std::string_view());
  return out;
}

std::shared_ptr<Stored> decodeStored(std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) return nullptr;
  Reader r{bytes.substr(kMagic.size())};
  auto s = std::make_shared<Stored>();
  s->status = int(r.number());
  s->responseTime = r.number();
  s->initialAge = r.number();
  s->lifetime = r.number();
  s->staleWhileRevalidate = r.number();
  s->staleIfError = r.number();
  int64_t flags = r.number();
  s->noCache = flags & 1;
  s->mustRevalidate = flags & 2;
  s->url = r.text();
  s->etag = r.text();
  s->lastModified = r.text();
  s->headers = r.pairs();
  s->vary = r.pairs();
  s->body = std::make_shared<const std::string>(r.text());
  if (!r.ok || !r.in.empty() || s->status < 200 || s->status > 599) return nullptr;
  s->bytes = s->footprint();
  return s;
}

size_t Stored::footprint() const {
  size_t total = 256 + url.size() + etag.size() + lastModified.size() + (body ? body->size() : 0);
  for (const auto* list : {&headers, &vary})
    for (const auto& [name, value] : *list) total += name.size() + value.size() + 32;
  return total;
}

std::string variantName(const Stored& stored) {
  std::string name;
  for (const auto& [field, value] : stored.vary) {
    name += field;
    name += '\0';
    name += value;
    name += '\0';
  }
  return name;
}

std::string varyValue(const http::Headers& request, std::string_view name) {
  std::string value;
  for (const http::HeaderField& field : request) {
    if (!iequals(field.name, name)) continue;
    if (!value.empty()) value += ", ";
    value += trimOws(field.value);
  }
  return value;
}

StoredPtr pickVariant(const std::vector<StoredPtr>& variants, const http::Headers& request) {
  for (auto it = variants.rbegin(); it != variants.rend(); ++it) {  // the newest first
    const StoredPtr& variant = *it;
    bool match = true;
    for (const auto& [name, value] : variant->vary)
      if (varyValue(request, name) != value) {
        match = false;
        break;
      }
    if (match) return variant;
  }
  return nullptr;
}

Store::Store(uint64_t limit, std::shared_ptr<const SharedTier> tier) : limit_(limit), tier_(std::move(tier)) {}
Store::~Store() = default;

awaitable<size_t> Store::purgeShared(exchange::WorkerContext& worker, std::string_view url) {
  if (!tier_) co_return 0;
  co_return co_await tier_->purge(worker, url);
}

StoredPtr Store::lookup(std::string_view key, const http::Headers& request, bool& keyFound) {
  std::lock_guard lock(mutex_);
  auto it = index_.find(key);
  keyFound = it != index_.end();
  if (!keyFound) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return pickVariant(it->second->variants, request);
}

void Store::insert(std::string_view key, StoredPtr response) {
  if (response->bytes > limit_) return;
  std::lock_guard lock(mutex_);
  auto it = index_.find(key);
  std::list<Node>::iterator node;
  if (it == index_.end()) {
    lru_.push_front(Node{std::string(key), {}, 0});
    node = lru_.begin();
    index_.emplace(node->key, node);
  } else {
    node = it->second;
    lru_.splice(lru_.begin(), lru_, node);
  }
  auto& variants = node->variants;
  // The same Vary values are replaced; so are variants stored under another set of Vary names
  // (the origin changed what it varies on: they would shadow or outlive the new ones).
  auto sameNames = [&](const Stored& other) {
    if (other.vary.size() != response->vary.size()) return false;
    for (size_t i = 0; i < other.vary.size(); ++i)
      if (other.vary[i].first != response->vary[i].first) return false;
    return true;
  };
  for (auto v = variants.begin(); v != variants.end();)
    v = (*v)->vary != response->vary && sameNames(**v) ? std::next(v) : removeVariantLocked(*node, v);
  if (variants.size() >= kMaxVariants) {
    removeVariantLocked(*node, variants.begin());
    ++evicted_;
  }
  node->bytes += response->bytes;
  bytes_ += response->bytes;
  ++entries_;
  ++stored_;
  variants.push_back(std::move(response));
  while (bytes_ > limit_ && !lru_.empty()) {
    auto last = std::prev(lru_.end());
    evicted_ += last->variants.size();
    removeLocked(last);
  }
}

std::vector<StoredPtr>::iterator Store::removeVariantLocked(Node& node, std::vector<StoredPtr>::iterator variant) {
  node.bytes -= (*variant)->bytes;
  bytes_ -= (*variant)->bytes;
  --entries_;
  return node.variants.erase(variant);
}

void Store::removeLocked(std::list<Node>::iterator node) {
  bytes_ -= node->bytes;
  entries_ -= node->variants.size();
  index_.erase(node->key);
  lru_.erase(node);
}

void Store::erase(std::string_view key) {
  std::lock_guard lock(mutex_);
  if (auto it = index_.find(key); it != index_.end()) removeLocked(it->second);
}

std::unique_ptr<Store::Fill> Store::lead(std::string_view key, const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(mutex_);
  if (auto it = filling_.find(key); it != filling_.end()) {
    if (waiter) it->second.push_back(waiter);
    return nullptr;
  }
  filling_.emplace(std::string(key), std::vector<std::weak_ptr<Waiter>>());
  return std::make_unique<Fill>(shared_from_this(), std::string(key));
}

void Store::fillDone(const std::string& key) {
  std::vector<std::weak_ptr<Waiter>> waiters;
  {
    std::lock_guard lock(mutex_);
    auto it = filling_.find(key);
    if (it == filling_.end()) return;
    waiters = std::move(it->second);
    filling_.erase(it);
  }
  // Each waiter's timer belongs to its own worker: it is cancelled there.
  for (auto& weak : waiters) {
    auto waiter = weak.lock();
    if (!waiter) continue;
    auto executor = waiter->timer.get_executor();
    asio::post(executor, [waiter = std::move(waiter)] { waiter->timer.cancel(); });
  }
}

exchange::ResponseCache::Stats Store::stats() const {
  Stats s;
  {
    std::lock_guard lock(mutex_);
    s.entries = entries_;
    s.bytes = bytes_;
    s.stored = stored_;
    s.evicted = evicted_;
  }
  s.limit = limit_;
  s.hits = hits.load(std::memory_order_relaxed);
  s.stale = stale.load(std::memory_order_relaxed);
  s.revalidated = revalidated.load(std::memory_order_relaxed);
  s.misses = misses.load(std::memory_order_relaxed);
  s.collapsed = collapsed.load(std::memory_order_relaxed);
  s.bypass = bypass.load(std::memory_order_relaxed);
  s.servedBytes = servedBytes.load(std::memory_order_relaxed);
  return s;
}

size_t Store::purge(std::string_view url) {
  std::lock_guard lock(mutex_);
  size_t removed = 0;
  if (url.empty()) {
    removed = entries_;
    lru_.clear();
    index_.clear();
    bytes_ = entries_ = 0;
    return removed;
  }
  bool prefix = url.ends_with('*');
  if (prefix) url.remove_suffix(1);
  for (auto node = lru_.begin(); node != lru_.end();) {
    auto& variants = node->variants;
    for (auto v = variants.begin(); v != variants.end();) {
      bool match = prefix ? std::string_view((*v)->url).starts_with(url) : (*v)->url == url;
      if (!match) {
        ++v;
        continue;
      }
      v = removeVariantLocked(*node, v);
      ++removed;
    }
    auto next = std::next(node);
    if (variants.empty()) {
      index_.erase(node->key);
      lru_.erase(node);
    }
    node = next;
  }
  return removed;
}

}  // namespace causeway::middleware::cache
