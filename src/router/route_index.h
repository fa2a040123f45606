// The non-template core of RouteTable: given compiled rules in match order, finds the first
// one that matches without walking every rule. Rules whose host index is known sit in an
// exact-host map or a one-label-wildcard map (keyed by parent domain); the rest are in an
// any-host list. A lookup merges the (at most three) candidate lists in match order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "router/rule.h"

namespace causeway::router::detail {

class RouteIndex {
public:
  static constexpr size_t npos = SIZE_MAX;

  // `rules[i]` is the rule at match position i (0 = tried first). The pointers must stay
  // valid and unchanged for the index's lifetime. Replaces any previous content.
  void build(std::vector<const CompiledRule*> rules);

  // Position of the first rule, in match order, that matches `input`; npos when none does.
  // Thread-safe (read-only); no allocation.
  size_t findFirst(const MatchInput& input) const;

  size_t exactHostCount() const { return exact_.size(); }
  size_t wildcardParentCount() const { return wildcard_.size(); }
  size_t anyHostCount() const { return anyHost_.size(); }

private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>()(s);
    }
  };
  using HostMap = std::unordered_map<std::string, std::vector<uint32_t>, Hash, std::equal_to<>>;

  std::vector<const CompiledRule*> rules_;
  HostMap exact_;    // lower-case host -> positions, ascending
  HostMap wildcard_; // parent domain ("example.com" for "*.example.com") -> positions
  std::vector<uint32_t> anyHost_;
};

} // namespace causeway::router::detail
