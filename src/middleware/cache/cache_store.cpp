#include "middleware/cache/cache_store.h"

#include "core/strings.h"

namespace causeway::middleware::cache {

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
  for (const StoredPtr& variant : variants) {
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
  for (auto v = variants.begin(); v != variants.end(); ++v)
    if ((*v)->vary == response->vary) {
      node->bytes -= (*v)->bytes;
      bytes_ -= (*v)->bytes;
      --entries_;
      variants.erase(v);
      break;
    }
  if (variants.size() >= kMaxVariants) {
    node->bytes -= variants.front()->bytes;
    bytes_ -= variants.front()->bytes;
    --entries_;
    ++evicted_;
    variants.erase(variants.begin());
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
  filling_.emplace(std::string(key), std::vector<std::shared_ptr<Waiter>>());
  return std::make_unique<Fill>(shared_from_this(), std::string(key));
}

void Store::fillDone(const std::string& key) {
  std::vector<std::shared_ptr<Waiter>> waiters;
  {
    std::lock_guard lock(mutex_);
    auto it = filling_.find(key);
    if (it == filling_.end()) return;
    waiters = std::move(it->second);
    filling_.erase(it);
  }
  // Each waiter's timer belongs to its own worker: it is cancelled there.
  for (auto& waiter : waiters) {
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
      node->bytes -= (*v)->bytes;
      bytes_ -= (*v)->bytes;
      --entries_;
      ++removed;
      v = variants.erase(v);
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
