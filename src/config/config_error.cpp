#include "config/config_error.h"

#include <algorithm>

namespace causeway::config {

std::string Location::toString() const {
  if (!source) return {};
  std::string out = *source;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  return out;
}

std::shared_ptr<const std::string> sourceName(std::string name) {
  return std::make_shared<const std::string>(std::move(name));
}

std::string ConfigError::toString() const {
  std::string out = location.toString();
  auto append = [&out](const std::string& part) {
    if (part.empty()) return;
    if (!out.empty()) out += ": ";
    out += part;
  };
  append(element);
  append(message);
  return out;
}

bool hasErrors(const std::vector<ConfigError>& errors) {
  return std::any_of(errors.begin(), errors.end(), [](const ConfigError& e) { return !e.warning; });
}

std::string_view closestName(std::string_view key, const std::vector<std::string_view>& expected) {
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c + 32) : c; };
  // Levenshtein distance, ignoring case, with one row of memory.
  auto distance = [&](std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= b.size(); ++j) {
        size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1)});
        diagonal = above;
      }
    }
    return row[b.size()];
  };
  const size_t limit = std::min<size_t>(2, std::max<size_t>(1, key.size() / 3));
  std::string_view best;
  size_t bestDistance = limit + 1;
  for (std::string_view name : expected) {
    size_t d = distance(key, name);
    if (d < bestDistance) {
      best = name;
      bestDistance = d;
    }
  }
  return best;
}

} // namespace causeway::config
