#include "http/status_ranges.h"

#include <algorithm>
#include <limits>

namespace causeway::http {

std::optional<long long> goAtoi(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    i = 1;
  }
  if (i == text.size()) return std::nullopt;
  unsigned long long value = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return std::nullopt;
    if (value > (std::numeric_limits<unsigned long long>::max() - 9) / 10) return std::nullopt;
    value = value * 10 + unsigned(c - '0');
    if (value > static_cast<unsigned long long>(std::numeric_limits<long long>::max()) + 1)
      return std::nullopt;
  }
  if (!negative && value > static_cast<unsigned long long>(std::numeric_limits<long long>::max()))
    return std::nullopt;
  return negative ? static_cast<long long>(0ULL - value) : static_cast<long long>(value);
}

std::optional<StatusRanges> parseStatusRanges(const std::vector<std::string>& entries,
                                              std::string& error) {
  StatusRanges ranges;
  for (const auto& entry : entries) {
    std::string_view text = entry;
    size_t dash = text.find('-');
    std::string_view low = dash == std::string_view::npos ? text : text.substr(0, dash);
    std::string_view high = low;
    if (dash != std::string_view::npos) {
      high = text.substr(dash + 1);
      if (size_t next = high.find('-'); next != std::string_view::npos) high = high.substr(0, next);
    }
    auto lowValue = goAtoi(low);
    if (!lowValue) {
      error = "strconv.Atoi: parsing \"" + std::string(low) + "\": invalid syntax";
      return std::nullopt;
    }
    auto highValue = goAtoi(high);
    if (!highValue) {
      error = "strconv.Atoi: parsing \"" + std::string(high) + "\": invalid syntax";
      return std::nullopt;
    }
    auto clamp = [](long long v) {
      return int(std::max<long long>(std::numeric_limits<int>::min(),
                                     std::min<long long>(v, std::numeric_limits<int>::max())));
    };
    ranges.blocks.emplace_back(clamp(*lowValue), clamp(*highValue));
  }
  return ranges;
}

}  // namespace causeway::http
