#include "gateway/ai/vector_store.h"

#include <algorithm>
#include <cmath>

namespace causeway::gateway::ai {

void VectorStore::normalize(std::vector<float>& v) {
  double norm = 0;
  for (float x : v) norm += double(x) * x;
  norm = std::sqrt(norm);
  if (norm > 0)
    for (float& x : v) x = float(x / norm);
}

std::optional<VectorStore::Hit> VectorStore::exact(const std::string& scope, const std::string& text,
                                                   Clock::time_point now) const {
  std::shared_lock lock(mutex_);
  auto it = byKey_.find(scope + '\0' + text);
  if (it == byKey_.end()) return std::nullopt;
  const Entry& e = entries_.at(it->second);
  if (e.expires <= now) return std::nullopt;
  return Hit{e.answer, 0, true};
}

std::optional<VectorStore::Hit> VectorStore::nearest(const std::string& scope, const std::vector<float>& vector,
                                                     double maxDistance, Clock::time_point now) const {
  std::shared_lock lock(mutex_);
  auto it = byScope_.find(scope);
  if (it == byScope_.end() || it->second.dims != vector.size()) return std::nullopt;
  const Scope& s = it->second;
  const size_t dims = s.dims;
  const float* query = vector.data();
  const Entry* best = nullptr;
  float bestSimilarity = -2;
  for (size_t row = 0; row < s.ids.size(); ++row) {
    const float* v = s.matrix.data() + row * dims;
    // Eight independent sums: the compiler may then use vector registers without reordering
    // one sum (which strict floating point forbids).
    float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= dims; i += 8)
      for (size_t k = 0; k < 8; ++k) part[k] += v[i + k] * query[i + k];
    float dot = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
    for (; i < dims; ++i) dot += v[i] * query[i];
    if (dot <= bestSimilarity) continue;
    const Entry& e = entries_.at(s.ids[row]);
    if (e.expires <= now) continue;
    bestSimilarity = dot;
    best = &e;
  }
  if (!best || 1.0 - bestSimilarity > maxDistance) return std::nullopt;
  return Hit{best->answer, 1.0 - bestSimilarity, false};
}

void VectorStore::evictOne() {
  auto oldest = entries_.begin();
  if (oldest == entries_.end()) return;
  const Entry& e = oldest->second;
  byKey_.erase(e.key);
  Scope& s = byScope_[e.scope];
  // Swap-remove its row: the last row takes its place.
  size_t last = s.ids.size() - 1;
  if (e.row != last) {
    std::copy_n(s.matrix.begin() + last * s.dims, s.dims, s.matrix.begin() + e.row * s.dims);
    s.ids[e.row] = s.ids[last];
    entries_.at(s.ids[e.row]).row = e.row;
  }
  s.ids.pop_back();
  s.matrix.resize(s.ids.size() * s.dims);
  if (s.ids.empty()) byScope_.erase(e.scope);
  entries_.erase(oldest);
}

void VectorStore::insert(const std::string& scope, const std::string& text, std::vector<float> vector,
                         std::string answer, Clock::time_point now, std::optional<Clock::time_point> expires) {
  Clock::time_point until = expires.value_or(now + ttl_);
  if (until <= now) return;
  normalize(vector);
  std::unique_lock lock(mutex_);
  // Expired entries go first (they are the oldest of their age), then the oldest while full.
  while (!entries_.empty() && (entries_.begin()->second.expires <= now || entries_.size() >= maxEntries_)) evictOne();
  Scope& s = byScope_[scope];
  if (s.ids.empty()) s.dims = vector.size();
  if (vector.size() != s.dims) return;  // another embedding model in the same scope: not comparable
  std::string key = scope + '\0' + text;
  if (auto old = byKey_.find(key); old != byKey_.end()) {
    Entry& e = entries_.at(old->second);
    e.answer = std::make_shared<const std::string>(std::move(answer));
    std::copy(vector.begin(), vector.end(), s.matrix.begin() + e.row * s.dims);
    e.expires = until;
    return;
  }
  uint64_t id = nextId_++;
  Entry e{id, scope, key, s.ids.size(), std::make_shared<const std::string>(std::move(answer)), until};
  s.matrix.insert(s.matrix.end(), vector.begin(), vector.end());
  s.ids.push_back(id);
  byKey_[key] = id;
  entries_.emplace(id, std::move(e));
}

size_t VectorStore::size() const {
  std::shared_lock lock(mutex_);
  return entries_.size();
}

}  // namespace causeway::gateway::ai
