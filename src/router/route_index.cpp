#include "router/route_index.h"

namespace causeway::router::detail {

void RouteIndex::build(std::vector<const CompiledRule*> rules) {
  rules_ = std::move(rules);
  exact_.clear();
  wildcard_.clear();
  anyHost_.clear();
  for (uint32_t position = 0; position < rules_.size(); ++position) {
    const auto& hosts = rules_[position]->hostIndex();
    if (!hosts) {
      anyHost_.push_back(position);
      continue;
    }
    for (const std::string& host : *hosts) {
      // Positions are visited in ascending order, so every list stays sorted; a rule listing
      // the same key twice is stored once.
      std::vector<uint32_t>& list =
          host.starts_with("*.") ? wildcard_[host.substr(2)] : exact_[host];
      if (list.empty() || list.back() != position) list.push_back(position);
    }
  }
}

size_t RouteIndex::findFirst(const MatchInput& input) const {
  const std::vector<uint32_t>* lists[3];
  size_t count = 0;
  if (auto it = exact_.find(input.host); it != exact_.end()) lists[count++] = &it->second;
  if (size_t dot = input.host.find('.'); dot != std::string_view::npos && !wildcard_.empty()) {
    if (auto it = wildcard_.find(input.host.substr(dot + 1)); it != wildcard_.end())
      lists[count++] = &it->second;
  }
  if (!anyHost_.empty()) lists[count++] = &anyHost_;

  size_t next[3] = {0, 0, 0};
  uint32_t previous = UINT32_MAX;
  while (true) {
    uint32_t best = UINT32_MAX;
    size_t from = count;
    for (size_t i = 0; i < count; ++i) {
      if (next[i] < lists[i]->size() && (*lists[i])[next[i]] < best) {
        best = (*lists[i])[next[i]];
        from = i;
      }
    }
    if (from == count) return npos;
    ++next[from];
    if (best == previous) continue; // the same rule reached through two lists
    previous = best;
    if (rules_[best]->matches(input)) return best;
  }
}

} // namespace causeway::router::detail
