#include "control/snapshot_build.h"

#include <algorithm>

#include "core/strings.h"

namespace causeway::control {

void SnapshotBuild::buildMiddlewares() {
  for (const auto& [provider, config] : in_.providers) {
    for (const auto& [name, element] : config->http.middlewares) {
      std::string qualified = qualify(name, provider);
      runtime::MiddlewareState& state = runtime_.middlewares[qualified];
      state.provider = provider;
      state.type = element.value.type;
      MiddlewareEntry& entry = middlewares_[qualified];
      entry.provider = provider;
      entry.type = element.value.type;
      for (const auto& e : element.errors) state.addError(e.toString(), !e.warning);
      if (!element.ok()) {
        entry.ok = false;
        continue;
      }
      if (iequals(element.value.type, "chain")) {
        buildChain(qualified, provider, element.value.options, entry, state);
        continue;
      }
      const exchange::MiddlewareCreator* creator = exchange::MiddlewareRegistry::instance().find(element.value.type);
      if (!creator) {
        entry.ok = false;
        state.addError(locationPrefix(element.location) + "unknown middleware type \"" +
                       element.value.type + "\"");
        continue;
      }
      auto cached = caches_.middlewares.find(qualified);
      if (cached != caches_.middlewares.end() && cached->second.first == element.fingerprint) {
        entry.factory = cached->second.second;
        continue;
      }
      exchange::MiddlewareBuildContext context(qualified, provider);
      context.setDefaultTransport(transports_["default@internal"]);
      context.setWorkers(in_.workers);
      context.setApiCatalog(&apiCatalog_);
      exchange::MiddlewareFactoryPtr factory = (*creator)(element.value.options, context);
      if (iequals(element.value.type, "api"))  // the API it publishes knows it (docs/api-management.md)
        if (const config::Node* api = element.value.options.find("name"); api && api->isScalar())
          if (auto known = runtime_.apiResources["apis"].find(qualify(api->text(), provider));
              known != runtime_.apiResources["apis"].end())
            known->second.usedBy.push_back(qualified);
      for (const auto& error : context.errors())
        state.addError(error.location.known() ? error.toString() : locationPrefix(element.location) + error.message);
      for (const auto& warning : context.warnings()) {
        std::string text = warning.location.known() ? warning.toString() : locationPrefix(element.location) + warning.message;
        if (warning.unsupported) state.addUnsupported(std::move(text), false);
        else state.addError(std::move(text), false);
      }
      if (!factory || !context.errors().empty()) {
        entry.ok = false;
        if (context.errors().empty()) state.addError("invalid middleware configuration");
        continue;
      }
      entry.factory = factory;
      entry.serviceRefs = context.serviceRefs();
      // Factories that call services hold references filled by this build: never reused.
      // (and those with warnings, which are shown again with every build).
      if (entry.serviceRefs.empty() && context.warnings().empty() && !context.readsCatalog()) caches_.middlewares[qualified] = {element.fingerprint, factory};
      else caches_.middlewares.erase(qualified);
    }
  }
}

void SnapshotBuild::warnUnpublishedApis() {
  for (const auto& [name, entry] : apiCatalog_.apis) {
    if (!entry.ok) continue;
    runtime::ApiResourceState& state = runtime_.apiResources["apis"][name];
    bool published = false;
    for (const std::string& user : state.usedBy) published = published || middlewares_.count(user) > 0;
    if (!published)
      state.addError(locationPrefix(entry.element->location) + "no api middleware publishes this API yet: put "
                         "{api: {name: " + name + "}} on its router (docs/api-management.md)",
                     false);
  }
}

void SnapshotBuild::buildChain(const std::string& qualified, const std::string& provider, const config::Node& options,
                MiddlewareEntry& entry, runtime::MiddlewareState& state) {
  const config::Node* list = options.find("middlewares");
  if (!options.isMap() || !list) {
    entry.ok = false;
    state.addError(locationPrefix(options.location()) + "chain needs a middlewares list");
    return;
  }
  std::vector<std::string> names;
  config::DecodeContext context;
  config::decode(*list, names, context);
  for (const auto& e : context.errors()) state.addError(e.toString());
  for (const auto& name : names) entry.chain.push_back(qualify(name, provider));
  if (hasErrors(context.errors())) entry.ok = false;
}

// Appends the factories of `name` (expanding chains) to `out`; false with `error` set
// when a middleware is missing, broken, or a chain loops.
bool SnapshotBuild::expandMiddleware(const std::string& name, std::vector<std::string>& visiting,
                      MiddlewareChain& out, std::string& error,
                      const std::string& usedBy) {
  auto it = middlewares_.find(name);
  if (it == middlewares_.end()) {
    error = "middleware \"" + name + "\" does not exist";
    return false;
  }
  runtime_.middlewares[name].usedBy.push_back(usedBy);
  if (!it->second.ok) {
    error = "middleware \"" + name + "\" has errors";
    return false;
  }
  if (!iequals(it->second.type, "chain")) {
    out.emplace_back(name, it->second.factory);
    return true;
  }
  if (std::find(visiting.begin(), visiting.end(), name) != visiting.end()) {
    error = "recursion detected in chain \"" + name + "\"";
    runtime_.middlewares[name].addError(error);
    return false;
  }
  visiting.push_back(name);
  for (const auto& member : it->second.chain)
    if (!expandMiddleware(member, visiting, out, error, name)) return false;
  visiting.pop_back();
  return true;
}

bool SnapshotBuild::resolveChain(const std::vector<std::string>& names, const std::string& provider,
                  MiddlewareChain& out, std::string& error,
                  const std::string& usedBy) {
  for (const auto& name : names) {
    std::vector<std::string> visiting;
    if (!expandMiddleware(qualify(name, provider), visiting, out, error, usedBy)) return false;
  }
  return true;
}

}  // namespace causeway::control
