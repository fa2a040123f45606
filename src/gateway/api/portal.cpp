// The developer portal (docs/api-management.md, "Developer portal"): apiportal@internal serves
// every APIPortal of the configuration, each at the addresses of its `trustedUrls` (the request's
// host and path pick the portal; the first URL is the portal's own). Under a portal's path B:
//   B assets/…            the portal's page files (web/portal, embedded at build time); public
//   B, B index.html       the portal's page                                  } behind the
//   B auth/callback       the OIDC redirect; B auth/logout ends the session  } portal's oidc
//   B portal-api/…        the JSON API the page uses                         } sign-in
// Sign-in is an oidc middleware (oidc.cpp) built from the portal's APIPortalAuth: code flow with
// PKCE, a sealed session cookie, CSRF on every write (the page repeats the hub-csrf-token
// cookie in Hub-Csrf-Token), logout at the provider. Its forwardHeaders tell the JSON API who
// the user is (X-Portal-User and friends; a client's own copies are removed first).
//
// The JSON API: `me`; `catalog`, the APIs of the catalog items shown to the user (everyone, or
// one of the user's groups) with the plans they offer and the content items; an API's OpenAPI
// document as JSON; the user's applications, their keys (made here: shown once, only the
// SHA-256 kept; revoke, rotate) and their subscriptions to catalog items. What users write goes
// to the PortalStore (portal_store.h); the api middleware accepts those keys. Every write is one
// atomic change with its preconditions, so a form posted twice changes nothing the second time
// (409), and a refused write changes nothing at all.
//
// `GET /api/apimanagement/portal/export` (api@internal, through PortalExport below) writes the
// store as ManagedApplication and ManagedSubscription resources, for GitOps.
#include "gateway/api/portal.h"

#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <algorithm>
#include <ctime>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>

#include "config/api_management.h"
#include "core/bytes.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/body.h"
#include "exchange/exchange.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "gateway/api/api_document.h"
#include "gateway/api/credentials.h"
#include "gateway/api/http_client.h"
#include "gateway/api/openapi.h"
#include "gateway/api/portal_assets.h"
#include "gateway/api/portal_store.h"
#include "http/uri.h"

namespace causeway::gateway::api {
namespace {

namespace json = boost::json;
using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;
using config::qualify;

constexpr int64_t kMaxBody = 16 * 1024;
constexpr size_t kMaxTitle = 100;
constexpr size_t kMaxApplications = 20;  // per user of a portal
constexpr size_t kMaxKeys = 10;          // per application
constexpr std::string_view kUserHeaders[] = {"X-Portal-User",     "X-Portal-Groups",         "X-Portal-Email",
                                             "X-Portal-Firstname", "X-Portal-Lastname",      "X-Portal-Company",
                                             "X-Portal-Org-Id",    "X-Portal-Org-Name"};

struct TrustedUrl {
  std::string authority;  // lower-case host[:port]
  std::string path;       // ends with '/'
};

struct PlanInfo {
  std::string name, title, description;
  std::optional<config::ApiPlanLimit> rateLimit, quota;
};

struct ItemInfo {
  std::vector<std::string> groups;
  bool everyone = false;
  std::set<std::string> apis;  // listed directly or through a bundle
  std::optional<PlanInfo> plan;
  std::vector<std::string> operationSets;
};

// Where an API's (or version's) document comes from: read when the configuration was built, or
// fetched from `url` when first asked for and again after 5 minutes.
struct DocSource {
  std::string json;  // the document as JSON, when read from a file
  std::shared_ptr<const HttpClient> client;
  mutable std::mutex mutex;
  mutable std::string fetched;
  mutable int64_t fetchedAt = 0;
  mutable std::string failure;  // the last fetch's error, kept 30 s: no fetch per page view
  mutable int64_t failedAt = 0;
};

struct ApiInfo {
  std::string title, description;
  struct Version {
    std::string name, release, title;
  };
  std::vector<Version> versions;
  std::map<std::string, std::shared_ptr<DocSource>> docs;  // "" → the API's, else by APIVersion
};

struct ContentInfo {
  std::string title, content, link;
  int64_t order = 0;
  std::string parentKind, parent;  // APIPortal, API or APIBundle; qualified
  std::set<std::string> apis;      // an API's, or a bundle's APIs
};

struct ManagedInfo {
  std::string name, appId, owner;
  std::vector<std::string> keyTitles;
};

struct Site {
  std::string name, title, description, logoUrl;
  std::vector<TrustedUrl> urls;
  config::PortalClaims claims;
  MiddlewareFactoryPtr oidc;
};

struct Compiled {
  std::vector<Site> sites;
  std::map<std::string, ItemInfo> items;
  std::map<std::string, ApiInfo> apis;
  std::map<std::string, ContentInfo> content;
  std::vector<ManagedInfo> managed;
  std::shared_ptr<PortalStore> store;
};

// What apiportal@internal last built, for the export.
std::mutex currentMutex;
std::shared_ptr<const Compiled> current;

void reply(Exchange& ex, int status, const json::value& body) {
  ex.response.status = status;
  ex.response.headers.set("Content-Type", "application/json");
  ex.response.headers.set("Cache-Control", "no-store");
  ex.response.body = ex.arena.make<exchange::MemoryBody>(ex.arena.copy(json::serialize(body) + "\n"));
}

void fail(Exchange& ex, int status, std::string_view why) {
  reply(ex, status, json::object{{"error", why}});
  ex.record.errorDetail = ex.arena.copy(why);
}

// A page file, with the framing and script rules of a page that handles keys on the HTML.
void serveAsset(Exchange& ex, const PortalAsset& asset) {
  exchange::serveEmbeddedFile(ex, asset);
  if (!asset.immutable) {
    ex.response.headers.set("X-Frame-Options", "DENY");
    ex.response.headers.set("Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
                            "connect-src 'self' http: https:; frame-ancestors 'none'");
  }
}

// "a/b//c" → a, b, "", c (empty segments kept: the routes refuse them).
std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) return out;
    start = slash + 1;
  }
}

std::vector<std::string> splitList(std::string_view text) {
  std::vector<std::string> out;
  for (std::string_view part : splitTrimmed(text, ',')) out.emplace_back(part);
  return out;
}

json::value limitJson(const std::optional<config::ApiPlanLimit>& l) {
  if (!l) return nullptr;
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(l->period.value).count();
  std::string period = seconds % 3600 == 0 ? std::to_string(seconds / 3600) + "h"
                       : seconds % 60 == 0 ? std::to_string(seconds / 60) + "m"
                                           : std::to_string(seconds) + "s";
  return json::object{{"limit", l->limit}, {"period", period}, {"bucket", l->bucket}};
}

// The trusted URL of `urls` a request is for: the longest path the request is under among those
// with its host, else (a host none names) among all. Null when the request is under none.
const TrustedUrl* trustedUrlOf(const std::vector<TrustedUrl>& urls, const Exchange& ex, bool byHost) {
  const TrustedUrl* best = nullptr;
  for (const TrustedUrl& u : urls) {
    if (byHost && !iequals(u.authority, ex.request.authority)) continue;
    if (!ex.request.path.starts_with(u.path)) continue;
    if (!best || u.path.size() > best->path.size()) best = &u;
  }
  return best;
}

// A title users chose: printable, and no character that a YAML or terminal reader could take for
// a line break or a hidden format mark (C0 and C1 controls, DEL, U+2028/U+2029, the bidi and
// zero-width marks, U+FEFF). `text` is valid UTF-8 (boost.json checked it).
bool safeTitle(std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) return false;
    if (c == 0xc2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) < 0xa0) return false;  // C1
    if (c == 0xe2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80) {
      unsigned char d = static_cast<unsigned char>(text[i + 2]);
      if ((d >= 0x8b && d <= 0x8f) || (d >= 0xa8 && d <= 0xae)) return false;  // U+200B–200F, U+2028–202E
    }
    if (c == 0xe2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x81 &&
        static_cast<unsigned char>(text[i + 2]) >= 0xa0)
      return false;  // U+2060–206F
    if (c == 0xef && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0xbb &&
        static_cast<unsigned char>(text[i + 2]) == 0xbf)
      return false;  // U+FEFF
  }
  return true;
}

// The signed-in user, as the oidc middleware forwarded the claims.
struct User {
  std::string id, email, name, company, organizationId, organizationName;
  std::vector<std::string> groups;
};

// The JSON API of one portal, behind its sign-in.
class PortalApi final : public Handler {
 public:
  PortalApi(std::shared_ptr<const Compiled> c, size_t site) : c_(std::move(c)), site_(c_->sites[site]) {}

  awaitable<void> handle(Exchange& ex) const override {
    std::string_view rel = ex.request.path.substr(std::min(ex.request.path.size(), base(ex).size()));
    if (rel.empty() || rel == "index.html") {
      if (ex.request.method != "GET" && ex.request.method != "HEAD") co_return fail(ex, 405, "method not allowed");
      const PortalAsset* index = findPortalAsset("index.html");
      if (!index) co_return fail(ex, 500, "the portal's page is not built into this binary");
      co_return serveAsset(ex, *index);
    }
    if (!rel.starts_with("portal-api/")) co_return fail(ex, 404, "not found");
    User user;
    user.id = std::string(ex.request.headers.get("X-Portal-User"));
    if (user.id.empty())
      co_return fail(ex, 403, "the identity provider's token has no " + site_.claims.userId + " claim");
    user.email = std::string(ex.request.headers.get("X-Portal-Email"));
    user.name = std::string(trim(std::string(ex.request.headers.get("X-Portal-Firstname")) + " " +
                                 std::string(ex.request.headers.get("X-Portal-Lastname"))));
    user.company = std::string(ex.request.headers.get("X-Portal-Company"));
    user.organizationId = std::string(ex.request.headers.get("X-Portal-Org-Id"));
    user.organizationName = std::string(ex.request.headers.get("X-Portal-Org-Name"));
    user.groups = splitList(ex.request.headers.get("X-Portal-Groups"));

    std::vector<std::string> parts;
    for (std::string_view part : splitPath(rel.substr(11))) {
      std::string decoded;
      if (!http::pathUnescape(part, decoded)) co_return fail(ex, 400, "bad escape in the path");
      parts.push_back(std::move(decoded));
    }
    const std::string_view method = ex.request.method;
    auto is = [&](std::initializer_list<std::string_view> shape, std::string_view m) {
      if (parts.size() != shape.size() || method != m) return false;
      size_t i = 0;
      for (std::string_view s : shape) {
        if (s != "*" && parts[i] != s) return false;
        if (s == "*" && parts[i].empty()) return false;
        ++i;
      }
      return true;
    };
    if (is({"me"}, "GET")) co_return me(ex, user);
    if (is({"catalog"}, "GET")) co_return catalog(ex, user);
    if (is({"apis", "*", "openapi"}, "GET")) co_return co_await document(ex, user, parts[1]);
    if (is({"applications"}, "GET")) co_return co_await applications(ex, user);
    if (is({"applications"}, "POST")) co_return co_await createApplication(ex, user);
    if (is({"applications", "*"}, "DELETE")) co_return co_await deleteApplication(ex, user, parts[1]);
    if (is({"applications", "*", "keys"}, "POST")) co_return co_await createKey(ex, user, parts[1], {});
    if (is({"applications", "*", "keys", "*"}, "DELETE")) co_return co_await revokeKey(ex, user, parts[1], parts[3]);
    if (is({"applications", "*", "keys", "*", "rotate"}, "POST"))
      co_return co_await createKey(ex, user, parts[1], parts[3]);
    if (is({"applications", "*", "subscriptions"}, "POST")) co_return co_await subscribe(ex, user, parts[1]);
    if (is({"applications", "*", "subscriptions", "*"}, "DELETE"))
      co_return co_await unsubscribe(ex, user, parts[1], parts[3]);
    co_return fail(ex, 404, "no such portal API call");
  }

 private:
  // The path of the trusted URL the request came through (the one PortalRouter chose).
  std::string_view base(const Exchange& ex) const {
    const TrustedUrl* u = trustedUrlOf(site_.urls, ex, true);
    if (!u) u = trustedUrlOf(site_.urls, ex, false);
    return u ? std::string_view(u->path) : std::string_view(site_.urls.front().path);
  }

  bool visible(const ItemInfo& item, const User& user) const {
    if (item.everyone) return true;
    for (const std::string& g : item.groups)
      if (std::find(user.groups.begin(), user.groups.end(), g) != user.groups.end()) return true;
    return false;
  }

  bool apiVisible(const std::string& api, const User& user) const {
    for (const auto& [name, item] : c_->items)
      if (item.apis.count(api) && visible(item, user)) return true;
    return false;
  }

  void me(Exchange& ex, const User& user) const {
    reply(ex, 200,
          json::object{{"user", json::object{{"id", user.id},
                                             {"email", user.email},
                                             {"name", user.name.empty() ? user.id : user.name},
                                             {"company", user.company},
                                             {"organization", json::object{{"id", user.organizationId},
                                                                           {"name", user.organizationName}}},
                                             {"groups", json::value_from(user.groups)}}},
                       {"portal", json::object{{"name", site_.name},
                                               {"title", site_.title},
                                               {"description", site_.description},
                                               {"logoUrl", site_.logoUrl}}},
                       {"csrf", json::object{{"cookie", "hub-csrf-token"}, {"header", "Hub-Csrf-Token"}}}});
  }

  void catalog(Exchange& ex, const User& user) const {
    json::array apis;
    for (const auto& [name, api] : c_->apis) {
      if (!apiVisible(name, user)) continue;
      json::array offers, versions;
      for (const auto& [itemName, item] : c_->items) {
        if (!item.plan || !item.apis.count(name) || !visible(item, user)) continue;
        offers.push_back(json::object{{"catalogItem", itemName},
                                      {"plan", item.plan->name},
                                      {"planTitle", item.plan->title.empty() ? item.plan->name : item.plan->title},
                                      {"planDescription", item.plan->description},
                                      {"rateLimit", limitJson(item.plan->rateLimit)},
                                      {"quota", limitJson(item.plan->quota)},
                                      {"operationSets", json::value_from(item.operationSets)}});
      }
      for (const auto& v : api.versions)
        versions.push_back(json::object{{"name", v.name}, {"release", v.release}, {"title", v.title}});
      apis.push_back(json::object{{"name", name},
                                  {"title", api.title.empty() ? name.substr(0, name.find('@')) : api.title},
                                  {"description", api.description},
                                  {"hasDocument", api.docs.count("") > 0},
                                  {"versions", std::move(versions)},
                                  {"offers", std::move(offers)}});
    }
    // The portal's own pages, and those of the APIs the user sees, in their order.
    std::vector<std::pair<const std::string*, const ContentInfo*>> shown;
    for (const auto& [name, item] : c_->content) {
      bool mine = item.parentKind == "APIPortal" ? item.parent == site_.name : false;
      for (const std::string& api : item.apis) mine = mine || apiVisible(api, user);
      if (mine) shown.emplace_back(&name, &item);
    }
    std::stable_sort(shown.begin(), shown.end(), [](const auto& a, const auto& b) { return a.second->order < b.second->order; });
    json::array content;
    for (const auto& [name, item] : shown) {
      json::array apis;
      for (const std::string& api : item->apis)
        if (apiVisible(api, user)) apis.push_back(json::string(api));
      content.push_back(json::object{{"name", *name},
                                     {"title", item->title},
                                     {"content", item->content},
                                     {"link", item->link},
                                     {"order", item->order},
                                     {"parent", json::object{{"kind", item->parentKind}, {"name", item->parent}}},
                                     {"apis", std::move(apis)}});
    }
    reply(ex, 200, json::object{{"apis", std::move(apis)}, {"content", std::move(content)}});
  }

  awaitable<void> document(Exchange& ex, const User& user, const std::string& name) const {
    auto api = c_->apis.find(name);
    if (api == c_->apis.end() || !apiVisible(name, user)) co_return fail(ex, 404, "no API " + name + " in your catalog");
    std::string version;
    if (ex.request.hasQuery)
      for (std::string_view pair : splitTrimmed(ex.request.query, '&'))
        if (pair.starts_with("version=")) http::queryUnescape(pair.substr(8), version);
    auto doc = api->second.docs.find(version);
    if (doc == api->second.docs.end()) co_return fail(ex, 404, "API " + name + " has no OpenAPI document");
    const DocSource& source = *doc->second;
    std::string text = source.json;
    if (source.client) {
      int64_t now = std::time(nullptr);
      {
        std::lock_guard lock(source.mutex);
        if (now - source.fetchedAt < 300) text = source.fetched;
        else if (now - source.failedAt < 30)
          co_return fail(ex, 502, "the API's OpenAPI document cannot be fetched: " + source.failure);
      }
      if (text.empty()) {
        HttpCall call;
        call.headers.emplace_back("Accept", "application/json, application/yaml, text/yaml, */*");
        HttpAnswer answer = co_await source.client->call(ex.worker, call, 4 << 20);
        std::string error = answer.error;
        std::optional<json::value> parsed;
        if (answer.status == 200) parsed = parseJsonOrYaml(answer.body, error);
        else if (error.empty()) error = "status " + std::to_string(answer.status);
        if (!parsed) {
          {
            std::lock_guard lock(source.mutex);
            source.failure = error;
            source.failedAt = now;
          }
          co_return fail(ex, 502, "the API's OpenAPI document cannot be fetched: " + error);
        }
        text = json::serialize(*parsed);
        std::lock_guard lock(source.mutex);
        source.fetched = text;
        source.fetchedAt = now;
      }
    }
    ex.response.status = 200;
    ex.response.headers.set("Content-Type", "application/json");
    ex.response.headers.set("Cache-Control", "no-store");
    ex.response.body = ex.arena.make<exchange::MemoryBody>(ex.arena.copy(text));
  }

  // The store's state, or an answer saying it cannot be read.
  awaitable<std::shared_ptr<const PortalState>> stateOr503(Exchange& ex) const {
    std::string error;
    std::shared_ptr<const PortalState> state = co_await c_->store->state(ex.worker, error);
    if (!state) fail(ex, 503, "the portal's store cannot be reached");
    co_return state;
  }

  // `app` when the user owns it (managed applications cannot be changed here), else an answer.
  // Applications belong to a user of one portal: the same user id signed in to another portal
  // (another identity provider, maybe) is someone else. An application the configuration also
  // has (an export committed for GitOps) is changed there, not here.
  const PortalApplication* owned(Exchange& ex, const PortalState& state, const User& user, const std::string& app) const {
    for (const ManagedInfo& m : c_->managed)
      if (m.appId == app) {
        fail(ex, m.owner == user.id ? 403 : 404,
             m.owner == user.id ? "application " + app + " is managed in the configuration; change it there"
                                : "you have no application " + app);
        return nullptr;
      }
    auto it = state.apps.find(app);
    if (it == state.apps.end() || !mine(it->second, user)) {
      fail(ex, 404, "you have no application " + app);
      return nullptr;
    }
    return &it->second;
  }

  bool mine(const PortalApplication& app, const User& user) const {
    return app.owner == user.id && app.portal == site_.name;
  }

  // Answers a change that failed; true when it went through.
  bool settled(Exchange& ex, PortalStore::Outcome outcome, std::string_view exists, std::string_view missing,
               const std::string& error) const {
    switch (outcome) {
      case PortalStore::Outcome::Done: return true;
      case PortalStore::Outcome::Exists: fail(ex, 409, exists); return false;
      case PortalStore::Outcome::Missing: fail(ex, 404, missing); return false;
      case PortalStore::Outcome::Unavailable:
        log::warn("api portal: a change could not be written", {{"portal", site_.name}, {"error", error}});
        fail(ex, 503, "the portal's store cannot be reached; nothing was changed");
        return false;
    }
    return false;
  }

  // The request's JSON object with a `field` of 1 to 100 printable characters; nullopt after
  // answering 400.
  awaitable<std::optional<std::string>> stringField(Exchange& ex, std::string_view field) const {
    std::string body;
    if (ex.request.body) {
      exchange::ReadResult read = co_await exchange::readBody(*ex.request.body, body, kMaxBody);
      if (read != exchange::ReadResult::Complete) {
        fail(ex, read == exchange::ReadResult::TooLarge ? 413 : 400, "the request body is too large or broke off");
        co_return std::nullopt;
      }
    }
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    const json::value* f = !ec && v.is_object() ? v.get_object().if_contains(field) : nullptr;
    if (!f || !f->is_string()) {
      fail(ex, 400, "expected a JSON object with a string \"" + std::string(field) + "\"");
      co_return std::nullopt;
    }
    std::string text(trim(std::string_view(f->get_string())));
    if (text.empty() || text.size() > kMaxTitle || !safeTitle(text)) {
      fail(ex, 400, std::string(field) + ": expected 1 to 100 printable characters");
      co_return std::nullopt;
    }
    co_return text;
  }

  json::object applicationJson(const PortalApplication& app, const PortalState& state) const {
    json::array keys, subs;
    std::vector<const PortalKey*> owned;
    for (const auto& [digest, key] : state.keys)
      if (key.appId == app.appId) owned.push_back(&key);
    std::sort(owned.begin(), owned.end(),
              [](const PortalKey* a, const PortalKey* b) { return std::tie(a->createdAt, a->id) < std::tie(b->createdAt, b->id); });
    for (const PortalKey* k : owned)
      keys.push_back(json::object{{"id", k->id}, {"title", k->title}, {"prefix", k->prefix}, {"createdAt", k->createdAt}});
    if (auto it = state.subscriptions.find(app.appId); it != state.subscriptions.end())
      for (const PortalSubscription& s : it->second) {
        auto item = c_->items.find(s.catalogItem);
        json::array apis;
        if (item != c_->items.end())
          for (const std::string& api : item->second.apis) apis.push_back(json::string(api));
        subs.push_back(json::object{{"catalogItem", s.catalogItem},
                                    {"plan", item != c_->items.end() && item->second.plan ? item->second.plan->name : ""},
                                    {"apis", std::move(apis)},
                                    {"createdAt", s.createdAt}});
      }
    return json::object{{"appId", app.appId},      {"title", app.title},  {"managed", false},
                        {"createdAt", app.createdAt}, {"keys", std::move(keys)}, {"subscriptions", std::move(subs)}};
  }

  awaitable<void> applications(Exchange& ex, const User& user) const {
    std::shared_ptr<const PortalState> state = co_await stateOr503(ex);
    if (!state) co_return;
    json::array out;
    std::set<std::string> managed;
    for (const ManagedInfo& m : c_->managed) managed.insert(m.appId);
    for (const auto& [id, app] : state->apps)
      if (mine(app, user) && !managed.count(id)) out.push_back(applicationJson(app, *state));
    for (const ManagedInfo& m : c_->managed) {
      if (m.owner != user.id) continue;
      json::array keys;
      for (const std::string& t : m.keyTitles) keys.push_back(json::object{{"title", t}});
      out.push_back(json::object{{"appId", m.appId},
                                 {"title", m.name},
                                 {"managed", true},
                                 {"keys", std::move(keys)},
                                 {"subscriptions", json::array()}});
    }
    reply(ex, 200, json::object{{"applications", std::move(out)}});
  }

  awaitable<void> createApplication(Exchange& ex, const User& user) const {
    std::optional<std::string> title = co_await stringField(ex, "title");
    if (!title) co_return;
    // The appId follows from the owner and the title: the same form posted twice names the same
    // application, which the store then refuses to create again.
    std::string appId = hexEncode(sha256Bytes(site_.name + '\0' + user.id + '\0' + toLower(*title))).substr(0, 16);
    for (const ManagedInfo& m : c_->managed)
      if (m.appId == appId) co_return fail(ex, 409, "an application of the configuration has this appId");
    std::shared_ptr<const PortalState> state = co_await stateOr503(ex);
    if (!state) co_return;
    size_t count = 0;
    for (const auto& [id, a] : state->apps) count += mine(a, user);
    if (count >= kMaxApplications)
      co_return fail(ex, 409, "you have " + std::to_string(count) + " applications, the most a user may have");
    PortalApplication app{appId, *title, user.id, site_.name, hexEncode(randomBytes(8)), int64_t(std::time(nullptr))};
    PortalChange change;
    change.create(PortalChange::Table::Apps, appId, PortalStore::encode(app));
    std::string error;
    PortalStore::Outcome outcome = co_await c_->store->apply(ex.worker, change, error);
    if (!settled(ex, outcome, "you already have an application named \"" + *title + "\"", "", error)) co_return;
    PortalState empty;
    reply(ex, 201, applicationJson(app, empty));
  }

  awaitable<void> deleteApplication(Exchange& ex, const User& user, const std::string& appId) const {
    std::shared_ptr<const PortalState> state = co_await stateOr503(ex);
    if (!state || !owned(ex, *state, user, appId)) co_return;
    PortalChange change;
    change.mustExist(PortalChange::Table::Apps, appId);
    change.erase(PortalChange::Table::Apps, appId);
    for (const auto& [digest, key] : state->keys)
      if (key.appId == appId) change.erase(PortalChange::Table::Keys, key.sha256);
    if (auto it = state->subscriptions.find(appId); it != state->subscriptions.end())
      for (const PortalSubscription& s : it->second) change.erase(PortalChange::Table::Subs, appId + "|" + s.catalogItem);
    std::string error;
    PortalStore::Outcome outcome = co_await c_->store->apply(ex.worker, change, error);
    if (!settled(ex, outcome, "", "you have no application " + appId, error)) co_return;
    ex.response.status = 204;
  }

  // A new key for `appId`; with `replaces`, the key of that id is revoked in the same change.
  awaitable<void> createKey(Exchange& ex, const User& user, const std::string& appId, std::string replaces) const {
    std::shared_ptr<const PortalState> state = co_await stateOr503(ex);
    if (!state || !owned(ex, *state, user, appId)) co_return;
    std::string title;
    const PortalKey* old = nullptr;
    if (!replaces.empty()) {
      for (const auto& [digest, key] : state->keys)
        if (key.appId == appId && key.id == replaces) old = &key;
      if (!old) co_return fail(ex, 404, "application " + appId + " has no key " + replaces);
      title = old->title;
    } else {
      std::optional<std::string> given = co_await stringField(ex, "title");
      if (!given) co_return;
      title = *given;
    }
    if (!old) {
      size_t keys = 0;
      for (const auto& [digest, k] : state->keys) keys += k.appId == appId;
      if (keys >= kMaxKeys)
        co_return fail(ex, 409, "application " + appId + " has " + std::to_string(keys) +
                                    " keys, the most it may have: revoke one first");
    }
    const PortalApplication& app = state->apps.at(appId);  // owned() found it
    std::string secret = "cw_" + base64UrlEncode(randomBytes(24));
    PortalKey key{hexEncode(randomBytes(6)), appId, title, secret.substr(0, 8), hexEncode(sha256Bytes(secret)),
                  int64_t(std::time(nullptr)), app.generation};
    PortalChange change;
    change.mustExist(PortalChange::Table::Apps, appId);
    if (old) {
      change.mustExist(PortalChange::Table::Keys, old->sha256);
      change.erase(PortalChange::Table::Keys, old->sha256);
    }
    change.create(PortalChange::Table::Keys, key.sha256, PortalStore::encode(key));
    std::string error;
    PortalStore::Outcome outcome = co_await c_->store->apply(ex.worker, change, error);
    if (!settled(ex, outcome, "a key with this value exists; try again",
                 old ? "the key was revoked meanwhile" : "you have no application " + appId, error))
      co_return;
    reply(ex, 201,
          json::object{{"id", key.id},
                       {"title", key.title},
                       {"prefix", key.prefix},
                       {"createdAt", key.createdAt},
                       {"key", secret}});
  }

  awaitable<void> revokeKey(Exchange& ex, const User& user, const std::string& appId, const std::string& id) const {
    std::shared_ptr<const PortalState> state = co_await stateOr503(ex);
    if (!state || !owned(ex, *state, user, appId)) co_return;
    const PortalKey* found = nullptr;
    for (const auto& [digest, key] : state->keys)
      if (key.appId == appId && key.id == id) found = &key;
    if (!found) co_return fail(ex, 404, "application " + appId + " has no key " + id);
    PortalChange change;
    change.mustExist(PortalChange::Table::Keys, found->sha256);
    change.erase(PortalChange::Table::Keys, found->sha256);
    std::string error;
    PortalStore::Outcome outcome = co_await c_->store->apply(ex.worker, change, error);
    if (!settled(ex, outcome, "", "application " + appId + " has no key " + id, error)) co_return;
    ex.response.status = 204;
  }

  awaitable<void> subscribe(Exchange& ex, const User& user, const std::string& appId) const {
    std::shared_ptr<const PortalState> state = co_await stateOr503(ex);
    if (!state || !owned(ex, *state, user, appId)) co_return;
    std::optional<std::string> name = co_await stringField(ex, "catalogItem");
    if (!name) co_return;
    auto item = c_->items.find(*name);
    if (item == c_->items.end() || !visible(item->second, user))
      co_return fail(ex, 404, "no catalog item " + *name + " in your catalog");
    if (!item->second.plan) co_return fail(ex, 400, "catalog item " + *name + " offers no plan to subscribe to");
    PortalSubscription s{appId, *name, int64_t(std::time(nullptr)), state->apps.at(appId).generation};
    PortalChange change;
    change.mustExist(PortalChange::Table::Apps, appId);
    change.create(PortalChange::Table::Subs, appId + "|" + *name, PortalStore::encode(s));
    std::string error;
    PortalStore::Outcome outcome = co_await c_->store->apply(ex.worker, change, error);
    if (!settled(ex, outcome, "application " + appId + " is already subscribed to " + *name,
                 "you have no application " + appId, error))
      co_return;
    json::array apis;
    for (const std::string& api : item->second.apis) apis.push_back(json::string(api));
    reply(ex, 201,
          json::object{{"catalogItem", *name},
                       {"plan", item->second.plan->name},
                       {"apis", std::move(apis)},
                       {"createdAt", s.createdAt}});
  }

  awaitable<void> unsubscribe(Exchange& ex, const User& user, const std::string& appId, const std::string& item) const {
    std::shared_ptr<const PortalState> state = co_await stateOr503(ex);
    if (!state || !owned(ex, *state, user, appId)) co_return;
    PortalChange change;
    change.mustExist(PortalChange::Table::Subs, appId + "|" + item);
    change.erase(PortalChange::Table::Subs, appId + "|" + item);
    std::string error;
    PortalStore::Outcome outcome = co_await c_->store->apply(ex.worker, change, error);
    if (!settled(ex, outcome, "", "application " + appId + " is not subscribed to " + item, error)) co_return;
    ex.response.status = 204;
  }

  std::shared_ptr<const Compiled> c_;
  const Site& site_;
};

// apiportal@internal: picks the portal, serves its files, and hands the rest to its sign-in.
class PortalRouter final : public Handler {
 public:
  PortalRouter(std::shared_ptr<const Compiled> c, std::vector<HandlerPtr> sites)
      : c_(std::move(c)), sites_(std::move(sites)) {}

  awaitable<void> handle(Exchange& ex) const override {
    for (std::string_view h : kUserHeaders) ex.request.headers.removeWithTwins(h);
    const TrustedUrl* url = nullptr;
    size_t site = pick(ex, url);
    if (site == SIZE_MAX) {
      // The portal's path without its slash: on to the page.
      for (const Site& s : c_->sites)
        for (const TrustedUrl& u : s.urls)
          if (ex.request.path.size() + 1 == u.path.size() && u.path.starts_with(ex.request.path)) {
            ex.response.status = 308;
            ex.response.headers.set("Location", ex.arena.copy(u.path));
            co_return;
          }
      co_return fail(ex, 404, "no developer portal at this address");
    }
    std::string_view rel = ex.request.path.substr(url->path.size());
    if (rel.starts_with("assets/") || rel == "favicon.svg") {
      if (ex.request.method != "GET" && ex.request.method != "HEAD") co_return fail(ex, 405, "method not allowed");
      const PortalAsset* asset = findPortalAsset(rel);
      if (!asset) co_return fail(ex, 404, "not found");
      co_return serveAsset(ex, *asset);
    }
    co_await sites_[site]->handle(ex);
    // The sign-in's own refusals of JSON API calls (no session on a write, a missing or wrong
    // CSRF token) in the JSON API's shape.
    if (rel.starts_with("portal-api/") && (ex.response.status == 401 || ex.response.status == 403) &&
        !ex.response.headers.get("Content-Type").starts_with("application/json"))
      fail(ex, ex.response.status,
           ex.response.status == 401
               ? "not signed in (or the session ended): open the portal to sign in again"
               : "refused: a write must repeat the hub-csrf-token cookie's value in the Hub-Csrf-Token header");
  }

 private:
  // The portal whose trusted URL has the request's host and a path the request is under (the
  // longest such path); with the host unknown to every portal, the path alone decides.
  size_t pick(const Exchange& ex, const TrustedUrl*& url) const {
    for (bool byHost : {true, false}) {
      size_t best = SIZE_MAX;
      for (size_t i = 0; i < c_->sites.size(); ++i)
        if (const TrustedUrl* u = trustedUrlOf(c_->sites[i].urls, ex, byHost); u && (!url || u->path.size() > url->path.size())) {
          url = u;
          best = i;
        }
      if (best != SIZE_MAX) return best;
    }
    return SIZE_MAX;
  }

  std::shared_ptr<const Compiled> c_;
  std::vector<HandlerPtr> sites_;
};

class PortalFactory final : public exchange::MiddlewareFactory {
 public:
  explicit PortalFactory(std::shared_ptr<const Compiled> c) : c_(std::move(c)) {}
  HandlerPtr wrap(HandlerPtr, const WrapContext& context) const override {
    std::vector<HandlerPtr> sites;
    for (size_t i = 0; i < c_->sites.size(); ++i)
      sites.push_back(c_->sites[i].oidc->wrap(std::make_shared<PortalApi>(c_, i), context));
    return std::make_shared<PortalRouter>(c_, std::move(sites));
  }

 private:
  std::shared_ptr<const Compiled> c_;
};

std::optional<TrustedUrl> parseTrusted(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::nullopt;
  std::string_view rest = url.substr(scheme + 3);
  size_t slash = rest.find('/');
  TrustedUrl out{toLower(rest.substr(0, slash)), slash == std::string_view::npos ? "/" : std::string(rest.substr(slash))};
  if (out.path.back() != '/') out.path += '/';
  return out;
}

// The oidc middleware a portal signs in with.
MiddlewareFactoryPtr oidcFor(const std::string& portal, const config::ApiPortal& p, const config::PortalOidc& o,
                             MiddlewareBuildContext& context) {
  std::string own = p.trustedUrls.front();
  while (!own.empty() && own.back() == '/') own.pop_back();
  std::string error;
  std::optional<std::string> clientSecret = secretOption(o.clientSecret, error);
  if (!clientSecret) {
    context.error("portal " + portal + ": oidc.clientSecret: " + error);
    return nullptr;
  }
  // The key sealing the sessions: from sessionSecret (each portal its own), else random, so
  // that no one who knows the client's secret can forge a session.
  std::string sessionSecret;
  if (!o.sessionSecret.empty()) {
    std::optional<std::string> s = secretOption(o.sessionSecret, error);
    if (!s) {
      context.error("portal " + portal + ": oidc.sessionSecret: " + error);
      return nullptr;
    }
    sessionSecret = hexEncode(sha256Bytes("causeway portal sessions\n" + portal + "\n" + *s));
  } else {
    static const std::string random = hexEncode(randomBytes(32));
    sessionSecret = hexEncode(sha256Bytes("causeway portal sessions\n" + portal + "\n" + random));
    log::warn("api portal: no oidc.sessionSecret: sessions end when causeway restarts, and other instances "
              "cannot open them",
              {{"portal", portal}});
  }
  auto scalar = [](const std::string& s) { return config::Node::scalar(s); };
  config::Node n = config::Node::map();
  n.set("issuer", scalar(o.issuerUrl));
  n.set("clientId", scalar(o.clientId));
  n.set("clientSecret", scalar(*clientSecret));
  n.set("redirectUrl", scalar(own + "/auth/callback"));
  n.set("logoutUrl", scalar(own + "/auth/logout"));
  n.set("postLogoutRedirectUrl", scalar(own + "/"));
  n.set("secret", scalar(sessionSecret));
  n.set("pkce", scalar("true"));
  config::Node scopes = config::Node::list();
  for (const std::string& s : o.scopes) scopes.append(scalar(s));
  n.set("scopes", std::move(scopes));
  config::Node session = config::Node::map();
  std::string bare = portal;
  std::replace(bare.begin(), bare.end(), '@', '-');
  session.set("name", scalar("portal-" + bare + "-session"));
  session.set("path", scalar(parseTrusted(own + "/")->path));
  session.set("secure", scalar(own.starts_with("https://") ? "true" : "false"));
  n.set("session", std::move(session));
  config::Node state = config::Node::map();
  state.set("name", scalar("portal-" + bare + "-state"));
  state.set("secure", scalar(own.starts_with("https://") ? "true" : "false"));
  n.set("stateCookie", std::move(state));
  config::Node csrf = config::Node::map();
  n.set("csrf", std::move(csrf));
  config::Node forward = config::Node::map();
  const config::PortalClaims& cl = o.claims;
  std::pair<std::string_view, const std::string*> headers[] = {
      {"X-Portal-User", &cl.userId},           {"X-Portal-Groups", &cl.groups},     {"X-Portal-Email", &cl.email},
      {"X-Portal-Firstname", &cl.firstname}, {"X-Portal-Lastname", &cl.lastname}, {"X-Portal-Company", &cl.company},
      {"X-Portal-Org-Id", &cl.organizationId}, {"X-Portal-Org-Name", &cl.organizationName}};
  for (const auto& [header, claim] : headers)
    if (!claim->empty()) forward.set(std::string(header), scalar(*claim));
  n.set("forwardHeaders", std::move(forward));
  if (o.clientConfig) n.set("clientConfig", *o.clientConfig);
  return context.buildInner("oidc", n, "portal " + portal + ": ");
}

std::shared_ptr<DocSource> docSource(const config::Node& given, const std::string& owner, const std::string* serviceUrl,
                                     MiddlewareBuildContext& context) {
  auto source = std::make_shared<DocSource>();
  std::string error;
  config::Node spec = given;
  if (spec.find("path")) {
    // Reported by the api middleware that publishes the API; here, no documentation.
    MiddlewareBuildContext quiet(context.name(), context.provider());
    if (!resolveDocumentPath(spec, serviceUrl, quiet)) return nullptr;
  }
  if (const config::Node* file = spec.find("file"); file && file->isScalar()) {
    std::ifstream in(file->text(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    std::optional<json::value> parsed = in ? parseJsonOrYaml(text.str(), error) : std::nullopt;
    if (!parsed) {
      context.warning(config::ConfigError{file->location(), "apiManagement",
                                          owner + ": the portal cannot show the OpenAPI document " + file->text() + ": " +
                                              (in ? error : "cannot read it"),
                                          true, false});
      return nullptr;
    }
    source->json = json::serialize(*parsed);
    return source;
  }
  if (const config::Node* url = spec.find("url"); url && url->isScalar()) {
    source->client = HttpClient::make(url->text(), ClientConfig{}, owner + "#portal-document", error);
    if (!source->client) {
      context.warning(config::ConfigError{url->location(), "apiManagement", owner + ": openApiSpec.url: " + error, true, false});
      return nullptr;
    }
    return source;
  }
  return nullptr;
}

MiddlewareFactoryPtr create(const config::Node&, MiddlewareBuildContext& context) {
  const config::ApiCatalog* catalog = context.apiCatalog();
  if (!catalog) {
    context.error("the developer portal needs the API management resources");
    return nullptr;
  }
  auto c = std::make_shared<Compiled>();
  std::string error;
  c->store = PortalStore::shared(catalog->store, context.workers(), error);
  if (!c->store) {
    context.error(error);
    return nullptr;
  }
  for (const auto& [name, entry] : catalog->apis) {
    if (!entry.ok) continue;
    const config::ApiResource& a = entry.element->value;
    ApiInfo info{a.title, a.description, {}, {}};
    if (a.openApiSpec)
      if (auto doc = docSource(*a.openApiSpec, "API " + name, serviceUrlOf(*catalog, name, name), context))
        info.docs[""] = doc;
    for (const config::ApiRef& ref : a.versions) {
      std::string v = qualify(ref.name, entry.provider);
      auto version = catalog->apiVersions.find(v);
      if (version == catalog->apiVersions.end() || !version->second.ok) continue;
      const config::ApiVersionResource& vr = version->second.element->value;
      info.versions.push_back({v, vr.release, vr.title});
      if (vr.openApiSpec)
        if (auto doc = docSource(*vr.openApiSpec, "APIVersion " + v, serviceUrlOf(*catalog, v, name), context))
          info.docs[v] = doc;
    }
    c->apis.emplace(name, std::move(info));
  }
  for (const auto& [name, entry] : catalog->apiCatalogItems) {
    if (!entry.ok) continue;
    const config::ApiCatalogItem& i = entry.element->value;
    ItemInfo info;
    info.groups = i.groups;
    info.everyone = i.everyone;
    info.apis = catalog->apisOf(i.apis, i.apiBundles, entry.provider);
    for (auto it = info.apis.begin(); it != info.apis.end();)
      it = c->apis.count(*it) ? std::next(it) : info.apis.erase(it);
    if (i.apiPlan) {
      std::string plan = qualify(i.apiPlan->name, entry.provider);
      const config::ApiPlan& p = catalog->apiPlans.at(plan).element->value;
      info.plan = PlanInfo{plan, p.title, p.description, p.rateLimit, p.quota};
    }
    if (i.operationFilter) info.operationSets = i.operationFilter->include;
    c->items.emplace(name, std::move(info));
  }
  for (const auto& [name, entry] : catalog->contentItems) {
    if (!entry.ok) continue;
    const config::ContentItem& i = entry.element->value;
    ContentInfo info{i.title, i.content, i.link ? i.link->href : "", i.order, i.parentRef.kind,
                     qualify(i.parentRef.name, entry.provider), {}};
    if (info.parentKind == "API") info.apis.insert(info.parent);
    else if (info.parentKind == "APIBundle")
      info.apis = catalog->apisOf({}, {config::ApiRef{i.parentRef.name, {}}}, entry.provider);
    c->content.emplace(name, std::move(info));
  }
  for (const auto& [name, entry] : catalog->managedApplications) {
    if (!entry.ok || entry.element->value.owner.empty()) continue;
    const config::ManagedApplication& a = entry.element->value;
    ManagedInfo m{name, a.appIdOr(name), a.owner, {}};
    for (const config::ManagedApiKey& k : a.apiKeys) m.keyTitles.push_back(k.title);
    c->managed.push_back(std::move(m));
  }
  for (const auto& [name, entry] : catalog->apiPortals) {
    if (!entry.ok) continue;
    const config::ApiPortal& p = entry.element->value;
    const auto& auth = catalog->apiPortalAuths.at(qualify(p.auth->name, entry.provider));  // resolved by the build
    if (!auth.element->value.oidc) {
      context.warning(config::ConfigError{entry.element->location, "apiManagement.apiPortals",
                                          "portal " + name + " is not served: its APIPortalAuth uses ldap, which is "
                                                              "not supported yet",
                                          true, true});
      continue;
    }
    Site site{name, p.title.empty() ? name.substr(0, name.find('@')) : p.title, p.description, p.ui.logoUrl, {},
              auth.element->value.oidc->claims, nullptr};
    for (const std::string& u : p.trustedUrls)
      if (auto parsed = parseTrusted(u)) site.urls.push_back(*parsed);
    site.oidc = oidcFor(name, p, *auth.element->value.oidc, context);
    if (!site.oidc) continue;
    c->sites.push_back(std::move(site));
  }
  if (!context.errors().empty()) return nullptr;
  {
    std::lock_guard lock(currentMutex);
    current = c;
  }
  return std::make_shared<PortalFactory>(std::move(c));
}

const exchange::MiddlewareRegistration registration("apiPortal", create, "ApiPortal");

}  // namespace

const PortalAsset* findPortalAsset(std::string_view path) {
  return exchange::findEmbeddedFile({kPortalAssets, kPortalAssetCount}, path);
}

awaitable<void> PortalExport::handle(Exchange& ex) const {
  std::shared_ptr<const Compiled> c;
  {
    std::lock_guard lock(currentMutex);
    c = current;
  }
  if (!c) co_return fail(ex, 404, "no developer portal is configured (apiManagement.apiPortals)");
  std::string error;
  std::shared_ptr<const PortalState> state = co_await c->store->state(ex.worker, error);
  if (!state) co_return fail(ex, 503, "the portal's store cannot be reached: " + error);
  YAML::Emitter out;
  out << YAML::Comment("The developer portal's applications, keys (their SHA-256) and subscriptions, as API "
                       "management resources (docs/api-management.md, \"Export for GitOps\").");
  out << YAML::BeginMap << YAML::Key << "apiManagement" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "managedApplications" << YAML::Value << YAML::BeginMap;
  for (const auto& [appId, app] : state->apps) {
    out << YAML::Key << "portal-" + appId << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "appId" << YAML::Value << appId;
    out << YAML::Key << "owner" << YAML::Value << YAML::DoubleQuoted << app.owner;
    out << YAML::Key << "notes" << YAML::Value << YAML::DoubleQuoted << app.title + " (made in portal " + app.portal + ")";
    out << YAML::Key << "apiKeys" << YAML::Value << YAML::BeginSeq;
    std::vector<const PortalKey*> keys;
    for (const auto& [digest, key] : state->keys)
      if (key.appId == appId) keys.push_back(&key);
    std::sort(keys.begin(), keys.end(), [](const PortalKey* a, const PortalKey* b) { return a->id < b->id; });
    for (const PortalKey* k : keys)
      out << YAML::BeginMap << YAML::Key << "title" << YAML::Value << YAML::DoubleQuoted << k->title << YAML::Key
          << "sha256" << YAML::Value
          << k->sha256 << YAML::EndMap;
    out << YAML::EndSeq << YAML::EndMap;
  }
  out << YAML::EndMap;
  out << YAML::Key << "managedSubscriptions" << YAML::Value << YAML::BeginMap;
  for (const auto& [appId, subs] : state->subscriptions) {
    if (!state->apps.count(appId)) continue;
    for (const PortalSubscription& s : subs) {
      auto item = c->items.find(s.catalogItem);
      if (item == c->items.end() || !item->second.plan) continue;  // withdrawn since: nothing to grant
      std::string itemName = s.catalogItem;
      std::replace(itemName.begin(), itemName.end(), '@', '-');
      out << YAML::Key << "portal-" + appId + "-" + itemName << YAML::Value << YAML::BeginMap;
      out << YAML::Key << "managedApplications" << YAML::Value << YAML::BeginSeq << YAML::BeginMap << YAML::Key
          << "name" << YAML::Value << "portal-" + appId << YAML::EndMap << YAML::EndSeq;
      out << YAML::Key << "apis" << YAML::Value << YAML::BeginSeq;
      for (const std::string& api : item->second.apis)
        out << YAML::BeginMap << YAML::Key << "name" << YAML::Value << api << YAML::EndMap;
      out << YAML::EndSeq;
      out << YAML::Key << "apiPlan" << YAML::Value << YAML::BeginMap << YAML::Key << "name" << YAML::Value
          << item->second.plan->name << YAML::EndMap;
      if (!item->second.operationSets.empty())
        out << YAML::Key << "operationFilter" << YAML::Value << YAML::BeginMap << YAML::Key << "include"
            << YAML::Value << item->second.operationSets << YAML::EndMap;
      out << YAML::EndMap;
    }
  }
  out << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  ex.response.status = 200;
  ex.response.headers.set("Content-Type", "application/yaml");
  ex.response.headers.set("Cache-Control", "no-store");
  ex.response.body = ex.arena.make<exchange::MemoryBody>(ex.arena.copy(std::string(out.c_str()) + "\n"));
}

}  // namespace causeway::gateway::api
