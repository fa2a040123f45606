#include "config/config_error.h"

#include <algorithm>

namespace causeway::config {

std::string Location::toString() const {
  if (!source) return key;
  std::string out = *source;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  if (!key.empty()) out += ' ' + key;
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

} // namespace causeway::config
