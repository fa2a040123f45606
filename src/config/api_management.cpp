#include "config/api_management.h"

#include "core/strings.h"

namespace causeway::config {

std::string qualify(std::string_view name, std::string_view provider) {
  if (name.find('@') != std::string_view::npos) return std::string(name);
  std::string out(name);
  out += '@';
  out += provider;
  return out;
}

std::set<std::string> ApiCatalog::apisOf(const std::vector<ApiRef>& apis, const std::vector<ApiRef>& bundles,
                                         const std::string& provider) const {
  std::set<std::string> out;
  for (const ApiRef& ref : apis) out.insert(qualify(ref.name, provider));
  for (const ApiRef& ref : bundles) {
    auto bundle = apiBundles.find(qualify(ref.name, provider));
    if (bundle == apiBundles.end() || !bundle->second.ok) continue;
    for (const ApiRef& member : bundle->second.element->value.apis) out.insert(qualify(member.name, bundle->second.provider));
  }
  return out;
}

void ApiRef::decodeNode(const Node& node, DecodeContext& context) {
  location = node.location();
  if (node.isScalar()) {  // a bare name is accepted too: `apiPlan: gold`
    decode(node, name, context);
  } else if (node.isMap()) {
    detail::FieldDecoder decoder(node, context);
    decoder("name", name);
    static constexpr std::string_view kNames[] = {"name"};
    decoder.reportUnknownKeys(kNames);
    if (const Node* n = node.find("name")) location = n->location();
  } else {
    context.error(node.location(), "expected a reference {name: …}; got " + std::string(node.kindName()));
    return;
  }
  if (name.empty()) context.error(node.location(), "a reference needs a name");
}

void ApiVersionResource::validate(DecodeContext& context) const {
  // 1, 1.2 or 1.2.3, with an optional leading v and a -pre-release of [0-9A-Za-z.-].
  std::string_view r = release;
  if (r.starts_with('v')) r.remove_prefix(1);
  std::string_view pre;
  if (size_t dash = r.find('-'); dash != std::string_view::npos) {
    pre = r.substr(dash + 1);
    r = r.substr(0, dash);
  }
  int parts = 0;
  bool ok = !r.empty();
  for (size_t start = 0; ok && start <= r.size();) {
    size_t dot = r.find('.', start);
    std::string_view part = r.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    ok = !part.empty() && part.find_first_not_of("0123456789") == std::string_view::npos && ++parts <= 3;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (release.find('-') != std::string::npos)
    ok = ok && !pre.empty() &&
         pre.find_first_not_of("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.-") == std::string_view::npos;
  if (!ok) context.error("release: expected a semantic version such as 1.2.0 or v2 (got \"" + release + "\")");
}

void ApiAuth::validate(DecodeContext& context) const {
  int kinds = apiKey.has_value() + jwt.has_value() + ldap.has_value();
  if (kinds != 1) context.error(kinds == 0 ? "expected one of: apiKey, jwt, ldap" : "expected exactly one of: apiKey, jwt, ldap");
  if (jwt) {
    const Node* claim = jwt->isMap() ? jwt->find("appIdClaim") : nullptr;
    if (!claim || !claim->isScalar() || claim->text().empty())
      context.error(jwt->location(), "jwt.appIdClaim: required (the claim that holds the application's appId)");
  }
}

namespace {

void validateLimit(const std::optional<ApiPlanLimit>& limit, std::string_view what, std::chrono::seconds longest,
                   DecodeContext& context) {
  if (!limit) return;
  if (limit->limit <= 0) context.error(std::string(what) + ".limit: must be greater than 0");
  if (limit->period < std::chrono::seconds(1) || limit->period > longest)
    context.error(std::string(what) + ".period: must be between 1s and " + std::to_string(longest.count() / 3600) + "h");
}

}  // namespace

void ApiPlan::validate(DecodeContext& context) const {
  validateLimit(rateLimit, "rateLimit", std::chrono::hours(1), context);
  validateLimit(quota, "quota", std::chrono::hours(9999), context);
}

void ManagedApiKey::validate(DecodeContext& context) const {
  if (!secretName.empty()) {
    context.error("secretName needs the Kubernetes provider, which does not carry API management yet: give the key "
                  "as value (env:NAME or file:PATH) or sha256");
    return;
  }
  int sources = !value.empty() + !sha256.empty();
  if (sources != 1) {
    context.error(sources == 0 ? "an API key needs one of: value, sha256" : "an API key has exactly one of: value, sha256");
    return;
  }
  if (!sha256.empty()) {
    bool hex = sha256.size() == 64;
    for (char c : sha256) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
    if (!hex) context.error("sha256: expected the key's SHA-256 as 64 hexadecimal digits");
  }
}

void ManagedSubscription::validate(DecodeContext& context) const {
  if (managedApplications.empty()) context.error("managedApplications: a subscription names at least one application");
  if (apis.empty() && apiBundles.empty()) context.error("a subscription names at least one of: apis, apiBundles");
  if (!apiPlan) context.error("apiPlan: required (the plan whose limits apply)");
  if (operationFilter && operationFilter->include.empty())
    context.error("operationFilter.include: names no operation set, so the subscription would cover nothing");
}

void ApiCatalogItem::validate(DecodeContext& context) const {
  if (apis.empty() && apiBundles.empty()) context.error("a catalog item names at least one of: apis, apiBundles");
  if (!everyone && groups.empty())
    context.error("a catalog item is shown to someone: set everyone: true or list groups");
  if (everyone && !groups.empty()) context.error("groups and everyone are mutually exclusive");
  if (operationFilter && operationFilter->include.empty())
    context.error("operationFilter.include: names no operation set, so subscriptions would cover nothing");
}

void ApiPortal::validate(DecodeContext& context) const {
  if (trustedUrls.empty())
    context.error("trustedUrls: required (the portal's addresses; the first receives the OIDC redirect)");
  for (const std::string& url : trustedUrls) {
    std::string_view u = url;
    bool ok = u.starts_with("http://") || u.starts_with("https://");
    std::string_view rest = u.substr(u.find("://") == std::string_view::npos ? 0 : u.find("://") + 3);
    ok = ok && !rest.empty() && rest[0] != '/' && u.find_first_of("?# ") == std::string_view::npos;
    if (!ok) context.error("trustedUrls: expected http(s)://host[:port][/path] (got \"" + url + "\")");
  }
  if (!auth) context.error("auth: required (the APIPortalAuth the portal's users sign in with)");
}

void ApiPortalAuth::validate(DecodeContext& context) const {
  if (!oidc && !ldap) context.error("expected one of: oidc, ldap");
  if (oidc && ldap) context.error("expected exactly one of: oidc, ldap");
  if (!oidc) return;
  if (!oidc->secretName.empty())
    context.error("oidc.secretName needs the Kubernetes provider: give clientId and clientSecret (env:NAME or "
                  "file:PATH)");
  if (oidc->issuerUrl.empty()) context.error("oidc.issuerUrl: required");
  if (oidc->clientId.empty() || oidc->clientSecret.empty())
    context.error("oidc.clientId and oidc.clientSecret: required (the portal's client at the provider)");
  if (oidc->claims.groups.empty()) context.error("oidc.claims.groups: required (the claim holding the user's groups)");
  if (oidc->claims.userId.empty()) context.error("oidc.claims.userId: must name a claim");
}

void ContentItem::validate(DecodeContext& context) const {
  if (title.empty()) context.error("title: required");
  if (order < 0) context.error("order: must be 0 or more");
  if (parentRef.kind.empty() || parentRef.name.empty())
    context.error("parentRef: required ({kind: APIPortal, API or APIBundle, name: …})");
  if (content.empty() == !link.has_value()) context.error("exactly one of content or link must be specified");
  if (link && !link->href.starts_with("http://") && !link->href.starts_with("https://"))
    context.error("link.href: must be a valid URL (got \"" + link->href + "\")");
}

}  // namespace causeway::config
