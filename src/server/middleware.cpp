#include "server/middleware.h"

#include "core/strings.h"

namespace causeway::server {

ServiceRefPtr MiddlewareBuildContext::service(std::string_view name) {
  std::string qualified(name);
  if (qualified.find('@') == std::string::npos) qualified += "@" + provider_;
  auto ref = std::make_shared<ServiceRef>(std::move(qualified));
  serviceRefs_.push_back(ref);
  return ref;
}

MiddlewareRegistry& MiddlewareRegistry::instance() {
  static MiddlewareRegistry registry;
  return registry;
}

namespace {

std::string derivedSpanName(std::string_view type) {
  std::string name(type);
  if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') name[0] = char(name[0] - 'a' + 'A');
  return name;
}

}  // namespace

void MiddlewareRegistry::add(std::string type, MiddlewareCreator creator, std::string spanName, bool ownSpans) {
  std::string key = toLower(type);
  creators_[key] = std::move(creator);
  ownSpans_[key] = ownSpans;
  spanNames_[key] = spanName.empty() ? derivedSpanName(type) : std::move(spanName);
  names_[key] = std::move(type);
}

std::string MiddlewareRegistry::spanName(std::string_view type) const {
  auto it = spanNames_.find(toLower(type));
  return it == spanNames_.end() ? derivedSpanName(type) : it->second;
}

const MiddlewareCreator* MiddlewareRegistry::find(std::string_view type) const {
  auto it = creators_.find(toLower(type));
  return it == creators_.end() ? nullptr : &it->second;
}

bool MiddlewareRegistry::recordsOwnSpans(std::string_view type) const {
  auto it = ownSpans_.find(toLower(type));
  return it != ownSpans_.end() && it->second;
}

std::vector<std::string> MiddlewareRegistry::types() const {
  std::vector<std::string> out;
  for (const auto& [key, name] : names_) out.push_back(name);
  return out;
}

}  // namespace causeway::server
