// Traefik's HTTP status code ranges (pkg/types.HTTPCodeRanges), used by errors.status,
// errors.statusRewrites and retry.status: each entry is "500" or "500-599" (inclusive);
// a comma list ("500,502") arrives already split by the config decoder.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace causeway::http {

struct StatusRanges {
  std::vector<std::pair<int, int>> blocks;  // inclusive [low, high]

  bool contains(int status) const {
    for (const auto& [low, high] : blocks)
      if (status >= low && status <= high) return true;
    return false;
  }
  bool empty() const { return blocks.empty(); }
};

// Parses the entries as Traefik does: split on '-', the first two pieces are the bounds
// (a single code is both), each parsed like Go's strconv.Atoi (optional sign, decimal).
// nullopt with `error` set (Go's wording) when a bound is not a number.
std::optional<StatusRanges> parseStatusRanges(const std::vector<std::string>& entries,
                                              std::string& error);

// Go's strconv.Atoi for an int: optional '+'/'-' then decimal digits, no spaces.
std::optional<long long> goAtoi(std::string_view text);

}  // namespace causeway::http
