#include "exchange/response_caches.h"

#include <algorithm>

namespace causeway::exchange {

ResponseCaches& ResponseCaches::instance() {
  static ResponseCaches caches;
  return caches;
}

std::shared_ptr<ResponseCache> ResponseCaches::find(std::string_view name, std::string_view shape) const {
  std::lock_guard lock(mutex_);
  // Only the newest of a name counts: after shapes A, B and A again, the first A is not the
  // one the API lists, so it is not taken back.
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->name != name) continue;
    auto cache = it->cache.lock();
    if (!cache) continue;
    return it->shape == shape ? cache : nullptr;
  }
  return nullptr;
}

void ResponseCaches::add(std::string name, std::string shape, const std::shared_ptr<ResponseCache>& cache) {
  std::lock_guard lock(mutex_);
  std::erase_if(entries_, [](const Entry& e) { return e.cache.expired(); });
  entries_.push_back({std::move(name), std::move(shape), cache});
}

std::vector<std::pair<std::string, std::shared_ptr<ResponseCache>>> ResponseCaches::all() const {
  std::vector<std::pair<std::string, std::shared_ptr<ResponseCache>>> out;
  {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [](const Entry& e) { return e.cache.expired(); });
    for (const Entry& entry : entries_)
      if (auto cache = entry.cache.lock()) out.emplace_back(entry.name, std::move(cache));
  }
  // A reload that changed a cache's shape leaves the old one alive until the old
  // configuration is gone: the newest of a name is listed.
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::pair<std::string, std::shared_ptr<ResponseCache>>> unique;
  for (auto& item : out) {
    if (!unique.empty() && unique.back().first == item.first) unique.back() = std::move(item);
    else unique.push_back(std::move(item));
  }
  return unique;
}

}  // namespace causeway::exchange
