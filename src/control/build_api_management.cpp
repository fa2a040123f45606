// The API management resources of every provider (config/api_management.h): gathered under
// their qualified names, each with a state for the API and the dashboard, and their references
// checked. A resource with an error of its own, or a reference that does not resolve, is
// disabled: it takes no part in any API's enforcement (gateway/api/api_management.cpp), and
// `causeway check` names the file and line of the reference.
#include "control/snapshot_build.h"

#include "core/strings.h"

namespace causeway::control {
namespace {

template <class T>
void gather(const std::string& kind, const std::string& provider, const std::map<std::string, config::Element<T>>& elements,
            std::map<std::string, config::ApiCatalogEntry<T>>& catalog,
            std::map<std::string, runtime::ApiResourceState>& states) {
  for (const auto& [name, element] : elements) {
    std::string qualified = qualify(name, provider);
    runtime::ApiResourceState& state = states[qualified];
    state.kind = kind;
    state.provider = provider;
    for (const auto& e : element.errors) {
      if (e.unsupported) state.addUnsupported(e.toString(), false);
      else state.addError(e.toString(), !e.warning);
    }
    catalog[qualified] = {provider, &element, element.ok()};
  }
}

}  // namespace

void SnapshotBuild::buildApiManagement() {
  auto& states = runtime_.apiResources;
  for (const auto& [provider, config] : in_.providers) {
    const config::ApiManagementConfig& am = config->apiManagement;
    gather("apis", provider, am.apis, apiCatalog_.apis, states["apis"]);
    gather("apiVersions", provider, am.apiVersions, apiCatalog_.apiVersions, states["apiVersions"]);
    gather("apiAuths", provider, am.apiAuths, apiCatalog_.apiAuths, states["apiAuths"]);
    gather("apiPlans", provider, am.apiPlans, apiCatalog_.apiPlans, states["apiPlans"]);
    gather("apiBundles", provider, am.apiBundles, apiCatalog_.apiBundles, states["apiBundles"]);
    gather("managedApplications", provider, am.managedApplications, apiCatalog_.managedApplications,
           states["managedApplications"]);
    gather("managedSubscriptions", provider, am.managedSubscriptions, apiCatalog_.managedSubscriptions,
           states["managedSubscriptions"]);
    gather("apiCatalogItems", provider, am.apiCatalogItems, apiCatalog_.apiCatalogItems, states["apiCatalogItems"]);
    gather("apiPortals", provider, am.apiPortals, apiCatalog_.apiPortals, states["apiPortals"]);
    gather("apiPortalAuths", provider, am.apiPortalAuths, apiCatalog_.apiPortalAuths, states["apiPortalAuths"]);
    gather("contentItems", provider, am.contentItems, apiCatalog_.contentItems, states["contentItems"]);
    if (am.store) {
      if (apiCatalog_.store)
        runtime_.globalErrors.push_back(locationPrefix(am.store->location()) +
                                        "apiManagement.store: another provider already sets the store of the API "
                                        "plans' counters; only one may");
      else
        apiCatalog_.store = &*am.store;
    }
    // The provider's default APIAuth: the one with isDefault, or its only one.
    std::vector<std::string> defaults;
    for (const auto& [name, element] : am.apiAuths)
      if (element.value.isDefault) defaults.push_back(name);
    if (defaults.empty() && am.apiAuths.size() == 1) defaults.push_back(am.apiAuths.begin()->first);
    if (defaults.size() == 1) {
      apiCatalog_.defaultAuth[provider] = qualify(defaults[0], provider);
    } else if (defaults.size() > 1) {
      for (const std::string& name : defaults)
        states["apiAuths"][qualify(name, provider)].addError(
            locationPrefix(am.apiAuths.at(name).location) + "more than one APIAuth of provider " + provider +
            " has isDefault: true; its APIs would not know which applies");
    }
  }

  // A reference that does not resolve disables the resource that makes it.
  auto resolve = [&](auto& catalog, const config::ApiRef& ref, const std::string& provider, const char* kind,
                     runtime::ApiResourceState& from, const std::string& fromName, bool& ok) -> std::string {
    std::string qualified = qualify(ref.name, provider);
    auto it = catalog.find(qualified);
    if (it == catalog.end()) {
      from.addError(locationPrefix(ref.location) + std::string(kind) + " \"" + qualified + "\" does not exist");
      ok = false;
    } else if (!it->second.ok) {
      from.addError(locationPrefix(ref.location) + std::string(kind) + " \"" + qualified + "\" has errors");
      ok = false;
    } else {
      states[kind][qualified].usedBy.push_back(fromName);
    }
    return qualified;
  };
  for (auto& [name, entry] : apiCatalog_.apis) {
    if (!entry.ok) continue;
    runtime::ApiResourceState& state = states["apis"][name];
    for (const config::ApiRef& ref : entry.element->value.versions)
      resolve(apiCatalog_.apiVersions, ref, entry.provider, "apiVersions", state, name, entry.ok);
  }
  for (auto& [name, entry] : apiCatalog_.apiBundles) {
    if (!entry.ok) continue;
    runtime::ApiResourceState& state = states["apiBundles"][name];
    for (const config::ApiRef& ref : entry.element->value.apis) resolve(apiCatalog_.apis, ref, entry.provider, "apis", state, name, entry.ok);
  }
  for (auto& [name, entry] : apiCatalog_.managedSubscriptions) {
    if (!entry.ok) continue;
    runtime::ApiResourceState& state = states["managedSubscriptions"][name];
    const config::ManagedSubscription& s = entry.element->value;
    for (const config::ApiRef& ref : s.managedApplications)
      resolve(apiCatalog_.managedApplications, ref, entry.provider, "managedApplications", state, name, entry.ok);
    for (const config::ApiRef& ref : s.apis) resolve(apiCatalog_.apis, ref, entry.provider, "apis", state, name, entry.ok);
    for (const config::ApiRef& ref : s.apiBundles)
      resolve(apiCatalog_.apiBundles, ref, entry.provider, "apiBundles", state, name, entry.ok);
    if (s.apiPlan) resolve(apiCatalog_.apiPlans, *s.apiPlan, entry.provider, "apiPlans", state, name, entry.ok);
  }
  for (auto& [name, entry] : apiCatalog_.apiCatalogItems) {
    if (!entry.ok) continue;
    runtime::ApiResourceState& state = states["apiCatalogItems"][name];
    const config::ApiCatalogItem& item = entry.element->value;
    for (const config::ApiRef& ref : item.apis) resolve(apiCatalog_.apis, ref, entry.provider, "apis", state, name, entry.ok);
    for (const config::ApiRef& ref : item.apiBundles)
      resolve(apiCatalog_.apiBundles, ref, entry.provider, "apiBundles", state, name, entry.ok);
    if (item.apiPlan) resolve(apiCatalog_.apiPlans, *item.apiPlan, entry.provider, "apiPlans", state, name, entry.ok);
  }
  std::map<std::string, std::string> urls;  // trusted URL → the portal that has it
  for (auto& [name, entry] : apiCatalog_.apiPortals) {
    if (!entry.ok) continue;
    runtime::ApiResourceState& state = states["apiPortals"][name];
    resolve(apiCatalog_.apiPortalAuths, *entry.element->value.auth, entry.provider, "apiPortalAuths", state, name,
            entry.ok);
    for (const std::string& url : entry.element->value.trustedUrls) {
      auto [it, added] = urls.emplace(url, name);
      if (added || it->second == name) continue;
      state.addError(locationPrefix(entry.element->location) + "trustedUrls: " + url + " is already portal " +
                     it->second + "'s; a request must tell which portal it is for");
      entry.ok = false;
    }
  }
  for (auto& [name, entry] : apiCatalog_.contentItems) {
    if (!entry.ok) continue;
    runtime::ApiResourceState& state = states["contentItems"][name];
    const config::ContentParent& parent = entry.element->value.parentRef;
    config::ApiRef ref{parent.name, entry.element->location};
    if (parent.kind == "APIPortal") resolve(apiCatalog_.apiPortals, ref, entry.provider, "apiPortals", state, name, entry.ok);
    else if (parent.kind == "API") resolve(apiCatalog_.apis, ref, entry.provider, "apis", state, name, entry.ok);
    else resolve(apiCatalog_.apiBundles, ref, entry.provider, "apiBundles", state, name, entry.ok);
  }
  // openApiSpec.path: the service of a router publishing the API (or version) serves the document.
  for (const auto& [provider, config] : in_.providers)
    for (const auto& [routerName, router] : config->http.routers) {
      if (!router.ok()) continue;
      for (const std::string& ref : router.value.middlewares) {
        std::string middleware = qualify(ref, provider);
        size_t at = middleware.rfind('@');
        auto owner = in_.providers.find(middleware.substr(at + 1));
        if (owner == in_.providers.end()) continue;
        auto m = owner->second->http.middlewares.find(middleware.substr(0, at));
        if (m == owner->second->http.middlewares.end() || !iequals(m->second.value.type, "api")) continue;
        const config::Node* api = m->second.value.options.find("name");
        const config::Node* version = m->second.value.options.find("version");
        if (!api || !api->isScalar()) continue;
        std::string published = qualify(version && version->isScalar() ? version->text() : api->text(), owner->first);
        std::string service = qualify(router.value.service, provider);
        size_t sat = service.rfind('@');
        auto serviceOwner = in_.providers.find(service.substr(sat + 1));
        if (serviceOwner == in_.providers.end()) continue;
        auto s = serviceOwner->second->http.services.find(service.substr(0, sat));
        if (s == serviceOwner->second->http.services.end() || !s->second.value.loadBalancer ||
            s->second.value.loadBalancer->servers.empty())
          continue;
        apiCatalog_.serviceUrls.emplace(published, s->second.value.loadBalancer->servers.front().url);
      }
    }
  // An API needs its provider's default APIAuth to know who calls.
  for (auto& [name, entry] : apiCatalog_.apis) {
    if (!entry.ok || apiCatalog_.defaultAuth.count(entry.provider)) continue;
    states["apis"][name].addError(locationPrefix(entry.element->location) + "provider " + entry.provider +
                                  " has no default APIAuth (an apiAuths entry with isDefault: true) to identify "
                                  "the API's callers");
    entry.ok = false;
  }
  for (auto it = states.begin(); it != states.end();) it = it->second.empty() ? states.erase(it) : std::next(it);
}

void SnapshotBuild::buildApiPortal() {
  if (apiCatalog_.apiPortals.empty()) return;
  const std::string name = "apiportal@internal";
  runtime::ServiceState& state = runtime_.services[name];
  state.provider = "internal";
  state.type = "internal";
  const exchange::MiddlewareCreator* creator = exchange::MiddlewareRegistry::instance().find("apiPortal");
  if (!creator) {
    state.addError("the developer portal is not built into this binary");
    return;
  }
  exchange::MiddlewareBuildContext context(name, "internal");
  context.setDefaultTransport(transports_["default@internal"]);
  context.setWorkers(in_.workers);
  context.setApiCatalog(&apiCatalog_);
  exchange::MiddlewareFactoryPtr factory = (*creator)(config::Node::map(), context);
  // The portal reports problems of its resources on them (a portal without a usable sign-in is
  // left out); what is left here concerns the service as a whole.
  for (const auto& error : context.errors()) state.addError(error.toString());
  for (const auto& warning : context.warnings()) state.addError(warning.toString(), false);
  if (!factory || !context.errors().empty()) return;
  exchange::WrapContext wrap{name, name, in_.workers};
  services_[name] = factory->wrap(services_["noop@internal"], wrap);
}

}  // namespace causeway::control
