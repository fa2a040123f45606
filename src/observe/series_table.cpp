#include "observe/series_table.h"

#include <cstring>

namespace causeway::observe {

KeyIndex::KeyIndex() {
  entries_.resize(64);
  mask_ = 63;
  shift_ = 64 - 6;
}

void KeyIndex::insert(uint64_t key, uint32_t value) {
  if ((size_ + 1) * 2 > entries_.size()) grow();
  size_t i = slot(key);
  while (entries_[i].key != kEmpty && entries_[i].key != key) i = (i + 1) & mask_;
  if (entries_[i].key == kEmpty) ++size_;
  entries_[i] = {key, value};
}

void KeyIndex::grow() {
  std::vector<Entry> old = std::move(entries_);
  entries_.assign(old.size() * 2, Entry{});
  mask_ = entries_.size() - 1;
  --shift_;
  size_ = 0;
  for (const Entry& e : old)
    if (e.key != kEmpty) insert(e.key, e.value);
}

uint32_t NameInterner::id(std::string_view name) {
  CacheSlot& slot = cache_[(reinterpret_cast<uintptr_t>(name.data()) >> 3) & 63];
  if (slot.data && slot.data == name.data() && slot.size == name.size()) {
    const std::string& known = *names_[slot.id];
    if (std::memcmp(known.data(), name.data(), name.size()) == 0) return slot.id;
  }
  uint32_t id;
  auto it = ids_.find(name);
  if (it != ids_.end()) {
    id = it->second;
  } else {
    if (names_.size() >= maxNames_) return kFull;
    id = uint32_t(names_.size());
    names_.push_back(std::make_unique<std::string>(name));
    ids_.emplace(*names_.back(), id);
  }
  if (name.size() <= UINT32_MAX) slot = {name.data(), uint32_t(name.size()), id};
  return id;
}

SeriesTable::SeriesTable(size_t slots, size_t maxSeries)
    : slots_(slots),
      maxSeries_(maxSeries),
      chunks_(new std::atomic<Chunk*>[(maxSeries + kChunk - 1) / kChunk]()) {}

SeriesTable::~SeriesTable() {
  size_t chunks = (maxSeries_ + kChunk - 1) / kChunk;
  for (size_t i = 0; i < chunks; ++i) delete chunks_[i].load();
}

std::atomic<uint64_t>* SeriesTable::create(uint64_t key, std::string labels, std::string_view router,
                                           std::string_view service, uint32_t* indexOut) {
  size_t count = size_.load(std::memory_order_relaxed);
  if (count >= maxSeries_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  Chunk* chunk = chunks_[count / kChunk].load(std::memory_order_relaxed);
  if (!chunk) {
    chunk = new Chunk(slots_);
    chunks_[count / kChunk].store(chunk, std::memory_order_release);
  }
  Series& series = chunk->series[count % kChunk];
  series.labels = std::move(labels);
  series.router = router;
  series.service = service;
  series.values = chunk->values.get() + (count % kChunk) * slots_;
  index_.insert(key, uint32_t(count));
  size_.store(count + 1, std::memory_order_release);
  if (indexOut) *indexOut = uint32_t(count);
  return series.values;
}

}  // namespace causeway::observe
