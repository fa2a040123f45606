// Per-worker storage of metric series, written without locks by its worker and read by a
// scrape from any thread (design: "counting on the hot path is per worker with no lock,
// merged when scraped").
//
// A series is found by a 64-bit key made of small interned ids (entryPoint, router, service,
// method, protocol, code); on first use the worker formats its Prometheus labels once and
// publishes it. Series are never moved or freed while the table lives: they sit in fixed
// chunks, and `size_` is published with release ordering after a series is complete, so a
// scrape sees only complete series. Values are atomics that only the owning worker writes
// (a relaxed load and store, no locked instruction).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace causeway::observe {

// Open-addressing map from 64-bit keys (never ~0) to 32-bit values; one thread.
class KeyIndex {
 public:
  KeyIndex();
  // The value for `key`, or nullptr.
  const uint32_t* find(uint64_t key) const {
    size_t i = slot(key);
    while (true) {
      const Entry& e = entries_[i];
      if (e.key == key) return &e.value;
      if (e.key == kEmpty) return nullptr;
      i = (i + 1) & mask_;
    }
  }
  void insert(uint64_t key, uint32_t value);
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~uint64_t(0);
  struct Entry {
    uint64_t key = kEmpty;
    uint32_t value = 0;
  };
  size_t slot(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ull) >> shift_) & mask_; }
  void grow();

  std::vector<Entry> entries_;
  size_t mask_ = 0;
  unsigned shift_ = 0;
  size_t size_ = 0;
};

// Strings (router, service, cipher names, header-label tuples) → dense ids, for one worker. A
// small cache keyed by the string's address skips hashing for views into long-lived storage
// (a snapshot's router names); a hit is verified against the content, so a reused address
// never returns a wrong id.
class NameInterner {
 public:
  static constexpr uint32_t kFull = ~uint32_t(0);
  explicit NameInterner(uint32_t maxNames) : maxNames_(maxNames) {}
  // The id of `name`, interning it; kFull when the table is full.
  uint32_t id(std::string_view name);
  const std::string& name(uint32_t id) const { return *names_[id]; }
  size_t size() const { return names_.size(); }

 private:
  struct CacheSlot {
    const char* data = nullptr;
    uint32_t size = 0;
    uint32_t id = 0;
  };
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  uint32_t maxNames_;
  CacheSlot cache_[64];
  std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> ids_;
  std::vector<std::unique_ptr<std::string>> names_;
};

// One metric family group's series for one worker.
class SeriesTable {
 public:
  struct Series {
    std::string labels;   // formatted Prometheus labels, sorted by name, without braces
    std::string router;   // for dropping series of routers and services that are gone
    std::string service;
    std::atomic<uint64_t>* values = nullptr;  // `slots` counters
  };

  SeriesTable(size_t slots, size_t maxSeries);
  ~SeriesTable();
  SeriesTable(const SeriesTable&) = delete;
  SeriesTable& operator=(const SeriesTable&) = delete;

  // Worker thread: the counters of the series `key`, or nullptr when it does not exist yet.
  std::atomic<uint64_t>* find(uint64_t key) const {
    const uint32_t* index = index_.find(key);
    return index ? seriesAt(*index).values : nullptr;
  }
  // Worker thread: creates the series (find() returned nullptr); nullptr when the table is full.
  std::atomic<uint64_t>* create(uint64_t key, std::string labels, std::string_view router,
                                std::string_view service, uint32_t* indexOut = nullptr);
  std::atomic<uint64_t>* valuesOf(uint32_t index) const { return seriesAt(index).values; }
  // Worker thread: the index of `key`'s series (for keys built on series), or ~0.
  uint32_t indexOf(uint64_t key) const {
    const uint32_t* index = index_.find(key);
    return index ? *index : ~uint32_t(0);
  }

  // Any thread: visits every published series.
  template <class Visit>
  void forEach(Visit&& visit) const {
    size_t count = size_.load(std::memory_order_acquire);
    for (size_t i = 0; i < count; ++i) visit(seriesAt(uint32_t(i)));
  }
  size_t slots() const { return slots_; }
  size_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

  // One worker-owned counter increment (single writer: no locked instruction).
  static void add(std::atomic<uint64_t>& counter, uint64_t delta) {
    counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_relaxed);
  }

 private:
  static constexpr size_t kChunk = 256;
  struct Chunk {
    explicit Chunk(size_t slots) : series(kChunk), values(new std::atomic<uint64_t>[kChunk * slots]()) {}
    std::vector<Series> series;
    std::unique_ptr<std::atomic<uint64_t>[]> values;
  };
  const Series& seriesAt(uint32_t i) const {
    return chunks_[i / kChunk].load(std::memory_order_acquire)->series[i % kChunk];
  }

  size_t slots_;
  size_t maxSeries_;
  KeyIndex index_;
  std::unique_ptr<std::atomic<Chunk*>[]> chunks_;
  std::atomic<size_t> size_{0};
  std::atomic<size_t> dropped_{0};
};

}  // namespace causeway::observe
