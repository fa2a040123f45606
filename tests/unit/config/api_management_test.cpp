// The API management resources as a provider's dynamic configuration carries them
// (config/api_management.h): Hub's field names, references written either way, and the checks
// each resource makes of itself. References between resources are checked by the snapshot
// build (tests/e2e/test_api_management.py).
#include <gtest/gtest.h>

#include "config/dynamic_config.h"
#include "config/parse.h"

namespace causeway::config {
namespace {

struct Loaded {
  DynamicConfig config;
  std::vector<ConfigError> errors;
  std::string text() const {
    std::string out;
    for (const ConfigError& e : errors) out += e.toString() + "\n";
    return out;
  }
};

Loaded load(std::string_view yaml) {
  ParseResult parsed = parseYaml(yaml, "dyn.yml");
  Loaded loaded;
  loaded.errors = parsed.errors;
  loaded.config = decodeDynamic(parsed.root, loaded.errors);
  return loaded;
}

TEST(ApiManagement, HubShapesDecode) {
  Loaded l = load(R"yaml(apiManagement:
  apis:
    weather: {title: Weather, versions: [{name: weather-v1}]}
  apiVersions:
    weather-v1: {release: v1.2.3-beta.1}
  apiAuths:
    keys: {isDefault: true, apiKey: {keySource: {header: X-Api-Key}}}
  apiPlans:
    gold: {rateLimit: {limit: 10, period: 1s}, quota: {limit: 1000, period: 720h, bucket: application}}
  managedApplications:
    shop: {appId: shop-app, apiKeys: [{title: prod, value: "env:SHOP_KEY"}, {sha256: 5D41402ABC4B2A76B9719D911017C592aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}]}
  managedSubscriptions:
    shop-gold: {managedApplications: [shop], apis: [{name: weather}], apiPlan: gold, weight: 3,
                operationFilter: {include: [reads]}}
)yaml");
  ASSERT_EQ(l.text(), "");
  const ApiManagementConfig& am = l.config.apiManagement;
  EXPECT_EQ(am.apis.at("weather").value.versions.at(0).name, "weather-v1");
  EXPECT_EQ(am.apiAuths.at("keys").value.apiKey->keySource.header, "X-Api-Key");
  EXPECT_FALSE(am.apiAuths.at("keys").value.apiKey->keySource.headerAuthScheme.has_value());
  EXPECT_EQ(am.apiPlans.at("gold").value.quota->bucket, "application");
  EXPECT_EQ(am.apiPlans.at("gold").value.rateLimit->bucket, "subscription");  // Hub's default
  const ManagedSubscription& s = am.managedSubscriptions.at("shop-gold").value;
  EXPECT_EQ(s.managedApplications.at(0).name, "shop");  // a bare name is a reference too
  EXPECT_EQ(s.apiPlan->name, "gold");
  EXPECT_EQ(s.apiPlan->location.line, 13);  // where the reference is written
  EXPECT_EQ(s.operationFilter->include, std::vector<std::string>{"reads"});
}

TEST(ApiManagement, EachResourceChecksItself) {
  Loaded l = load(R"yaml(apiManagement:
  apiVersions:
    bad: {release: one}
  apiAuths:
    both: {apiKey: {}, jwt: {appIdClaim: app}}
    jwt: {jwt: {signingSecret: x}}
  apiPlans:
    zero: {rateLimit: {limit: 0, period: 1s}}
    long: {rateLimit: {limit: 1, period: 2h}, quota: {limit: 1, period: 10000h, bucket: team}}
  managedApplications:
    two: {apiKeys: [{value: a, sha256: aa}]}
    none: {apiKeys: [{title: empty}]}
    k8s: {apiKeys: [{secretName: s}]}
  managedSubscriptions:
    empty: {}
    claims: {managedApplications: [a], apis: [b], apiPlan: c, claims: "Equals(`sub`, `x`)"}
)yaml");
  std::string t = l.text();
  for (std::string_view expected :
       {"apiVersions.bad: release: expected a semantic version",
        "apiAuths.both: expected exactly one of: apiKey, jwt, ldap",
        "jwt.appIdClaim: required",
        "apiPlans.zero: rateLimit.limit: must be greater than 0",
        "apiPlans.long: rateLimit.period: must be between 1s and 1h",
        "quota.period: must be between 1s and 9999h",
        "invalid value 'team'; expected one of: subscription, application-api, application",
        "an API key has exactly one of: value, sha256",
        "an API key needs one of: value, sha256",
        "secretName needs the Kubernetes provider",
        "managedApplications: a subscription names at least one application",
        "a subscription names at least one of: apis, apiBundles",
        "apiPlan: required"})
    EXPECT_NE(t.find(expected), std::string::npos) << expected << "\nin:\n" << t;
  // Errors stay on their element: the others decode.
  EXPECT_FALSE(l.config.apiManagement.apiPlans.at("zero").ok());
  EXPECT_TRUE(l.config.apiManagement.managedSubscriptions.at("claims").ok());  // compiled by the api middleware
}

TEST(ApiManagement, PortalResourcesDecode) {
  Loaded l = load(R"yaml(apiManagement:
  apiPortals:
    dev: {title: Dev, trustedUrls: [https://dev.example.com/portal], ui: {logoUrl: /logo.svg}, auth: {name: sso}}
  apiPortalAuths:
    sso: {oidc: {issuerUrl: https://sso.example.com, clientId: portal, clientSecret: env:S,
                 claims: {groups: roles, company: org}}}
  apiCatalogItems:
    all: {everyone: true, apis: [weather], apiBundles: [{name: b}], apiPlan: bronze, operationFilter: {include: [reads]}}
  contentItems:
    start: {title: Start, order: 2, parentRef: {kind: APIPortal, name: dev}, content: "# Hi"}
    status: {title: Status, parentRef: {kind: API, name: weather}, link: {href: "https://status.example.com"}}
)yaml");
  EXPECT_TRUE(l.errors.empty()) << l.text();
  const ApiManagementConfig& am = l.config.apiManagement;
  EXPECT_EQ(am.apiPortals.at("dev").value.auth->name, "sso");
  EXPECT_EQ(am.apiPortals.at("dev").value.ui.logoUrl, "/logo.svg");
  const PortalOidc& oidc = *am.apiPortalAuths.at("sso").value.oidc;
  EXPECT_EQ(oidc.claims.groups, "roles");
  EXPECT_EQ(oidc.claims.userId, "sub");  // Hub's default
  EXPECT_EQ(oidc.scopes, (std::vector<std::string>{"openid", "profile", "email"}));
  EXPECT_EQ(am.apiCatalogItems.at("all").value.apiBundles.at(0).name, "b");
  EXPECT_EQ(am.apiCatalogItems.at("all").value.apiPlan->name, "bronze");
  EXPECT_EQ(am.contentItems.at("start").value.parentRef.kind, "APIPortal");
  EXPECT_EQ(am.contentItems.at("start").value.order, 2);
  EXPECT_EQ(am.contentItems.at("status").value.link->href, "https://status.example.com");
  EXPECT_FALSE(am.empty());
}

TEST(ApiManagement, PortalResourcesCheckThemselves) {
  Loaded l = load(R"yaml(apiManagement:
  apiPortals:
    nourl: {auth: sso}
    badurl: {trustedUrls: [ftp://x, "https:///p"], auth: sso}
    noauth: {trustedUrls: [https://x]}
  apiPortalAuths:
    none: {}
    k8s: {oidc: {issuerUrl: https://i, secretName: s, claims: {groups: ""}}}
    ldap: {ldap: {url: ldap://x}}
  apiCatalogItems:
    nobody: {apis: [a]}
    nothing: {everyone: true}
    both: {everyone: true, groups: [a], apis: [a]}
    emptyfilter: {everyone: true, apis: [a], operationFilter: {include: []}}
  contentItems:
    both: {title: T, parentRef: {kind: API, name: a}, content: x, link: {href: https://x}}
    neither: {title: T, parentRef: {kind: API, name: a}}
    badlink: {title: T, parentRef: {kind: API, name: a}, link: {href: "javascript:alert(1)"}}
    orphan: {title: T, content: x}
    badkind: {title: T, parentRef: {kind: Router, name: a}, content: x}
)yaml");
  std::string t = l.text();
  for (std::string_view expected :
       {"apiPortals.nourl: trustedUrls: required",
        "apiPortals.badurl: trustedUrls: expected http(s)://host[:port][/path] (got \"ftp://x\")",
        "(got \"https:///p\")",
        "apiPortals.noauth: auth: required",
        "apiPortalAuths.none: expected one of: oidc, ldap",
        "oidc.secretName needs the Kubernetes provider",
        "oidc.clientId and oidc.clientSecret: required",
        "oidc.claims.groups: required",
        "APIPortalAuth ldap is not supported yet",
        "apiCatalogItems.nobody: a catalog item is shown to someone",
        "apiCatalogItems.nothing: a catalog item names at least one of: apis, apiBundles",
        "apiCatalogItems.emptyfilter: operationFilter.include: names no operation set",
        "apiCatalogItems.both: groups and everyone are mutually exclusive",
        "contentItems.both: exactly one of content or link must be specified",
        "contentItems.neither: exactly one of content or link must be specified",
        "contentItems.badlink: link.href: must be a valid URL",
        "contentItems.orphan: parentRef: required",
        "invalid value 'Router'; expected one of: APIPortal, API, APIBundle"})
    EXPECT_NE(t.find(expected), std::string::npos) << expected << "\nin:\n" << t;
  EXPECT_FALSE(l.config.apiManagement.apiPortals.at("noauth").ok());
  EXPECT_TRUE(l.config.apiManagement.apiPortalAuths.at("ldap").ok());  // a warning only
}

}  // namespace
}  // namespace causeway::config
