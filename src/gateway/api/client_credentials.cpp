// oAuthClientCredentials: Traefik Hub's OAuth 2.0 client credentials middleware (RFC 6749 §4.4;
// docs/api-gateway.md, "oAuthClientCredentials"). The gateway gets an access token from the
// token endpoint (`url`) and sends the request on with `Authorization: Bearer <token>`:
//  - with `clientId`/`clientSecret` configured, for every request (the gateway calls the
//    upstream as itself: machine to machine);
//  - without them, with the client's own credentials from its `Authorization: Basic` header
//    (Hub's form: the client authenticates with its id and secret, the upstream sees a token);
//    a request without them gets 401 `WWW-Authenticate: Basic realm="causeway"`, and
//    credentials the token endpoint refuses get 401 too.
// The token request is `grant_type=client_credentials` with `scope` (the `scopes`, space
// separated), `audience` and `resource` (RFC 8707) when set, the client authenticated with HTTP
// Basic. Tokens are cached per worker and credentials (by a SHA-256 of them, never in clear)
// until 30 s before `expires_in` (5 min when the answer has none). With `store.redis`, a token
// one instance fetched is shared with every instance using the store: kept there under
// `store.keyPrefix` + the credentials' digest, AES-GCM sealed with `store.secret` (16, 24 or
// 32 characters), expiring with the token; a store that cannot be reached only costs a fetch
// from the token endpoint. `claims`, `forwardHeaders`
// and `usernameClaim` read the token's claims when it is a JWT (decoded, not verified: it comes
// straight from the token endpoint), else `client_id` and `scope`.
//
// oAuthTokenExchange (a causeway middleware, RFC 8693) is the same machinery with another grant:
// the caller's bearer token (left on the request by `jwt` with `forwardAuthorization`) is the
// `subject_token` the gateway, authenticated as `clientId`, exchanges for a token meant for the
// upstream (`audience`, `resource`, `scopes`): the upstream acts on the caller's behalf without
// ever seeing the caller's token (the confused-deputy rule of the MCP authorization spec).
// Exchanged tokens are cached by a digest of the subject token, never beyond its `exp`; the
// authorization server refusing the subject token (400) gives 401 invalid_token.
#include <boost/json.hpp>
#include <unordered_map>

#include "core/bytes.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/exchange.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "gateway/api/claims_use.h"
#include "gateway/api/credentials.h"
#include "gateway/api/http_client.h"
#include "gateway/api/redis_store.h"
#include "gateway/mcp/session_token.h"
#include "http/uri.h"
#include "middleware/auth/credentials.h"

namespace causeway::gateway::api {
namespace {

namespace json = boost::json;
namespace resp = clients::redis::resp;
using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

constexpr size_t kCacheEntries = 1024;

constexpr const char* kAccessTokenTypeText = "urn:ietf:params:oauth:token-type:access_token";

struct StoreOptions {
  std::optional<RedisStoreOptions> redis;
  std::string secret;
  std::string keyPrefix;
  static void describe(auto& self, auto& v) {
    v("redis", self.redis);
    v("secret", self.secret);
    v("keyPrefix", self.keyPrefix);
  }
};

struct Options {
  std::string url;
  std::string clientId;
  std::string clientSecret;
  std::string audience;
  std::string resource;
  std::vector<std::string> scopes;
  std::string claims;
  std::map<std::string, std::string> forwardHeaders;
  std::string usernameClaim;
  ClientConfig clientConfig;
  std::optional<StoreOptions> store;
  static void describe(auto& self, auto& v) {
    v("url", self.url);
    v("clientId", self.clientId);
    v("clientSecret", self.clientSecret);
    v("audience", self.audience);
    v("resource", self.resource);
    v("scopes", self.scopes);
    v("claims", self.claims);
    v("forwardHeaders", self.forwardHeaders);
    v("usernameClaim", self.usernameClaim);
    v("clientConfig", self.clientConfig);
    v("store", self.store);
  }
};

struct ExchangeOptions : Options {
  std::string subjectTokenType{kAccessTokenTypeText};
  std::string requestedTokenType;
  static void describe(auto& self, auto& v) {
    Options::describe(self, v);
    v("subjectTokenType", self.subjectTokenType);
    v("requestedTokenType", self.requestedTokenType);
  }
};

struct Token {
  std::string authorization;  // "Bearer …"
  json::value claims;
  ClaimOutcome outcome;
  std::chrono::steady_clock::time_point until;
  double expires = 0;  // the same, in seconds since the epoch (for the store)
};
using TokenPtr = std::shared_ptr<const Token>;

constexpr std::string_view kExchangeGrant = "urn:ietf:params:oauth:grant-type:token-exchange";

struct Compiled {
  std::string name;
  std::string kind;  // "oAuthClientCredentials" or "oAuthTokenExchange", for messages
  bool exchange = false;
  std::string exchangeForm;  // "&subject_token_type=…[&requested_token_type=…]"
  std::shared_ptr<const HttpClient> client;
  std::string clientId, clientSecret;
  std::string extraForm;  // "&scope=…&audience=…&resource=…"
  ClaimUse use;
  mutable std::vector<std::unordered_map<std::string, TokenPtr>>
      caches;  // per worker, by credentials digest
  std::shared_ptr<const RedisStore> store;
  std::string keyPrefix;
  mcp::SessionSealer sealer{""};
  ThrottledWarning storeOutage;
};

std::string digest(std::string_view id, std::string_view secret) {
  return sha256Bytes(std::string(id) + '\0' + std::string(secret));
}

// The payload of a JWT, or null when the token is not one.
json::value jwtPayload(std::string_view token) {
  size_t a = token.find('.');
  size_t b = a == std::string_view::npos ? a : token.find('.', a + 1);
  if (b == std::string_view::npos) return nullptr;
  std::string payload;
  if (!base64UrlDecode(token.substr(a + 1, b - a - 1), payload)) return nullptr;
  boost::system::error_code ec;
  json::parse_options opts;
  opts.max_depth = 32;
  json::value v = json::parse(payload, ec, {}, opts);
  return !ec && v.is_object() ? v : json::value(nullptr);
}

class ClientCredentials final : public Handler {
 public:
  ClientCredentials(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext&)
      : c_(std::move(c)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    const Compiled& c = *c_;
    std::string id = c.clientId, secret = c.clientSecret;
    bool fromRequest = id.empty();
    std::string subject;
    if (c.exchange) {
      auto bearer = ex.request.headers.count("Authorization") == 1
                        ? schemeCredential(ex, "Bearer")
                        : std::optional<std::string_view>();
      if (!bearer || bearer->empty()) {
        refuse(ex, 401, bearerChallenge("causeway", {}, {}), "no token to exchange");
        co_return;
      }
      subject = std::string(*bearer);
    } else if (fromRequest &&
        (ex.request.headers.count("Authorization") != 1 ||
         !middleware::parseBasicAuth(ex.request.headers.get("Authorization"), id, secret) ||
         id.empty())) {
      refuse(ex, 401, "Basic realm=\"causeway\"", "no client credentials");
      co_return;
    }
    auto& cache = c.caches[ex.worker.index() % c.caches.size()];
    std::string key = c.exchange ? digest(kExchangeGrant, subject) : digest(id, secret);
    TokenPtr token;
    if (auto it = cache.find(key);
        it != cache.end() && std::chrono::steady_clock::now() < it->second->until)
      token = it->second;
    if (!token && c.store) token = co_await stored(ex, key);
    if (!token) {
      int status = 0;
      std::string error;
      token = co_await fetch(ex, id, secret, subject, status, error);
      if (!token) {
        bool refused = status == 400 || status == 401;
        log::warn(c.kind + ": no token from the token endpoint",
                  {{"middlewareName", c.name}, {"clientId", id}, {"error", error}});
        if (c.exchange && status == 400)
          refuse(ex, 401,
                 bearerChallenge("causeway", "invalid_token",
                                 "the authorization server refused to exchange the token"),
                 "token exchange refused");
        else if (fromRequest && refused)
          refuse(ex, 401, "Basic realm=\"causeway\"", "client credentials refused");
        else
          refuse(ex, 503, {}, "token endpoint unavailable");
        co_return;
      }
      if (c.store) co_await keep(ex, key, *token);
    }
    if (cache.size() >= kCacheEntries) cache.clear();
    cache[key] = token;
    if (!token->outcome.user.empty()) ex.record.user = ex.arena.copy(token->outcome.user);
    if (!token->outcome.claimsHold) {
      refuse(ex, 403, {}, "claims do not match");
      co_return;
    }
    c.use.apply(ex, token->outcome);
    ex.request.headers.remove("Authorization");
    ex.request.headers.add("Authorization", ex.arena.copy(token->authorization));
    ex.claims = &(*ex.arena.make<TokenPtr>(token))->claims;
    co_await next_->handle(ex);
  }

 private:
  // A token from the token endpoint: the client credentials grant, or with `subject` the token
  // exchange grant.
  awaitable<TokenPtr> fetch(Exchange& ex, const std::string& id, const std::string& secret,
                            const std::string& subject, int& status, std::string& error) const {
    const Compiled& c = *c_;
    HttpCall call;
    call.method = "POST";
    call.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    call.headers.emplace_back("Accept", "application/json");
    // RFC 6749 §2.3.1: the id and secret form-encoded, then Basic.
    call.headers.emplace_back("Authorization", "Basic " + base64Encode(http::queryEscape(id) + ":" +
                                                                       http::queryEscape(secret)));
    std::string body = c.exchange ? "grant_type=" + http::queryEscape(kExchangeGrant) +
                                        "&subject_token=" + http::queryEscape(subject) +
                                        c.exchangeForm + c.extraForm
                                  : "grant_type=client_credentials" + c.extraForm;
    call.body = body;
    HttpAnswer reply = co_await c.client->call(ex.worker, call, 256 << 10);
    status = reply.status;
    if (reply.status != 200) {
      error = reply.status ? "status " + std::to_string(reply.status) : reply.error;
      co_return nullptr;
    }
    boost::system::error_code ec;
    json::value v = json::parse(reply.body, ec);
    const json::value* access =
        !ec && v.is_object() ? v.get_object().if_contains("access_token") : nullptr;
    if (!access || !access->is_string() || access->get_string().empty()) {
      error = "the answer has no access_token";
      co_return nullptr;
    }
    auto t = std::make_shared<Token>();
    std::string_view text = access->get_string();
    t->authorization = "Bearer " + std::string(text);
    double lifetime = 300;
    if (const json::value* e = v.get_object().if_contains("expires_in"); e && e->is_number())
      lifetime = e->to_number<double>();
    json::value subjectClaims = c.exchange ? jwtPayload(subject) : json::value();
    // An exchanged token is never kept beyond the subject token's own expiry.
    if (double exp = numberMember(subjectClaims, "exp"); exp > 0)
      lifetime = std::min(lifetime, exp - epochSeconds() + 30);
    t->until = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(int64_t(std::max(0.0, lifetime - 30) * 1000));
    t->expires = epochSeconds() + std::max(0.0, lifetime - 30);
    t->claims = jwtPayload(text);
    if (t->claims.is_null()) t->claims = std::move(subjectClaims);
    if (t->claims.is_null()) {
      json::object o{{"client_id", id}};
      if (const json::value* s = v.get_object().if_contains("scope")) o["scope"] = *s;
      t->claims = std::move(o);
    }
    t->outcome = c.use.outcome(t->claims);
    co_return t;
  }

  std::string storeKey(const std::string& digest) const {
    return c_->keyPrefix + hexEncode(digest);
  }

  // The token another instance (or this one) kept in the store, if it is still good.
  awaitable<TokenPtr> stored(Exchange& ex, const std::string& digest) const {
    const Compiled& c = *c_;
    std::vector<std::string> get{"GET", storeKey(digest)};
    resp::Value reply;
    std::string error;
    if (!co_await c.store->command(ex.worker, std::move(get), reply, error) || reply.isError()) {
      storeFailed(error.empty() ? reply.text : error);
      co_return nullptr;
    }
    if (reply.type != resp::Value::Type::Bulk) co_return nullptr;
    std::optional<std::string> plain = c.sealer.openText(reply.text);
    boost::system::error_code ec;
    json::value v = plain ? json::parse(*plain, ec) : json::value();
    if (!plain || ec || !v.is_object()) co_return nullptr;  // sealed with another secret
    double left = numberMember(v, "expires") - epochSeconds();
    const json::value* authorization = v.get_object().if_contains("authorization");
    const json::value* claims = v.get_object().if_contains("claims");
    if (left <= 0 || !authorization || !authorization->is_string() || !claims) co_return nullptr;
    auto t = std::make_shared<Token>();
    t->authorization = authorization->get_string();
    t->claims = *claims;
    t->expires = numberMember(v, "expires");
    t->until = std::chrono::steady_clock::now() + std::chrono::milliseconds(int64_t(left * 1000));
    t->outcome = c.use.outcome(t->claims);
    co_return t;
  }

  awaitable<void> keep(Exchange& ex, const std::string& digest, const Token& t) const {
    const Compiled& c = *c_;
    int64_t ttl = int64_t((t.expires - epochSeconds()) * 1000);
    if (ttl <= 0) co_return;
    json::object v{{"authorization", t.authorization}, {"claims", t.claims}, {"expires", t.expires}};
    std::vector<std::string> set{"SET", storeKey(digest), c.sealer.sealText(json::serialize(v)),
                                 "PX", std::to_string(ttl)};
    resp::Value reply;
    std::string error;
    if (!co_await c.store->command(ex.worker, std::move(set), reply, error) || reply.isError())
      storeFailed(error.empty() ? reply.text : error);
  }

  void storeFailed(const std::string& error) const {
    if (!c_->storeOutage.due()) return;  // an outage must not flood the log
    log::warn(c_->kind + ": the token store cannot be used; fetching tokens instead",
              {{"middlewareName", c_->name}, {"error", error}});
  }

  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
};

template <class O> MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<O> decoded = exchange::decodeOptions<O>(node, context);
  if (!decoded) return nullptr;
  O& o = *decoded;
  auto c = std::make_shared<Compiled>();
  c->name = context.name();
  constexpr bool exchanging = std::is_same_v<O, ExchangeOptions>;
  c->exchange = exchanging;
  c->kind = exchanging ? "oAuthTokenExchange" : "oAuthClientCredentials";
  const std::string& kind = c->kind;
  if (o.url.empty()) {
    context.error(kind + ": url (the token endpoint) is required");
    return nullptr;
  }
  if (o.clientId.empty() != o.clientSecret.empty()) {
    context.error(kind + ": clientId and clientSecret go together (or neither, to use the client's)");
    return nullptr;
  }
  if constexpr (exchanging) {
    if (o.clientId.empty()) {
      context.error(kind + ": clientId and clientSecret (the gateway's client) are required");
      return nullptr;
    }
    if (o.subjectTokenType.empty()) {
      context.error(kind + ": subjectTokenType must not be empty");
      return nullptr;
    }
    c->exchangeForm = "&subject_token_type=" + http::queryEscape(o.subjectTokenType);
    if (!o.requestedTokenType.empty())
      c->exchangeForm += "&requested_token_type=" + http::queryEscape(o.requestedTokenType);
  }
  std::string error;
  c->client = HttpClient::make(o.url, o.clientConfig, context.name() + "#token", error);
  if (!c->client) {
    context.error(kind + ": url: " + error);
    return nullptr;
  }
  c->clientId = o.clientId;
  auto secret = secretOption(o.clientSecret, error);
  if (!secret) {
    context.error(kind + ": clientSecret: " + error);
    return nullptr;
  }
  c->clientSecret = std::move(*secret);
  std::string scopes;
  for (const std::string& s : o.scopes)
    scopes += (scopes.empty() ? "" : " ") + s;
  if (!scopes.empty()) c->extraForm += "&scope=" + http::queryEscape(scopes);
  if (!o.audience.empty()) c->extraForm += "&audience=" + http::queryEscape(o.audience);
  if (!o.resource.empty()) c->extraForm += "&resource=" + http::queryEscape(o.resource);
  auto use = ClaimUse::make(o.claims, o.usernameClaim, o.forwardHeaders, error);
  if (!use) {
    context.error(kind + ": " + error);
    return nullptr;
  }
  c->use = std::move(*use);
  c->caches.resize(std::max(1u, context.workers()));
  if (o.store && o.store->redis) {
    c->store = RedisStore::make(*o.store->redis, context.workers(), error);
    if (!c->store) {
      context.error(kind + ": " + error);
      return nullptr;
    }
    auto storeSecret = secretOption(o.store->secret, error);
    if (!storeSecret) {
      context.error(kind + ": store.secret: " + error);
      return nullptr;
    }
    size_t n = storeSecret->size();
    if (n != 16 && n != 24 && n != 32) {
      context.error(kind + ": store.secret must be 16, 24 or 32 characters (it "
                    "encrypts the tokens kept in Redis), not " +
                    std::to_string(n));
      return nullptr;
    }
    c->sealer = mcp::SessionSealer(*storeSecret);
    c->keyPrefix = o.store->keyPrefix.empty() ? (exchanging ? "causeway:ote:" : "causeway:occ:") + context.name() + ":"
                                              : o.store->keyPrefix;
  } else if (o.store) {
    context.error(kind + ": store needs store.redis");
    return nullptr;
  }
  return exchange::factoryOf<ClientCredentials>(std::shared_ptr<const Compiled>(std::move(c)));
}

const exchange::MiddlewareRegistration registration("oAuthClientCredentials", create<Options>,
                                                    "OAuthClientCredentials");
const exchange::MiddlewareRegistration exchangeRegistration("oAuthTokenExchange",
                                                            create<ExchangeOptions>,
                                                            "OAuthTokenExchange");

}  // namespace
}  // namespace causeway::gateway::api
