// The API management resources (docs/api-management.md): Traefik Hub's API, APIAuth, APIPlan,
// APIBundle, ManagedApplication and ManagedSubscription custom resources, and the developer
// portal's APICatalogItem, APIPortal, APIPortalAuth and ContentItem, written in a
// provider's dynamic configuration under `apiManagement`, one map per kind, each entry's value
// being the resource's `spec` in Hub's field names. A router publishes an API by carrying an
// `api` middleware that names it (gateway/api/api_management.cpp enforces the plans).
//
//   apiManagement:
//     apis:                 {weather: {title: Weather API}}
//     apiAuths:             {keys: {isDefault: true, apiKey: {}}}
//     apiPlans:             {gold: {rateLimit: {limit: 10, period: 1s}, quota: {limit: 1000, period: 24h}}}
//     managedApplications:  {billing: {appId: billing, owner: alice, apiKeys: [{value: env:BILLING_KEY}]}}
//     managedSubscriptions: {billing-gold: {managedApplications: [{name: billing}], apis: [{name: weather}],
//                                           apiPlan: {name: gold}}}
//
// References between resources (`name`, or `name@provider` across providers) are checked by
// the snapshot build (control/build_api_management.cpp), which reports a missing one at the
// reference's file and line.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/decode.h"
#include "config/duration.h"
#include "config/node.h"

namespace causeway::config {

// "name" in provider "file" → "name@file"; "name@other" stays as is (every element's full name).
std::string qualify(std::string_view name, std::string_view provider);

// The resource maps under `apiManagement`, by their keys (the API, `causeway check` and the
// build list them in this order).
inline constexpr std::string_view kApiManagementKinds[] = {
    "apis",        "apiVersions",     "apiAuths",   "apiPlans",       "apiBundles",  "managedApplications",
    "managedSubscriptions", "apiCatalogItems", "apiPortals", "apiPortalAuths", "contentItems"};

// `- name: x` in Hub's lists of references.
struct ApiRef {
  std::string name;
  Location location;
  void decodeNode(const Node& node, DecodeContext& context);
  static void describe(auto& self, auto& v) { v("name", self.name); }  // for encoders
};

// An API's (or a version's) CORS policy, in Hub's names; the api middleware answers preflight
// requests and decorates responses as the headers middleware's accessControl* options do.
struct ApiCors {
  std::vector<std::string> allowOriginsList;
  std::vector<std::string> allowOriginListRegex;
  std::vector<std::string> allowMethodsList;
  std::vector<std::string> allowHeadersList;
  std::vector<std::string> exposeHeadersList;
  std::optional<int64_t> maxAge;
  bool addVaryHeader = false;
  bool allowCredentials = false;
  static void describe(auto& self, auto& v) {
    v("allowOriginsList", self.allowOriginsList);
    v("allowOriginListRegex", self.allowOriginListRegex);
    v("allowMethodsList", self.allowMethodsList);
    v("allowHeadersList", self.allowHeadersList);
    v("exposeHeadersList", self.exposeHeadersList);
    v("maxAge", self.maxAge);
    v("addVaryHeader", self.addVaryHeader);
    v("allowCredentials", self.allowCredentials);
  }
};

struct ApiResource {
  std::string title;
  std::string description;
  // Hub's openApiSpec (url, override, refreshInterval, the validation switches, operationSets),
  // plus causeway's `file`; decoded by the api middleware (gateway/api/api_management.cpp).
  std::optional<Node> openApiSpec;
  std::vector<ApiRef> versions;  // its APIVersions, each published by an api middleware naming it
  std::optional<ApiCors> cors;

  static void describe(auto& self, auto& v) {
    v("title", self.title);
    v("description", self.description);
    v("openApiSpec", self.openApiSpec);  // kept raw: the api middleware builds an openApiSpec middleware from it
    v("versions", self.versions);
    v("cors", self.cors);
  }
};

// One release of an API (Hub's APIVersion): published by an api middleware with `version`, it
// has its own document (and so its own operation sets and contract); subscriptions to the API
// cover all its versions.
struct ApiVersionResource {
  std::string release;  // semantic version: 1, 1.2, 1.2.3, with an optional v and -pre-release
  std::string title;
  std::string description;
  std::optional<Node> openApiSpec;
  std::optional<ApiCors> cors;  // instead of the API's, on the routers publishing this version

  static void describe(auto& self, auto& v) {
    v("release", self.release);
    v("title", self.title);
    v("description", self.description);
    v("openApiSpec", self.openApiSpec);
    v("cors", self.cors);
  }
  void validate(DecodeContext& context) const;
};

// Where an API key is read: Hub's default is the Authorization header's Bearer credential, then
// the `api_key` query parameter.
struct ApiKeySource {
  std::string header = "Authorization";
  std::optional<std::string> headerAuthScheme;  // unset: Bearer for the Authorization header, none for another
  std::string query = "api_key";
  std::string cookie;

  static void describe(auto& self, auto& v) {
    v("header", self.header);
    v("headerAuthScheme", self.headerAuthScheme);
    v("query", self.query);
    v("cookie", self.cookie);
  }
};

struct ApiKeyAuth {
  ApiKeySource keySource;
  static void describe(auto& self, auto& v) { v("keySource", self.keySource); }
};

struct ApiAuth {
  bool isDefault = false;
  std::optional<ApiKeyAuth> apiKey;
  std::optional<Node> jwt;  // kept raw: decoded by the api middleware, which builds a jwt middleware from it
  std::optional<Node> ldap;

  static void describe(auto& self, auto& v) {
    v("isDefault", self.isDefault);
    v("apiKey", self.apiKey);
    v("jwt", self.jwt);  // the jwt middleware's options plus appIdClaim (gateway/api/api_management.cpp)
    v("ldap", self.ldap, NotYet{"APIAuth ldap is not supported yet"});
  }
  void validate(DecodeContext& context) const;
};

// What a plan's limit counts on: one counter per subscription (Hub's default), per application
// and API, or per application across its APIs.
struct ApiPlanLimit {
  int64_t limit = 0;
  Duration period = std::chrono::seconds(1);
  std::string bucket = "subscription";

  static void describe(auto& self, auto& v) {
    v("limit", self.limit);
    v("period", self.period);
    v("bucket", self.bucket, OneOf{"subscription", "application-api", "application"});
  }
};

struct ApiPlan {
  std::string title;
  std::string description;
  std::optional<ApiPlanLimit> rateLimit;  // a token bucket: `limit` requests per `period`, bursts up to `limit`
  std::optional<ApiPlanLimit> quota;      // a sliding window of `period`: at most `limit` requests in it

  static void describe(auto& self, auto& v) {
    v("title", self.title);
    v("description", self.description);
    v("rateLimit", self.rateLimit);
    v("quota", self.quota);
  }
  void validate(DecodeContext& context) const;
};

struct ApiBundle {
  std::string title;
  std::vector<ApiRef> apis;
  std::optional<Node> apiSelector;

  static void describe(auto& self, auto& v) {
    v("title", self.title);
    v("apis", self.apis);
    v("apiSelector", self.apiSelector, NotYet{"apiSelector is not supported yet: list the APIs by name"});
  }
};

// One key of an application: the key itself (`value`, or an env:NAME / file:PATH reference to
// it) or, so that a file holds no key, its SHA-256 in hex (`sha256`, causeway's).
struct ManagedApiKey {
  std::string title;
  std::string value;
  std::string sha256;
  std::string secretName;
  bool suspended = false;

  static void describe(auto& self, auto& v) {
    v("title", self.title);
    v("value", self.value);
    v("sha256", self.sha256);
    v("secretName", self.secretName);  // an error for now (validate): only Kubernetes has secrets
    v("suspended", self.suspended);
  }
  void validate(DecodeContext& context) const;
};

struct ManagedApplication {
  std::string appId;  // empty: the resource's name
  std::string owner;
  std::string notes;
  bool suspended = false;  // causeway's: every key of the application refused at once
  std::vector<ManagedApiKey> apiKeys;

  // Its appId: its own, else the resource's name (`qualified` without its provider).
  std::string appIdOr(std::string_view qualified) const {
    return appId.empty() ? std::string(qualified.substr(0, qualified.find('@'))) : appId;
  }

  static void describe(auto& self, auto& v) {
    v("appId", self.appId);
    v("owner", self.owner);
    v("notes", self.notes);
    v("suspended", self.suspended);
    v("apiKeys", self.apiKeys);
  }
};

// Which operations of its APIs a subscription covers: the API's operationSets named here.
struct ApiOperationFilter {
  std::vector<std::string> include;
  static void describe(auto& self, auto& v) { v("include", self.include); }
};

struct ManagedSubscription {
  std::vector<ApiRef> managedApplications;
  std::vector<ApiRef> apis;
  std::vector<ApiRef> apiBundles;
  std::optional<ApiRef> apiPlan;
  int64_t weight = 0;  // among an application's subscriptions to an API, the highest weight applies
  std::optional<Node> managedApplicationSelector;
  std::optional<Node> apiSelector;
  std::optional<ApiOperationFilter> operationFilter;
  std::string claims;

  static void describe(auto& self, auto& v) {
    v("managedApplications", self.managedApplications);
    v("apis", self.apis);
    v("apiBundles", self.apiBundles);
    v("apiPlan", self.apiPlan);
    v("weight", self.weight);
    v("managedApplicationSelector", self.managedApplicationSelector,
      NotYet{"managedApplicationSelector is not supported yet: list the applications by name"});
    v("apiSelector", self.apiSelector, NotYet{"apiSelector is not supported yet: list the APIs by name"});
    v("operationFilter", self.operationFilter);
    v("claims", self.claims);  // compiled by the api middleware (a JWT's claims must satisfy it)
  }
  void validate(DecodeContext& context) const;
};

// What a developer portal shows to whom (Hub's APICatalogItem): the APIs listed directly or
// through bundles, to everyone or to members of `groups` (the portal user's groups claim), with
// the plan portal users subscribe under and the operation sets such a subscription covers.
struct ApiCatalogItem {
  std::vector<std::string> groups;
  bool everyone = false;
  std::vector<ApiRef> apis;
  std::vector<ApiRef> apiBundles;
  std::optional<Node> apiSelector;
  std::optional<ApiOperationFilter> operationFilter;
  std::optional<ApiRef> apiPlan;  // unset: the APIs are shown, nobody subscribes through this item

  static void describe(auto& self, auto& v) {
    v("groups", self.groups);
    v("everyone", self.everyone);
    v("apis", self.apis);
    v("apiBundles", self.apiBundles);
    v("apiSelector", self.apiSelector, NotYet{"apiSelector is not supported yet: list the APIs by name"});
    v("operationFilter", self.operationFilter);
    v("apiPlan", self.apiPlan);
  }
  void validate(DecodeContext& context) const;
};

struct ApiPortalUi {
  std::string logoUrl;
  static void describe(auto& self, auto& v) { v("logoUrl", self.logoUrl); }
};

// A developer portal (Hub's APIPortal), served by the apiportal@internal service at the
// addresses of `trustedUrls` (the first is its own: the OIDC redirect is <it>/auth/callback).
struct ApiPortal {
  std::string title;
  std::string description;
  std::vector<std::string> trustedUrls;
  ApiPortalUi ui;
  std::optional<ApiRef> auth;  // the APIPortalAuth users sign in with

  static void describe(auto& self, auto& v) {
    v("title", self.title);
    v("description", self.description);
    v("trustedUrls", self.trustedUrls);
    v("ui", self.ui);
    v("auth", self.auth);
  }
  void validate(DecodeContext& context) const;
};

// Which ID-token claims say who a portal user is.
struct PortalClaims {
  std::string groups = "groups";
  std::string userId = "sub";
  std::string firstname = "given_name";
  std::string lastname = "family_name";
  std::string email = "email";
  std::string company;
  std::string organizationId;
  std::string organizationName;
  static void describe(auto& self, auto& v) {
    v("groups", self.groups);
    v("userId", self.userId);
    v("firstname", self.firstname);
    v("lastname", self.lastname);
    v("email", self.email);
    v("company", self.company);
    v("organizationId", self.organizationId);
    v("organizationName", self.organizationName);
  }
};

struct PortalOidc {
  std::string issuerUrl;
  std::string clientId;      // causeway's, where Hub reads secretName's Secret
  std::string clientSecret;  // env:NAME or file:PATH, or the secret itself
  std::string secretName;
  std::vector<std::string> scopes{"openid", "profile", "email"};
  PortalClaims claims;
  // causeway's: the key that seals portal sessions (env:NAME or file:PATH); unset, one derived
  // from clientSecret, so that every replica with the same client opens the others' sessions.
  std::string sessionSecret;
  std::optional<Node> syncedAttributes;
  std::optional<Node> clientConfig;  // the oidc middleware's clientConfig, for the calls to the provider

  static void describe(auto& self, auto& v) {
    v("issuerUrl", self.issuerUrl);
    v("clientId", self.clientId);
    v("clientSecret", self.clientSecret);
    v("secretName", self.secretName);
    v("scopes", self.scopes);
    v("claims", self.claims);
    v("sessionSecret", self.sessionSecret);
    v("syncedAttributes", self.syncedAttributes,
      NotYet{"syncedAttributes is not supported yet: the portal reads the claims at each sign-in"});
    v("clientConfig", self.clientConfig);
  }
};

// How portal users sign in (Hub's APIPortalAuth).
struct ApiPortalAuth {
  std::optional<PortalOidc> oidc;
  std::optional<Node> ldap;
  static void describe(auto& self, auto& v) {
    v("oidc", self.oidc);
    v("ldap", self.ldap, NotYet{"APIPortalAuth ldap is not supported yet: sign in through oidc"});
  }
  void validate(DecodeContext& context) const;
};

// Where a content item is shown: on a portal's catalog, or with an API or the APIs of a bundle.
struct ContentParent {
  std::string kind;  // APIPortal, API or APIBundle
  std::string name;
  static void describe(auto& self, auto& v) {
    v("kind", self.kind, OneOf{"APIPortal", "API", "APIBundle"});
    v("name", self.name);
  }
};

struct ContentLink {
  std::string href;
  static void describe(auto& self, auto& v) { v("href", self.href); }
};

// A page of documentation (Hub's ContentItem): Markdown `content`, or a `link` elsewhere,
// attached to its `parentRef` and shown in `order`.
struct ContentItem {
  std::string title;
  int64_t order = 0;
  ContentParent parentRef;
  std::optional<ContentLink> link;
  std::string content;
  static void describe(auto& self, auto& v) {
    v("title", self.title);
    v("order", self.order);
    v("parentRef", self.parentRef);
    v("link", self.link);
    v("content", self.content);
  }
  void validate(DecodeContext& context) const;
};

struct ApiManagementConfig {
  std::map<std::string, Element<ApiResource>> apis;
  std::map<std::string, Element<ApiVersionResource>> apiVersions;
  std::map<std::string, Element<ApiAuth>> apiAuths;
  std::map<std::string, Element<ApiPlan>> apiPlans;
  std::map<std::string, Element<ApiBundle>> apiBundles;
  std::map<std::string, Element<ManagedApplication>> managedApplications;
  std::map<std::string, Element<ManagedSubscription>> managedSubscriptions;
  // Where the plans' counters are shared by several instances: a Redis store in the shape of
  // distributedRateLimit's `store.redis` (decoded by the gateway, gateway/api/redis_store.h).
  // The developer portals keep their users' applications and keys there too.
  std::optional<Node> store;
  std::map<std::string, Element<ApiCatalogItem>> apiCatalogItems;
  std::map<std::string, Element<ApiPortal>> apiPortals;
  std::map<std::string, Element<ApiPortalAuth>> apiPortalAuths;
  std::map<std::string, Element<ContentItem>> contentItems;

  static void describe(auto& self, auto& v) {
    v("apis", self.apis);
    v("apiVersions", self.apiVersions);
    v("apiAuths", self.apiAuths);
    v("apiPlans", self.apiPlans);
    v("apiBundles", self.apiBundles);
    v("managedApplications", self.managedApplications);
    v("managedSubscriptions", self.managedSubscriptions);
    v("store", self.store);
    v("apiCatalogItems", self.apiCatalogItems);
    v("apiPortals", self.apiPortals);
    v("apiPortalAuths", self.apiPortalAuths);
    v("contentItems", self.contentItems);
  }
  bool empty() const {
    return apis.empty() && apiVersions.empty() && apiAuths.empty() && apiPlans.empty() && apiBundles.empty() && managedApplications.empty() &&
           managedSubscriptions.empty() && !store && apiCatalogItems.empty() && apiPortals.empty() &&
           apiPortalAuths.empty() && contentItems.empty();
  }
};

// Every provider's resources under their qualified names (`name@provider`), as one snapshot
// build sees them: what an `api` middleware reads to compile its API's plans. `ok` is false for
// a resource with errors of its own or a reference that does not resolve (the build reports
// both); such a resource takes no part. Points into the build's configurations: valid during
// the build only.
template <class T> struct ApiCatalogEntry {
  std::string provider;
  const Element<T>* element = nullptr;
  bool ok = true;
};

struct ApiCatalog {
  std::map<std::string, ApiCatalogEntry<ApiResource>> apis;
  std::map<std::string, ApiCatalogEntry<ApiVersionResource>> apiVersions;
  std::map<std::string, ApiCatalogEntry<ApiAuth>> apiAuths;
  std::map<std::string, ApiCatalogEntry<ApiPlan>> apiPlans;
  std::map<std::string, ApiCatalogEntry<ApiBundle>> apiBundles;
  std::map<std::string, ApiCatalogEntry<ManagedApplication>> managedApplications;
  std::map<std::string, ApiCatalogEntry<ManagedSubscription>> managedSubscriptions;
  std::map<std::string, ApiCatalogEntry<ApiCatalogItem>> apiCatalogItems;
  std::map<std::string, ApiCatalogEntry<ApiPortal>> apiPortals;
  std::map<std::string, ApiCatalogEntry<ApiPortalAuth>> apiPortalAuths;
  std::map<std::string, ApiCatalogEntry<ContentItem>> contentItems;
  // The default APIAuth of each provider (qualified name), when it has one.
  std::map<std::string, std::string> defaultAuth;
  // Where an API's (or an APIVersion's) own service answers, for openApiSpec.path: the URL of
  // the first server of the loadBalancer service of a router that publishes it (its `api`
  // middleware), the first such router by name.
  std::map<std::string, std::string> serviceUrls;
  const Node* store = nullptr;  // the one `store` block, if a provider has one

  // The APIs (qualified) that references of a resource of `provider` name: `apis` directly, and
  // the members of `bundles` (those that exist and are usable).
  std::set<std::string> apisOf(const std::vector<ApiRef>& apis, const std::vector<ApiRef>& bundles,
                               const std::string& provider) const;
};

}  // namespace causeway::config
