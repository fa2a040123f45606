// api: publishes one API of the API management resources (config/api_management.h) on the
// routers that carry it, and enforces its plans (docs/api-management.md):
//   1. the caller is identified as an application, as the provider's default APIAuth says:
//      - apiKey: by its API key (Hub's default: `Authorization: Bearer <key>`, then `?api_key=`).
//        No key, or a key no application has: 401. A suspended key or application: 403.
//      - jwt: by a token a jwt middleware built from the APIAuth's options verifies (401 as that
//        middleware refuses), whose `appIdClaim` names the application's appId. No such claim,
//        or no application with that appId: 403; a suspended application: 403.
//   2. its subscription to this API is found: among the subscriptions that name one of its
//      applications and this API (directly or through a bundle) and, with an operationFilter,
//      include an operation set (the API's openApiSpec.operationSets) the request is in, the
//      highest `weight` applies (then the first by name). None: 403.
//   3. the subscription's plan limits it: `rateLimit` (a token bucket of `limit` per `period`)
//      and `quota` (a sliding window: at most `limit` requests in any `period`), each counted
//      in its `bucket`: per subscription, per application and API, or per application. Over
//      either: 429 with Retry-After (seconds until a request is let in again) and
//      X-RateLimit-*/X-Quota-* headers. A request either refuses costs neither.
// With one of the API's openApiSpec validation switches on, the request is then checked against
// its document by an openApiSpec middleware (docs/api-gateway.md §7).
// The key is taken off the request before it goes upstream, and the upstream is told who
// called: X-Api-Application (the application's appId) and X-Api-Plan.
//
// Counters live in memory, shared by every worker and kept across reloads for as long as a
// plan keeps its limits, or in Redis when `apiManagement.store.redis` is set (the shape of
// distributedRateLimit's store: one server, Cluster or Sentinel), so that several instances
// enforce one quota; then Redis unreachable means 503 (plans fail closed).
//
// Options: `name`, the API (`name@provider` for another provider's); `version`, one of its
// APIVersions, whose document (operation sets, contract) applies instead of the API's.
#include <re2/re2.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "core/bytes.h"
#include "core/log.h"
#include "exchange/exchange.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "exchange/replies.h"
#include "expr/claims.h"
#include "gateway/api/api_document.h"
#include "gateway/api/claims_use.h"
#include "gateway/api/credentials.h"
#include "gateway/api/portal_store.h"
#include "gateway/api/redis_limit.h"
#include "gateway/api/redis_store.h"
#include "limits/token_budget.h"

namespace causeway::gateway::api {
namespace {

using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

constexpr size_t kMaxKey = 4096;

struct Options {
  std::string name;
  std::string version;  // an APIVersion of the API: its document instead of the API's
  static void describe(auto& self, auto& v) {
    v("name", self.name);
    v("version", self.version);
  }
};

using config::qualify;

// One plan limit's counters in memory, shared by every API and reload that uses the same plan
// with the same limit (limits::TokenBudget::shared).
std::shared_ptr<limits::TokenBudget> planBudget(const std::string& plan, limits::TokenBudget::Kind kind,
                                                const config::ApiPlanLimit& l) {
  return limits::TokenBudget::shared(plan + "|" + l.bucket, kind, double(l.limit), l.period.value);
}


// A plan limit as an application meets it on this API.
struct Limit {
  int64_t limit = 0;
  std::string source;                             // the bucket's key
  std::shared_ptr<limits::TokenBudget> local;     // without a store
  std::optional<RedisLimit> redis;                // with a store (rate and quota of one key)
};

// What applies to one application on this API: its subscription and plan.
struct Grant {
  std::string plan;
  std::string appId;
  std::optional<Limit> rate;
  std::optional<Limit> quota;
  bool combined = false;  // Redis: rate and quota share a key and are decided by rate->redis
};

// One of the API's operationSets: a request is in it when one matcher matches its path and
// method.
struct OperationMatcher {
  std::string path;
  std::string pathPrefix;
  std::string pathRegex;
  std::vector<std::string> methods;
  static void describe(auto& self, auto& v) {
    v("path", self.path);
    v("pathPrefix", self.pathPrefix);
    v("pathRegex", self.pathRegex);
    v("methods", self.methods);
  }
};

struct OperationSetOptions {
  std::string name;
  std::vector<OperationMatcher> matchers;
  static void describe(auto& self, auto& v) {
    v("name", self.name);
    v("matchers", self.matchers);
  }
};

struct CompiledMatcher {
  std::string path, pathPrefix;
  std::shared_ptr<const re2::RE2> pathRegex;
  std::vector<std::string> methods;  // empty: any
  bool matches(std::string_view requestPath, std::string_view method) const {
    if (!methods.empty() && std::find(methods.begin(), methods.end(), method) == methods.end()) return false;
    if (!path.empty() && requestPath != path) return false;
    if (!pathPrefix.empty() && !requestPath.starts_with(pathPrefix)) return false;
    if (pathRegex && !re2::RE2::FullMatch(re2::StringPiece(requestPath.data(), requestPath.size()), *pathRegex))
      return false;
    return true;
  }
};
using OperationSet = std::vector<CompiledMatcher>;

// A subscription an application may use on this API: its grant, and the operation sets it is
// limited to (empty: every operation).
struct Candidate {
  size_t grant = 0;
  std::vector<size_t> sets;  // indices into Compiled::operationSets
  // The subscription's `claims`: it applies only to tokens whose claims satisfy it.
  std::shared_ptr<const expr::claims::Expression> claims;
};

struct Key {
  size_t app = SIZE_MAX;  // index into Compiled::candidates: the application's subscriptions
  std::string appId;
  bool suspended = false;
};

struct Compiled {
  std::string name;  // the middleware's
  std::string api;   // qualified
  std::string version;  // qualified APIVersion, when the router publishes one
  CredentialSource source;
  std::string challenge;
  std::unordered_map<std::string, Key> keys;  // SHA-256 of a key → its application
  std::vector<OperationSet> operationSets;
  // Per application, its subscriptions to this API, the highest weight first (then by name).
  std::vector<std::vector<Candidate>> candidates;
  MiddlewareFactoryPtr contract;  // the openApiSpec middleware of the API's openApiSpec, if any
  MiddlewareFactoryPtr cors;      // the headers middleware of the API's (or version's) cors, if any
  // jwt: the claim naming the application, each application by appId, and the jwt middleware
  // that verifies the token first.
  std::string appIdClaim;
  std::unordered_map<std::string, Key> byAppId;
  MiddlewareFactoryPtr jwt;
  std::vector<Grant> grants;
  ThrottledWarning outage;
  // Keys made in a developer portal (portal.cpp): the store they are in, and what each catalog
  // item that lists this API and offers a plan grants a portal application subscribed to it.
  struct Offer {
    std::string plan;
    std::vector<size_t> sets;  // empty: every operation
  };
  std::shared_ptr<PortalStore> portal;
  std::map<std::string, Offer> offers;  // by catalog item
  std::function<Grant(const std::string& plan, const std::string& subscription, const std::string& app,
                      const std::string& appId)>
      makeGrant;
  mutable std::mutex portalMutex;
  mutable std::map<std::string, std::shared_ptr<const Grant>> portalGrants;  // by appId|item
};

std::string bucketSource(const std::string& bucket, const std::string& subscription, const std::string& app,
                         const std::string& api) {
  if (bucket == "application") return "app:" + app;
  if (bucket == "application-api") return "app:" + app + "|api:" + api;
  return "sub:" + subscription;
}

// A refusal the caller can act on: the status, and a JSON body saying why (nothing secret in
// it). 401 carries the APIAuth's challenge.
void deny(Exchange& ex, int status, std::string_view challenge, std::string_view why) {
  refuse(ex, status, challenge, why);
  std::string body = "{\"status\":" + std::to_string(status) + ",\"error\":\"";
  for (char ch : why) {
    if (ch == '"' || ch == '\\') body += '\\';
    body += ch;
  }
  body += "\"}\n";
  ex.response.headers.set("Content-Type", "application/json");
  ex.response.body = ex.arena.make<exchange::MemoryBody>(ex.arena.copy(body));
}

class ApiEnforcement final : public Handler {
 public:
  ApiEnforcement(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext&)
      : c_(std::move(c)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    const Compiled& c = *c_;
    auto* record = ex.arena.make<exchange::ApiRecord>();
    record->api = c.api;
    record->version = c.version;
    ex.record.api = record;
    FoundCredential found;
    const Key* key = nullptr;
    std::shared_ptr<const Grant> portalGrant;  // a portal key's, held for the request
    if (!c.appIdClaim.empty()) {
      // The jwt middleware before this one verified the token.
      const boost::json::value* claim = ex.claims ? claimNamed(*ex.claims, c.appIdClaim) : nullptr;
      if (!claim || !claim->is_string()) {
        deny(ex, 403, {}, "the token has no " + c.appIdClaim + " claim naming an application");
        co_return;
      }
      auto it = c.byAppId.find(std::string(claim->get_string()));
      if (it == c.byAppId.end()) {
        deny(ex, 403, {}, "no application has the token's " + c.appIdClaim);
        co_return;
      }
      key = &it->second;
    } else {
      found = findCredential(ex, c.source);
      if (found.value.empty() || found.value.size() > kMaxKey) {
        deny(ex, 401, c.challenge, found.value.empty() ? "no API key" : "API key too long");
        co_return;
      }
      std::string digest = sha256Bytes(found.value);
      auto it = c.keys.find(digest);
      if (it == c.keys.end()) {
        if (!c.portal) {
          deny(ex, 401, c.challenge, "unknown API key");
          co_return;
        }
        portalGrant = co_await fromPortal(ex, digest, *record);
        if (!portalGrant) co_return;
      } else {
        key = &it->second;
      }
    }
    const Grant* chosen = portalGrant.get();
    if (key) {
      record->application = key->appId;
      if (key->suspended) {
        deny(ex, 403, {}, "the API key or its application is suspended");
        co_return;
      }
      static const std::vector<Candidate> kNone;
      const std::vector<Candidate>& candidates = key->app == SIZE_MAX ? kNone : c.candidates[key->app];
      bool claimsRefused = false;
      for (const Candidate& candidate : candidates) {
        if (candidate.claims && !(ex.claims && candidate.claims->evaluate(ClaimFields(*ex.claims)) == expr::claims::Truth::True)) {
          claimsRefused = true;
          continue;
        }
        if (inSets(ex, candidate.sets)) {
          chosen = &c.grants[candidate.grant];
          break;
        }
      }
      if (!chosen) {
        deny(ex, 403, {},
             candidates.empty() ? "application " + key->appId + " has no subscription to API " + c.api
             : claimsRefused    ? "no subscription of application " + key->appId + " covers this operation with these claims"
                                : "no subscription of application " + key->appId + " covers this operation");
        co_return;
      }
    }
    const Grant& g = *chosen;
    record->plan = g.plan;
    std::optional<LimitDecision> d = co_await decide(ex, g);
    if (!d) {
      deny(ex, 503, {}, "the API plans' counter store cannot be reached");
      ex.response.headers.set("Retry-After", "1");
      co_return;
    }
    if (!d->allowed) {
      deny(ex, 429, {}, d->quotaRefused ? "quota of plan " + g.plan + " exceeded" : "rate limit of plan " + g.plan + " exceeded");
      ex.response.headers.set("Retry-After", ex.arena.copy(std::to_string(d->retryAfterSeconds())));
      addHeaders(ex, g, *d);
      co_return;
    }
    if (found.in != FoundCredential::In::None) removeCredential(ex, c.source, found.in);
    ex.request.headers.set("X-Api-Application", g.appId);
    ex.request.headers.set("X-Api-Plan", g.plan);
    if (!c.version.empty()) ex.request.headers.set("X-Api-Version", c.version);
    else ex.request.headers.remove("X-Api-Version");
    co_await next_->handle(ex);
    addHeaders(ex, g, *d);
  }

 private:
  bool inSets(const Exchange& ex, const std::vector<size_t>& sets) const {
    bool in = sets.empty();
    for (size_t set : sets)
      for (const CompiledMatcher& m : c_->operationSets[set]) in = in || m.matches(ex.request.path, ex.request.method);
    return in;
  }

  // A key made in a developer portal: its application's subscription to a catalog item that
  // offers this API (the first by item name whose operation sets cover the request). Null after
  // answering when there is none.
  awaitable<std::shared_ptr<const Grant>> fromPortal(Exchange& ex, const std::string& digest,
                                                     exchange::ApiRecord& record) const {
    const Compiled& c = *c_;
    std::string error;
    std::shared_ptr<const PortalState> state = co_await c.portal->state(ex.worker, error);
    auto key = state ? state->keys.find(digest) : decltype(state->keys.end()){};
    if (!state || key == state->keys.end() || !state->apps.count(key->second.appId)) {
      if (!state) warn(error);
      deny(ex, state ? 401 : 503, state ? c.challenge : std::string(),
           state ? "unknown API key" : "the portal's key store cannot be reached");
      co_return nullptr;
    }
    const std::string& appId = key->second.appId;
    record.application = ex.arena.copy(appId);
    auto subs = state->subscriptions.find(appId);
    bool any = false;
    if (subs != state->subscriptions.end())
      for (const PortalSubscription& s : subs->second) {
        auto offer = c.offers.find(s.catalogItem);
        if (offer == c.offers.end()) continue;
        any = true;
        if (!inSets(ex, offer->second.sets)) continue;
        std::string id = appId + "|" + s.catalogItem;
        std::lock_guard lock(c.portalMutex);
        auto& grant = c.portalGrants[id];
        if (!grant)
          grant = std::make_shared<const Grant>(c.makeGrant(offer->second.plan, "portal:" + id, "portal:" + appId, appId));
        co_return grant;
      }
    deny(ex, 403, {}, any ? "no subscription of application " + appId + " covers this operation"
                          : "application " + appId + " has no subscription to API " + c.api);
    co_return nullptr;
  }

  // The quota's figures of a decision about the quota's own key.
  static void takeQuota(LimitDecision& d, const LimitDecision& quota) {
    d.quotaRemaining = quota.quotaRemaining;
    d.quotaRetryMicros = quota.quotaRetryMicros;
    d.quotaResetMicros = quota.quotaResetMicros;
  }

  awaitable<std::optional<LimitDecision>> decide(Exchange& ex, const Grant& g) const {
    LimitDecision d;
    if (g.rate && g.rate->redis && (g.combined || !g.quota)) {
      // In Redis, the rate limit and the quota in one bucket: one round trip decides both.
      std::string error;
      std::optional<LimitDecision> r = co_await g.rate->redis->decide(ex.worker, g.rate->source, error);
      if (!r) warn(error);
      co_return r;
    }
    if (g.quota && g.quota->redis) {
      // In different buckets: the quota is asked first without counting, then the rate limit
      // counts the request, then the quota does; so a request either refuses costs the quota
      // nothing. (Two concurrent requests may both pass the first question; the last one can
      // then find the quota spent after the rate limit has counted it.)
      std::string error;
      std::optional<LimitDecision> q = co_await g.quota->redis->decide(ex.worker, g.quota->source, error, true);
      if (!q) {
        warn(error);
        co_return std::nullopt;
      }
      takeQuota(d, *q);
      if (g.rate) {
        std::optional<LimitDecision> r = co_await g.rate->redis->decide(ex.worker, g.rate->source, error, !q->allowed);
        if (!r) {
          warn(error);
          co_return std::nullopt;
        }
        d.remaining = r->remaining;
        d.retryMicros = r->retryMicros;
        if (!r->allowed) {
          d.allowed = false;
          co_return d;
        }
      }
      if (!q->allowed) {
        d.allowed = false;
        d.quotaRefused = true;
        co_return d;
      }
      q = co_await g.quota->redis->decide(ex.worker, g.quota->source, error);
      if (!q) {
        warn(error);
        co_return std::nullopt;
      }
      takeQuota(d, *q);
      d.allowed = q->allowed;
      d.quotaRefused = !q->allowed;
      co_return d;
    }
    // In memory: the rate limit's token taken, then the quota's; a quota that refuses gives
    // the token back. Each take checks and counts under the budget's lock, so concurrent
    // requests on several workers never both get the last one.
    int64_t now = limits::TokenBudget::nowNanos();
    if (g.rate) {
      limits::TokenBudget::Decision r = g.rate->local->take(g.rate->source, now, 1);
      d.remaining = std::max(0.0, r.remaining - (r.allowed ? 1 : 0));
      if (!r.allowed) {
        d.allowed = false;
        d.retryMicros = double(r.retryAfter.count()) / 1e3;
      }
    }
    if (g.quota) {
      limits::TokenBudget::Decision q = d.allowed ? g.quota->local->take(g.quota->source, now, 1)
                                                  : g.quota->local->check(g.quota->source, now, 1);
      // What is left counts this request only when it is let in.
      d.quotaRemaining = std::max(0.0, q.remaining - (d.allowed && q.allowed ? 1 : 0));
      if (!q.allowed) {
        if (d.allowed && g.rate) {
          g.rate->local->refund(g.rate->source, now, 1);
          d.remaining += 1;
        }
        d.quotaRefused = d.allowed;
        d.allowed = false;
        d.quotaRetryMicros = double(q.retryAfter.count()) / 1e3;
      }
    }
    co_return d;
  }

  void addHeaders(Exchange& ex, const Grant& g, const LimitDecision& d) const {
    auto& h = ex.response.headers;
    auto number = [&](double x) { return ex.arena.copy(std::to_string(int64_t(std::max(0.0, std::floor(x))))); };
    if (g.rate) {
      h.set("X-RateLimit-Limit", ex.arena.copy(std::to_string(g.rate->limit)));
      h.set("X-RateLimit-Remaining", number(d.remaining));
    }
    if (g.quota) {
      h.set("X-Quota-Limit", ex.arena.copy(std::to_string(g.quota->limit)));
      h.set("X-Quota-Remaining", number(d.quotaRemaining));
    }
  }

  void warn(const std::string& error) const {
    if (!c_->outage.due()) return;
    log::warn("api: the plans' counter store cannot be used",
              {{"middlewareName", c_->name}, {"api", c_->api}, {"error", error}});
  }

  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
};

// The api middleware: the enforcement, behind the jwt middleware when the APIAuth uses tokens.
class ApiFactory final : public exchange::MiddlewareFactory {
 public:
  explicit ApiFactory(std::shared_ptr<const Compiled> c) : c_(std::move(c)) {}
  HandlerPtr wrap(HandlerPtr next, const WrapContext& context) const override {
    if (c_->contract) next = c_->contract->wrap(std::move(next), context);
    HandlerPtr handler = std::make_shared<ApiEnforcement>(c_, std::move(next), context);
    if (c_->jwt) handler = c_->jwt->wrap(std::move(handler), context);
    // CORS first: a browser's preflight carries no credential.
    return c_->cors ? c_->cors->wrap(std::move(handler), context) : handler;
  }

 private:
  std::shared_ptr<const Compiled> c_;
};

// `node` decoded into `out`, its errors this middleware's; false on an error.
template <class T>
bool decodeOption(const config::Node& node, T& out, MiddlewareBuildContext& context) {
  config::DecodeContext decodeContext;
  config::decode(node, out, decodeContext);
  for (const auto& e : decodeContext.errors()) context.error(e);
  return decodeContext.errors().empty();
}

// The jwt middleware an APIAuth's `jwt` describes: Hub's APIAuth names translated to the jwt
// middleware's (tokenQueryKey → tokenKey, stripAuthorizationHeader → forwardAuthorization), the
// rest passed as they are. Null with errors in `context`.
MiddlewareFactoryPtr jwtFor(const config::Node& options, MiddlewareBuildContext& context, std::string& appIdClaim) {
  config::Node node = options;
  appIdClaim = node.find("appIdClaim")->text();
  node.erase("appIdClaim");
  if (const config::Node* name = node.find("tokenNameClaim")) {
    context.warning(config::ConfigError{name->location(), "apiManagement.apiAuths",
                                        "jwt.tokenNameClaim is not supported yet (tokens have no names without the portal)",
                                        true, true});
    node.erase("tokenNameClaim");
  }
  if (const config::Node* secret = node.find("signingSecretName")) {
    context.error(config::ConfigError{secret->location(), "apiManagement.apiAuths",
                                      "jwt.signingSecretName needs the Kubernetes provider: use signingSecret "
                                      "(env:NAME or file:PATH)",
                                      false, false});
    return nullptr;
  }
  if (const config::Node* key = node.find("tokenQueryKey")) {
    config::Node value = *key;
    node.erase("tokenQueryKey");
    node.set("tokenKey", std::move(value));
  }
  if (const config::Node* strip = node.find("stripAuthorizationHeader")) {
    bool stripIt = true;
    if (!decodeOption(*strip, stripIt, context)) return nullptr;
    bool forward = !stripIt;
    config::Location where = strip->location();
    node.erase("stripAuthorizationHeader");
    config::Node value = config::Node::scalar(forward ? "true" : "false");
    value.setLocation(where);
    node.set("forwardAuthorization", std::move(value));
  }
  return context.buildInner("jwt", node);
}

// The API's openApiSpec: its operationSets into `sets` (names in `names`), and, when one of
// Hub's validation switches is on (both off by default, as in Hub), the openApiSpec middleware
// that checks requests against the document (`url`, or causeway's `file`). False with errors.
bool compileSpec(const config::Node& options, MiddlewareBuildContext& context, std::vector<OperationSet>& sets,
                 std::vector<std::string>& names, MiddlewareFactoryPtr& contract, bool portals,
                 const std::string* serviceUrl) {
  config::Node node = options;
  if (!resolveDocumentPath(node, serviceUrl, context)) return false;
  if (const config::Node* list = node.find("operationSets")) {
    std::vector<OperationSetOptions> decoded;
    if (!decodeOption(*list, decoded, context)) return false;
    for (const OperationSetOptions& set : decoded) {
      OperationSet compiled;
      for (const OperationMatcher& m : set.matchers) {
        CompiledMatcher cm{m.path, m.pathPrefix, nullptr, m.methods};
        if (!m.pathRegex.empty()) {
          auto re = std::make_shared<re2::RE2>(m.pathRegex, re2::RE2::Quiet);
          if (!re->ok()) {
            context.error("openApiSpec.operationSets " + set.name + ": pathRegex: " + re->error());
            return false;
          }
          cm.pathRegex = std::move(re);
        }
        compiled.push_back(std::move(cm));
      }
      names.push_back(set.name);
      sets.push_back(std::move(compiled));
    }
    node.erase("operationSets");
  }
  bool anyOn = false;
  for (std::string_view key : {"validateRequestMethodAndPath", "validateRequestBodySchema"}) {
    const config::Node* v = node.find(key);
    if (!v) continue;
    bool on = false;
    if (!decodeOption(*v, on, context)) return false;
    anyOn = anyOn || on;
  }
  if (!anyOn) {
    // Nothing checks requests (Hub's default): a document given is not read now (the developer
    // portals read it for their documentation).
    if (!portals && (node.find("url") || node.find("file")))
      context.warning(config::ConfigError{node.location(), {},
                                          "openApiSpec: the document is not used: validateRequestMethodAndPath and "
                                          "validateRequestBodySchema are both off (Hub's default) and no developer "
                                          "portal shows it; operationSets apply either way",
                                          true, false});
    return true;
  }
  for (std::string_view key : {"validateRequestMethodAndPath", "validateRequestBodySchema"})
    if (!node.find(key)) node.set(std::string(key), config::Node::scalar("false"));
  contract = context.buildInner("openApiSpec", node);
  return contract != nullptr;
}

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> o = exchange::decodeOptions<Options>(node, context);
  if (!o) return nullptr;
  const config::ApiCatalog* catalog = context.apiCatalog();
  if (o->name.empty()) {
    context.error("name: required (the API this router publishes, from apiManagement.apis)");
    return nullptr;
  }
  auto c = std::make_shared<Compiled>();
  c->name = context.name();
  c->api = qualify(o->name, context.provider());
  auto api = catalog ? catalog->apis.find(c->api) : decltype(catalog->apis.end()){};
  if (!catalog || api == catalog->apis.end()) {
    context.error("name: API \"" + c->api + "\" does not exist in apiManagement.apis");
    return nullptr;
  }
  if (!api->second.ok) {
    context.error("name: API \"" + c->api + "\" has errors");
    return nullptr;
  }
  const auto& auth = catalog->apiAuths.at(catalog->defaultAuth.at(api->second.provider));
  if (!auth.ok || (!auth.element->value.apiKey && !auth.element->value.jwt)) {
    context.error("the default APIAuth of provider " + api->second.provider +
                  (auth.ok ? " uses ldap, which is not supported yet" : " has errors"));
    return nullptr;
  }
  if (const auto& jwt = auth.element->value.jwt) {
    c->jwt = jwtFor(*jwt, context, c->appIdClaim);
    if (!c->jwt) return nullptr;
  } else {
    const config::ApiKeySource& ks = auth.element->value.apiKey->keySource;
    std::string scheme = ks.headerAuthScheme.value_or(iequals(ks.header, "Authorization") ? "Bearer" : "");
    c->source = {ks.header, scheme, ks.query, ks.cookie};
    if (!scheme.empty()) c->challenge = scheme + " realm=\"causeway\"";
  }

  // The document: the version's when the router publishes one, else the API's.
  const std::optional<config::Node>* spec = &api->second.element->value.openApiSpec;
  if (!o->version.empty()) {
    std::string version = qualify(o->version, context.provider());
    bool listed = false;
    for (const config::ApiRef& ref : api->second.element->value.versions)
      listed = listed || qualify(ref.name, api->second.provider) == version;
    if (!listed) {
      context.error("version: \"" + version + "\" is not one of API " + c->api + "'s versions");
      return nullptr;
    }
    const auto& entry = catalog->apiVersions.at(version);  // listed, so resolved by the build
    c->version = version;
    if (entry.element->value.openApiSpec) spec = &entry.element->value.openApiSpec;
  }
  // CORS: the version's policy when the router publishes one that has its own, else the API's;
  // as a headers middleware's accessControl* options.
  const std::optional<config::ApiCors>* cors = &api->second.element->value.cors;
  if (!c->version.empty() && catalog->apiVersions.at(c->version).element->value.cors)
    cors = &catalog->apiVersions.at(c->version).element->value.cors;
  if (*cors) {
    const config::ApiCors& p = **cors;
    config::Node h = config::Node::map();
    auto list = [](const std::vector<std::string>& items) {
      config::Node n = config::Node::list();
      for (const std::string& i : items) n.append(config::Node::scalar(i));
      return n;
    };
    h.set("accessControlAllowOriginList", list(p.allowOriginsList));
    h.set("accessControlAllowOriginListRegex", list(p.allowOriginListRegex));
    h.set("accessControlAllowMethods", list(p.allowMethodsList));
    h.set("accessControlAllowHeaders", list(p.allowHeadersList));
    h.set("accessControlExposeHeaders", list(p.exposeHeadersList));
    if (p.maxAge) h.set("accessControlMaxAge", config::Node::scalar(std::to_string(*p.maxAge)));
    h.set("addVaryHeader", config::Node::scalar(p.addVaryHeader ? "true" : "false"));
    h.set("accessControlAllowCredentials", config::Node::scalar(p.allowCredentials ? "true" : "false"));
    c->cors = context.buildInner("headers", h);
    if (!c->cors) return nullptr;
  }
  std::vector<std::string> setNames;
  if (*spec && !compileSpec(**spec, context, c->operationSets, setNames, c->contract, !catalog->apiPortals.empty(),
                           serviceUrlOf(*catalog, c->version.empty() ? c->api : c->version, c->api))) return nullptr;

  std::shared_ptr<RedisStore> store;
  std::string keyHead;  // Redis: the keys' prefix
  if (catalog->store) {
    ApiStoreOptions storeOptions;
    if (!decodeOption(*catalog->store, storeOptions, context)) return nullptr;
    if (!storeOptions.redis) {
      context.error(config::ConfigError{catalog->store->location(), "apiManagement.store",
                                        "store: expected redis: {endpoints: [...]}", false, false});
      return nullptr;
    }
    std::string error;
    store = RedisStore::make(*storeOptions.redis, context.workers(), error);
    if (!store) {
      context.error(config::ConfigError{catalog->store->location(), "apiManagement.store", error, false, false});
      return nullptr;
    }
    keyHead = storeOptions.keyPrefix.empty() ? "causeway:apim:" : storeOptions.keyPrefix;
  }

  // What `plan` grants to one subscription (`subscription`, of application `app`).
  auto grantFor = [store, keyHead, api = c->api](const std::string& planName, const config::ApiPlan& plan,
                                                 const std::string& subscription, const std::string& app,
                                                 const std::string& appId) {
    Grant g;
    g.plan = planName;
    g.appId = appId;
    auto limit = [&](const config::ApiPlanLimit& l, limits::TokenBudget::Kind kind) {
      Limit out;
      out.limit = l.limit;
      out.source = keyHead + planName + ":" + bucketSource(l.bucket, subscription, app, api);
      if (!store) out.local = planBudget(planName, kind, l);
      return out;
    };
    if (plan.rateLimit) g.rate = limit(*plan.rateLimit, limits::TokenBudget::Kind::Bucket);
    if (plan.quota) g.quota = limit(*plan.quota, limits::TokenBudget::Kind::Window);
    if (store) {
      // One key for both when they count in the same bucket; the key's hash keeps r* and q* apart.
      g.combined = g.rate && g.quota && plan.rateLimit->bucket == plan.quota->bucket;
      if (g.rate) {
        LimitSpec spec;
        spec.limit = plan.rateLimit->limit;
        spec.period = plan.rateLimit->period.value;
        spec.burst = plan.rateLimit->limit;
        if (g.combined) {
          spec.quotaLimit = plan.quota->limit;
          spec.quotaPeriod = plan.quota->period.value;
        } else {
          g.rate->source += ":rate";
        }
        g.rate->redis.emplace(spec, store);
      }
      if (g.quota && !g.combined) {
        LimitSpec spec;
        spec.rate = LimitSpec::Rate::None;
        spec.quotaLimit = plan.quota->limit;
        spec.quotaPeriod = plan.quota->period.value;
        g.quota->source += ":quota";
        g.quota->redis.emplace(spec, store);
      }
    }
    return g;
  };
  auto makeGrant = [&](const std::string& app, const std::string& subscription) {
    const auto& sub = catalog->managedSubscriptions.at(subscription);
    const auto& appEntry = catalog->managedApplications.at(app);
    std::string planName = qualify(sub.element->value.apiPlan->name, sub.provider);
    return grantFor(planName, catalog->apiPlans.at(planName).element->value, subscription, app,
                    appEntry.element->value.appIdOr(app));
  };
  // Each application's subscriptions to this API: the highest weight first, then by name.
  std::map<std::string, size_t> setIndex;
  for (size_t i = 0; i < c->operationSets.size(); ++i) setIndex[setNames[i]] = i;
  struct Pick {
    int64_t weight;
    std::string subscription;
    std::vector<size_t> sets;
    std::shared_ptr<const expr::claims::Expression> claims;
  };
  std::map<std::string, std::vector<Pick>> picks;  // application → its subscriptions covering the API
  for (const auto& [name, entry] : catalog->managedSubscriptions) {
    if (!entry.ok) continue;
    const config::ManagedSubscription& s = entry.element->value;
    if (!catalog->apisOf(s.apis, s.apiBundles, entry.provider).count(c->api)) continue;
    Pick pick{s.weight, name, {}, nullptr};
    if (!s.claims.empty()) {
      // Only a token's claims can satisfy it: with API keys, the subscription grants nothing.
      std::string error;
      std::optional<expr::claims::Expression> parsed = expr::claims::parse(s.claims, error);
      if (!parsed) {
        context.warning(config::ConfigError{entry.element->location, {},
                                            "subscription " + name + ": claims: " + error +
                                                "; the subscription grants nothing until it is fixed",
                                            true, false});
        continue;
      }
      if (c->appIdClaim.empty())
        context.warning(config::ConfigError{entry.element->location, {},
                                            "subscription " + name + " has claims, which only a JWT APIAuth's tokens "
                                            "carry: with API keys it grants nothing",
                                            true, false});
      pick.claims = std::make_shared<const expr::claims::Expression>(std::move(*parsed));
    }
    if (s.operationFilter) {
      for (const std::string& set : s.operationFilter->include) {
        auto it = setIndex.find(set);
        if (it != setIndex.end()) pick.sets.push_back(it->second);
        else
          context.warning(config::ConfigError{{}, {}, "subscription " + name + " includes operation set \"" + set +
                                                  "\", which API " + c->api + " does not define: it covers none of its operations there",
                                              true, false});
      }
      if (pick.sets.empty()) continue;  // covers nothing of this API
    }
    for (const config::ApiRef& ref : s.managedApplications) picks[qualify(ref.name, entry.provider)].push_back(pick);
  }
  std::map<std::string, size_t> appIndex;  // application → index in candidates
  for (auto& [app, list] : picks) {
    std::stable_sort(list.begin(), list.end(), [](const Pick& a, const Pick& b) { return a.weight > b.weight; });
    appIndex[app] = c->candidates.size();
    auto& out = c->candidates.emplace_back();
    for (const Pick& pick : list) {
      out.push_back({c->grants.size(), pick.sets, pick.claims});
      c->grants.push_back(makeGrant(app, pick.subscription));
    }
  }

  // Developer portals: the catalog items that offer this API with a plan.
  if (!catalog->apiPortals.empty()) {
    std::string error;
    c->portal = PortalStore::shared(catalog->store, context.workers(), error);
    if (!c->portal) {
      context.error(config::ConfigError{catalog->store ? catalog->store->location() : config::Location{},
                                        "apiManagement.store", error, false, false});
      return nullptr;
    }
    std::map<std::string, config::ApiPlan> plans;
    for (const auto& [name, entry] : catalog->apiCatalogItems) {
      const config::ApiCatalogItem& item = entry.element->value;
      if (!entry.ok || !item.apiPlan) continue;
      if (!catalog->apisOf(item.apis, item.apiBundles, entry.provider).count(c->api)) continue;
      Compiled::Offer offer{qualify(item.apiPlan->name, entry.provider), {}};
      if (item.operationFilter) {
        for (const std::string& set : item.operationFilter->include)
          if (auto it = setIndex.find(set); it != setIndex.end()) offer.sets.push_back(it->second);
        if (offer.sets.empty()) continue;  // covers nothing of this API
      }
      plans.emplace(offer.plan, catalog->apiPlans.at(offer.plan).element->value);
      c->offers.emplace(name, std::move(offer));
    }
    c->makeGrant = [grantFor, plans](const std::string& plan, const std::string& subscription, const std::string& app,
                                     const std::string& appId) {
      return grantFor(plan, plans.at(plan), subscription, app, appId);
    };
  }

  // Every key of every application, subscribed or not (to tell 403 from 401).
  for (const auto& [app, entry] : catalog->managedApplications) {
    if (!entry.ok) continue;
    const config::ManagedApplication& a = entry.element->value;
    std::string appId = a.appIdOr(app);
    auto index = appIndex.find(app);
    size_t at = index == appIndex.end() ? SIZE_MAX : index->second;
    Key byApp{at, appId, a.suspended};
    if (!c->byAppId.emplace(appId, byApp).second && !c->appIdClaim.empty()) {
      context.error("application " + app + ": another application has appId " + appId +
                    "; the token's " + c->appIdClaim + " must name one application");
      return nullptr;
    }
    for (size_t i = 0; i < a.apiKeys.size(); ++i) {
      const config::ManagedApiKey& k = a.apiKeys[i];
      std::string digest;
      if (!k.sha256.empty()) {
        digest = hexDecode(k.sha256).value_or(std::string());  // checked by the decoder
      } else {
        std::string error;
        std::optional<std::string> value = secretOption(k.value, error);
        if (!value || value->empty()) {
          // One application's unreadable key must not take every API down: that key is left out.
          context.warning(config::ConfigError{{}, {}, "application " + app + ", apiKeys[" + std::to_string(i) +
                                                          "]: " + (value ? "the key is empty" : error) +
                                                          "; the key is not accepted",
                                              true, false});
          continue;
        }
        digest = sha256Bytes(*value);
      }
      Key key{at, appId, a.suspended || k.suspended};
      auto [it, added] = c->keys.emplace(digest, key);
      if (!added && it->second.appId != appId) {
        context.error("application " + app + ", apiKeys[" + std::to_string(i) +
                      "]: the same key belongs to application " + it->second.appId + "; a key identifies one application");
        return nullptr;
      }
    }
  }
  return std::make_shared<ApiFactory>(std::shared_ptr<const Compiled>(std::move(c)));
}

const exchange::MiddlewareRegistration registration("api", create, "Api");

}  // namespace
}  // namespace causeway::gateway::api
