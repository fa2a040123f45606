#include "gateway/ai/vector_store.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <cmath>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace causeway::gateway::ai {
namespace {

// HNSW parameters (distances by CosineSpace below): 16 links per node (32 on the base layer), a candidate list of 64 while
// building and 64 while searching. docs/ai-gateway.md ("Semantic cache") has the measured
// recall and cost.
constexpr size_t kLinks = 16;
constexpr size_t kBuildCandidates = 64;
constexpr size_t kSearchCandidates = 64;
// The nearest few the graph returns: an expired one among them is passed over.
constexpr size_t kGraphResults = 4;

bool finite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

// Dot products: eight independent sums (so the compiler may use vector registers without
// reordering one sum, which strict floating point forbids), or AVX2 with FMA where the CPU has
// them (chosen once at start: the build targets baseline x86-64, as Debian's hnswlib does, which
// would otherwise leave the graph's distances on SSE).
float dotPortable(const float* a, const float* b, size_t n) {
  float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (size_t k = 0; k < 8; ++k) part[k] += a[i + k] * b[i + k];
  float dot = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
  for (; i < n; ++i) dot += a[i] * b[i];
  return dot;
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) float dotAvx2(const float* a, const float* b, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  s0 = _mm256_add_ps(s0, s1);
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
  sum = _mm_hadd_ps(sum, sum);
  sum = _mm_hadd_ps(sum, sum);
  float dot = _mm_cvtss_f32(sum);
  for (; i < n; ++i) dot += a[i] * b[i];
  return dot;
}
#endif

using DotFunction = float (*)(const float*, const float*, size_t);

DotFunction pickDot() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return dotAvx2;
#endif
  return dotPortable;
}

const DotFunction kDot = pickDot();

// hnswlib's space for normalized vectors: distance = 1 - dot, through kDot.
class CosineSpace final : public hnswlib::SpaceInterface<float> {
 public:
  explicit CosineSpace(size_t dims) : dims_(dims) {}
  size_t get_data_size() override { return dims_ * sizeof(float); }
  hnswlib::DISTFUNC<float> get_dist_func() override { return &distance; }
  void* get_dist_func_param() override { return &dims_; }

 private:
  static float distance(const void* a, const void* b, const void* dims) {
    return 1.0f - kDot(static_cast<const float*>(a), static_cast<const float*>(b), *static_cast<const size_t*>(dims));
  }
  size_t dims_;
};

}  // namespace

struct VectorStore::Scope {
  size_t dims = 0;
  std::vector<float> matrix;  // one row of `dims` floats per slot
  std::vector<uint64_t> ids;  // the entry in each slot, 0 when free
  std::vector<size_t> free;   // free slots
  size_t live = 0;
  // The graph, once the scope reached kIndexFrom entries. Labels are slots.
  std::unique_ptr<CosineSpace> space;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> graph;

  const float* row(size_t slot) const { return matrix.data() + slot * dims; }

  // hnswlib reports failures (memory) by exceptions: the scope then goes back to scanning.
  void buildGraph() {
    try {
      space = std::make_unique<CosineSpace>(dims);
      graph = std::make_unique<hnswlib::HierarchicalNSW<float>>(space.get(), std::max<size_t>(ids.size() * 2, 1024),
                                                                kLinks, kBuildCandidates);
      graph->setEf(kSearchCandidates);
      for (size_t slot = 0; slot < ids.size(); ++slot)
        if (ids[slot] != 0) graph->addPoint(row(slot), slot);
    } catch (const std::exception&) {
      graph.reset();
    }
  }

  void addToGraph(size_t slot) {
    if (!graph) return;
    try {
      if (slot >= graph->max_elements_) graph->resizeIndex(graph->max_elements_ * 2);
      graph->addPoint(row(slot), slot);  // a slot seen before is updated (and undeleted)
    } catch (const std::exception&) {
      graph.reset();
    }
  }

  void removeFromGraph(size_t slot) {
    if (!graph) return;
    try {
      graph->markDelete(slot);
    } catch (const std::exception&) {
      graph.reset();
    }
  }
};

VectorStore::VectorStore(size_t maxEntries, size_t maxBytes, std::chrono::nanoseconds ttl)
    : maxEntries_(maxEntries), maxBytes_(maxBytes), ttl_(ttl) {}

VectorStore::~VectorStore() = default;

void VectorStore::normalize(std::vector<float>& v) {
  double norm = 0;
  for (float x : v) norm += double(x) * x;
  norm = std::sqrt(norm);
  if (norm > 0 && std::isfinite(norm))
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

const VectorStore::Entry* VectorStore::scanNearest(const Scope& s, const float* query, Clock::time_point now,
                                                   float& similarity) const {
  const size_t dims = s.dims;
  const Entry* best = nullptr;
  for (size_t slot = 0; slot < s.ids.size(); ++slot) {
    if (s.ids[slot] == 0) continue;
    float dot = kDot(s.row(slot), query, dims);
    if (!(dot > similarity)) continue;  // NaN never wins
    const Entry& e = entries_.at(s.ids[slot]);
    if (e.expires <= now) continue;
    similarity = dot;
    best = &e;
  }
  return best;
}

const VectorStore::Entry* VectorStore::graphNearest(const Scope& s, const float* query, Clock::time_point now,
                                                    float& similarity) const {
  auto found = s.graph->searchKnn(query, kGraphResults);  // farthest on top
  std::vector<std::pair<float, size_t>> order;
  while (!found.empty()) {
    order.emplace_back(found.top().first, size_t(found.top().second));
    found.pop();
  }
  for (auto it = order.rbegin(); it != order.rend(); ++it) {  // nearest first
    size_t slot = it->second;
    if (slot >= s.ids.size() || s.ids[slot] == 0) continue;
    const Entry& e = entries_.at(s.ids[slot]);
    if (e.expires <= now) continue;
    similarity = 1.0f - it->first;  // CosineSpace: distance = 1 - dot
    return &e;
  }
  return nullptr;
}

std::optional<VectorStore::Hit> VectorStore::nearest(const std::string& scope, const std::vector<float>& vector,
                                                     double maxDistance, Clock::time_point now) const {
  if (!finite(vector)) return std::nullopt;
  std::shared_lock lock(mutex_);
  auto it = byScope_.find(scope);
  if (it == byScope_.end() || it->second->dims != vector.size()) return std::nullopt;
  const Scope& s = *it->second;
  float similarity = -2;
  const Entry* best = s.graph ? graphNearest(s, vector.data(), now, similarity)
                              : scanNearest(s, vector.data(), now, similarity);
  if (!best || !(1.0 - similarity <= maxDistance)) return std::nullopt;
  return Hit{best->answer, 1.0 - similarity, false};
}

void VectorStore::evictOne() {
  auto oldest = entries_.begin();
  if (oldest == entries_.end()) return;
  const Entry& e = oldest->second;
  byKey_.erase(e.key);
  auto scope = byScope_.find(e.scope);
  Scope& s = *scope->second;
  s.ids[e.slot] = 0;
  s.free.push_back(e.slot);
  s.removeFromGraph(e.slot);
  if (--s.live == 0) byScope_.erase(scope);
  bytes_ -= e.bytes;
  entries_.erase(oldest);
}

void VectorStore::insert(const std::string& scope, const std::string& text, std::vector<float> vector,
                         std::string answer, Clock::time_point now, std::optional<Clock::time_point> expires) {
  Clock::time_point until = expires.value_or(now + ttl_);
  if (until <= now || vector.empty() || !finite(vector)) return;
  normalize(vector);
  // What an entry holds: its answer, its text twice (the exact key and the entry), its vector
  // twice (the scope's matrix and, in a large scope, the graph's copy).
  const size_t bytes = answer.size() + 2 * (scope.size() + text.size()) + 2 * vector.size() * sizeof(float) + 128;
  if (bytes > maxBytes_) return;
  std::unique_lock lock(mutex_);
  std::string key = scope + '\0' + text;
  if (auto old = byKey_.find(key); old != byKey_.end()) {
    Entry& e = entries_.at(old->second);
    Scope& s = *byScope_.at(scope);
    if (vector.size() != s.dims) return;
    bytes_ = bytes_ - e.bytes + bytes;
    e.bytes = bytes;
    e.answer = std::make_shared<const std::string>(std::move(answer));
    std::copy(vector.begin(), vector.end(), s.matrix.begin() + std::ptrdiff_t(e.slot * s.dims));
    s.addToGraph(e.slot);
    e.expires = until;
    return;
  }
  if (auto existing = byScope_.find(scope); existing != byScope_.end() && existing->second->dims != vector.size())
    return;  // another embedding model in the same scope: not comparable
  // Expired entries go first (they are the oldest of their age), then the oldest while full.
  while (!entries_.empty() && (entries_.begin()->second.expires <= now || entries_.size() >= maxEntries_ ||
                               bytes_ + bytes > maxBytes_))
    evictOne();
  std::unique_ptr<Scope>& held = byScope_[scope];
  if (!held) {
    held = std::make_unique<Scope>();
    held->dims = vector.size();
  }
  Scope& s = *held;
  uint64_t id = nextId_++;
  size_t slot;
  if (!s.free.empty()) {
    slot = s.free.back();
    s.free.pop_back();
    std::copy(vector.begin(), vector.end(), s.matrix.begin() + std::ptrdiff_t(slot * s.dims));
    s.ids[slot] = id;
  } else {
    slot = s.ids.size();
    s.matrix.insert(s.matrix.end(), vector.begin(), vector.end());
    s.ids.push_back(id);
  }
  ++s.live;
  if (s.graph) s.addToGraph(slot);
  else if (s.live >= kIndexFrom) s.buildGraph();
  bytes_ += bytes;
  byKey_[key] = id;
  entries_.emplace(id, Entry{id, scope, std::move(key), slot, bytes,
                             std::make_shared<const std::string>(std::move(answer)), until});
}

size_t VectorStore::size() const {
  std::shared_lock lock(mutex_);
  return entries_.size();
}

size_t VectorStore::bytes() const {
  std::shared_lock lock(mutex_);
  return bytes_;
}

bool VectorStore::indexed(const std::string& scope) const {
  std::shared_lock lock(mutex_);
  auto it = byScope_.find(scope);
  return it != byScope_.end() && it->second->graph != nullptr;
}

}  // namespace causeway::gateway::ai
