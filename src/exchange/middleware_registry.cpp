#include "exchange/middleware_registry.h"

#include "core/strings.h"

namespace causeway::exchange {

ServiceRefPtr MiddlewareBuildContext::service(std::string_view name) {
  std::string qualified(name);
  if (qualified.find('@') == std::string::npos) qualified += "@" + provider_;
  auto ref = std::make_shared<ServiceRef>(std::move(qualified));
  serviceRefs_.push_back(ref);
  return ref;
}

MiddlewareFactoryPtr MiddlewareBuildContext::buildInner(std::string_view type, const config::Node& options,
                                                        std::string_view prefix) {
  const MiddlewareCreator* creator = MiddlewareRegistry::instance().find(type);
  if (!creator) {
    error(std::string(prefix) + "the " + std::string(type) + " middleware is not built into this binary");
    return nullptr;
  }
  MiddlewareBuildContext inner(name_, provider_);
  inner.setDefaultTransport(defaultTransport_);
  inner.setWorkers(workers_);
  MiddlewareFactoryPtr factory = (*creator)(options, inner);
  for (config::ConfigError e : inner.errors()) {
    e.message = std::string(prefix) + e.message;
    error(std::move(e));
  }
  for (config::ConfigError w : inner.warnings()) {
    w.message = std::string(prefix) + w.message;
    warning(std::move(w));
  }
  return inner.errors().empty() ? factory : nullptr;
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
  if (spanName.empty()) spanName = derivedSpanName(type);
  std::string key = toLower(type);
  entries_[key] = Entry{std::move(type), std::move(creator), std::move(spanName), ownSpans};
}

const MiddlewareRegistry::Entry* MiddlewareRegistry::entry(std::string_view type) const {
  auto it = entries_.find(toLower(type));
  return it == entries_.end() ? nullptr : &it->second;
}

const MiddlewareCreator* MiddlewareRegistry::find(std::string_view type) const {
  const Entry* e = entry(type);
  return e ? &e->creator : nullptr;
}

std::string MiddlewareRegistry::spanName(std::string_view type) const {
  const Entry* e = entry(type);
  return e ? e->spanName : derivedSpanName(type);
}

bool MiddlewareRegistry::recordsOwnSpans(std::string_view type) const {
  const Entry* e = entry(type);
  return e && e->ownSpans;
}

std::vector<std::string> MiddlewareRegistry::types() const {
  std::vector<std::string> out;
  for (const auto& [key, e] : entries_) out.push_back(e.type);
  return out;
}

}  // namespace causeway::exchange
