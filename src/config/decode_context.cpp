#include "config/decode_context.h"

namespace causeway::config {

DecodeContext::Scope::~Scope() {
  context_.path_.resize(pathLength_);
  context_.location_ = std::move(location_);
}

DecodeContext::Scope DecodeContext::enter(std::string_view key, const Location& keyLocation) {
  const size_t pathLength = path_.size();
  Location parent = location_;
  if (!path_.empty()) path_ += '.';
  path_ += key;
  if (keyLocation.known()) location_ = keyLocation;
  return Scope(*this, pathLength, std::move(parent));
}

DecodeContext::Scope DecodeContext::enterIndex(size_t index, const Location& location) {
  const size_t pathLength = path_.size();
  Location parent = location_;
  path_ += '[' + std::to_string(index) + ']';
  if (location.known()) location_ = location;
  return Scope(*this, pathLength, std::move(parent));
}

const ConfigError& DecodeContext::error(const Location& where, std::string message) {
  return add(where, std::move(message), false);
}

const ConfigError& DecodeContext::warning(const Location& where, std::string message) {
  return add(where, std::move(message), true);
}

const ConfigError& DecodeContext::unsupported(const Location& where, std::string message) {
  add(where, std::move(message), true);
  errors_.back().unsupported = true;
  return errors_.back();
}

const ConfigError& DecodeContext::add(const Location& where, std::string message, bool warning) {
  errors_.push_back({where.known() ? where : location_, path_, std::move(message), warning, false});
  return errors_.back();
}

} // namespace causeway::config
