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
// until 30 s before `expires_in` (5 min when the answer has none). `claims`, `forwardHeaders`
// and `usernameClaim` read the token's claims when it is a JWT (decoded, not verified: it comes
// straight from the token endpoint), else `client_id` and `scope`.
#include <openssl/sha.h>

#include <boost/json.hpp>
#include <unordered_map>

#include "config/redis_options.h"
#include "core/bytes.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/exchange.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "gateway/api/claims_use.h"
#include "gateway/api/credentials.h"
#include "gateway/api/http_client.h"
#include "http/uri.h"
#include "middleware/auth/credentials.h"

namespace causeway::gateway::api {
namespace {

namespace json = boost::json;
using exchange::Exchange;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

constexpr size_t kCacheEntries = 1024;

struct StoreOptions {
  std::optional<config::RedisOptions> redis;
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
    v("store", self.store,
      config::NotYet{"tokens are cached in memory by each worker, not shared through Redis"});
  }
};

struct Token {
  std::string authorization;  // "Bearer …"
  json::value claims;
  ClaimOutcome outcome;
  std::chrono::steady_clock::time_point until;
};
using TokenPtr = std::shared_ptr<const Token>;

struct Compiled {
  std::string name;
  std::shared_ptr<const HttpClient> client;
  std::string clientId, clientSecret;
  std::string extraForm;  // "&scope=…&audience=…&resource=…"
  ClaimUse use;
  mutable std::vector<std::unordered_map<std::string, TokenPtr>>
      caches;  // per worker, by credentials digest
};

std::string digest(std::string_view id, std::string_view secret) {
  std::string both = std::string(id) + '\0' + std::string(secret);
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(both.data()), both.size(), out);
  return std::string(reinterpret_cast<char*>(out), sizeof out);
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
    if (fromRequest &&
        (ex.request.headers.count("Authorization") != 1 ||
         !middleware::parseBasicAuth(ex.request.headers.get("Authorization"), id, secret) ||
         id.empty())) {
      refuse(ex, 401, "Basic realm=\"causeway\"", "no client credentials");
      co_return;
    }
    auto& cache = c.caches[ex.worker.index() % c.caches.size()];
    std::string key = digest(id, secret);
    TokenPtr token;
    if (auto it = cache.find(key);
        it != cache.end() && std::chrono::steady_clock::now() < it->second->until)
      token = it->second;
    if (!token) {
      int status = 0;
      std::string error;
      token = co_await fetch(ex, id, secret, status, error);
      if (!token) {
        bool refused = status == 400 || status == 401;
        log::warn("oAuthClientCredentials: no token from the token endpoint",
                  {{"middlewareName", c.name}, {"clientId", id}, {"error", error}});
        if (fromRequest && refused)
          refuse(ex, 401, "Basic realm=\"causeway\"", "client credentials refused");
        else
          refuse(ex, 503, {}, "token endpoint unavailable");
        co_return;
      }
      if (cache.size() >= kCacheEntries) cache.clear();
      cache[key] = token;
    }
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
  awaitable<TokenPtr> fetch(Exchange& ex, const std::string& id, const std::string& secret,
                            int& status, std::string& error) const {
    const Compiled& c = *c_;
    HttpCall call;
    call.method = "POST";
    call.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    call.headers.emplace_back("Accept", "application/json");
    // RFC 6749 §2.3.1: the id and secret form-encoded, then Basic.
    call.headers.emplace_back("Authorization", "Basic " + base64Encode(http::queryEscape(id) + ":" +
                                                                       http::queryEscape(secret)));
    std::string body = "grant_type=client_credentials" + c.extraForm;
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
    t->until = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(int64_t(std::max(0.0, lifetime - 30) * 1000));
    t->claims = jwtPayload(text);
    if (t->claims.is_null()) {
      json::object o{{"client_id", id}};
      if (const json::value* s = v.get_object().if_contains("scope")) o["scope"] = *s;
      t->claims = std::move(o);
    }
    t->outcome = c.use.outcome(t->claims);
    co_return t;
  }

  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
};

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = exchange::decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& o = *decoded;
  auto c = std::make_shared<Compiled>();
  c->name = context.name();
  if (o.url.empty()) {
    context.error("oAuthClientCredentials: url (the token endpoint) is required");
    return nullptr;
  }
  if (o.clientId.empty() != o.clientSecret.empty()) {
    context.error("oAuthClientCredentials: clientId and clientSecret go together (or neither, to "
                  "use the client's)");
    return nullptr;
  }
  std::string error;
  c->client = HttpClient::make(o.url, o.clientConfig, context.name() + "#token", error);
  if (!c->client) {
    context.error("oAuthClientCredentials: url: " + error);
    return nullptr;
  }
  c->clientId = o.clientId;
  auto secret = secretOption(o.clientSecret, error);
  if (!secret) {
    context.error("oAuthClientCredentials: clientSecret: " + error);
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
    context.error("oAuthClientCredentials: " + error);
    return nullptr;
  }
  c->use = std::move(*use);
  c->caches.resize(std::max(1u, context.workers()));
  return exchange::factoryOf<ClientCredentials>(std::shared_ptr<const Compiled>(std::move(c)));
}

const exchange::MiddlewareRegistration registration("oAuthClientCredentials", create,
                                                    "OAuthClientCredentials");

}  // namespace
}  // namespace causeway::gateway::api
