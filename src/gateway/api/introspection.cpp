// oAuthIntrospection: Traefik Hub's OAuth 2.0 token introspection middleware (RFC 7662;
// docs/api-gateway.md, "oAuthIntrospection"). The token comes from `tokenSource` (a header,
// with `headerAuthScheme`; a query parameter; a cookie) and is sent to the authorization
// server's introspection endpoint (`clientConfig.url`) as
//   POST token=<token>[&token_type_hint=<tokenTypeHint>]
// with `clientConfig.headers` (the gateway's own client authentication, usually
// `Authorization: Basic …`). An answer with `"active": true` (and an `exp` not passed) lets the
// request through; its members are the claims for `claims`, `forwardHeaders` and
// `usernameClaim`, and stay on the exchange for the middlewares after this one.
//
// Answers are cached per worker by the token's exact text (up to 4,096), active ones until their
// `exp` but at most `maxCacheSeconds` (60; 0: no cache), inactive ones for at most 10 s, so a
// revoked token stops working within `maxCacheSeconds`. Refusals: no token → 401 with a
// Bearer challenge; inactive → 401 error="invalid_token"; claims that do not hold → 403
// error="insufficient_scope"; the server unreachable or not answering 200 with JSON → 503.
#include <boost/json.hpp>
#include <map>
#include <unordered_map>

#include "core/log.h"
#include "core/strings.h"
#include "exchange/exchange.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "gateway/api/claims_use.h"
#include "gateway/api/credentials.h"
#include "gateway/api/http_client.h"
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

constexpr size_t kMaxToken = 16 << 10;
constexpr size_t kCacheEntries = 4096;
constexpr double kInactiveCache = 10;
constexpr std::string_view kRealm = "causeway";

struct IntrospectionClient {
  std::string url;
  std::map<std::string, std::string> headers;
  std::string tokenTypeHint;
  std::optional<config::ClientTls> tls;
  int timeoutSeconds = 5;
  int maxRetries = 3;
  static void describe(auto& self, auto& v) {
    v("url", self.url);
    v("headers", self.headers);
    v("tokenTypeHint", self.tokenTypeHint);
    v("tls", self.tls);
    v("timeoutSeconds", self.timeoutSeconds);
    v("maxRetries", self.maxRetries);
  }
};

struct Options {
  IntrospectionClient clientConfig;
  CredentialSource tokenSource;
  std::string claims;
  std::map<std::string, std::string> forwardHeaders;
  bool forwardAuthorization = false;
  std::string usernameClaim;
  int maxCacheSeconds = 60;
  static void describe(auto& self, auto& v) {
    v("clientConfig", self.clientConfig);
    v("tokenSource", self.tokenSource);
    v("claims", self.claims);
    v("forwardHeaders", self.forwardHeaders);
    v("forwardAuthorization", self.forwardAuthorization);
    v("usernameClaim", self.usernameClaim);
    v("maxCacheSeconds", self.maxCacheSeconds);
  }
};

struct Answer {
  bool active = false;
  json::value claims;
  ClaimOutcome outcome;
  double until = 0;  // cached until (seconds since the epoch)
};
using AnswerPtr = std::shared_ptr<const Answer>;

struct Compiled {
  std::string name;
  std::shared_ptr<const HttpClient> client;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string tokenTypeHint;
  CredentialSource source;
  ClaimUse use;
  bool forwardAuthorization = false;
  double maxCache = 60;
  mutable std::vector<std::unordered_map<std::string, AnswerPtr, TokenTextHash, std::equal_to<>>>
      caches;
  ThrottledWarning outage;
};

class Introspection final : public Handler {
 public:
  Introspection(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext&)
      : c_(std::move(c)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    const Compiled& c = *c_;
    FoundCredential found = findCredential(ex, c.source);
    if (found.value.empty()) {
      refuse(ex, 401, bearerChallenge(kRealm, {}, {}), "no token");
      co_return;
    }
    if (found.value.size() > kMaxToken) {
      refuse(ex, 401, bearerChallenge(kRealm, "invalid_token", "the token is too large"),
             "token too large");
      co_return;
    }
    double now = epochSeconds();
    auto& cache = c.caches[ex.worker.index() % c.caches.size()];
    AnswerPtr answer;
    if (auto it = cache.find(found.value); it != cache.end() && now < it->second->until)
      answer = it->second;
    if (!answer) {
      std::string error;
      answer = co_await introspect(ex, found.value, now, error);
      if (!answer) {
        warn(error);
        refuse(ex, 503, {}, "token introspection unavailable");
        co_return;
      }
      if (c.maxCache > 0) {
        if (cache.size() >= kCacheEntries) cache.clear();
        cache[found.value] = answer;
      }
    }
    const json::value* exp =
        answer->active ? answer->claims.get_object().if_contains("exp") : nullptr;
    if (!answer->active || (exp && exp->is_number() && exp->to_number<double>() <= now)) {
      refuse(ex, 401, bearerChallenge(kRealm, "invalid_token", "the token is not active"),
             "inactive token");
      co_return;
    }
    if (!answer->outcome.user.empty()) ex.record.user = ex.arena.copy(answer->outcome.user);
    if (!answer->outcome.claimsHold) {
      refuse(ex, 403,
             bearerChallenge(kRealm, "insufficient_scope",
                             "the token's claims do not allow this request"),
             "claims do not match");
      co_return;
    }
    c.use.apply(ex, answer->outcome);
    if (!c.forwardAuthorization) removeCredential(ex, c.source, found.in);
    ex.claims = &(*ex.arena.make<AnswerPtr>(answer))->claims;
    co_await next_->handle(ex);
  }

 private:
  awaitable<AnswerPtr> introspect(Exchange& ex, const std::string& token, double now,
                                  std::string& error) const {
    const Compiled& c = *c_;
    HttpCall call;
    call.method = "POST";
    call.headers = c.headers;
    call.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    call.headers.emplace_back("Accept", "application/json");
    std::string body = "token=" + http::queryEscape(token);
    if (!c.tokenTypeHint.empty()) body += "&token_type_hint=" + http::queryEscape(c.tokenTypeHint);
    call.body = body;
    HttpAnswer reply = co_await c.client->call(ex.worker, call, 256 << 10);
    if (reply.status != 200) {
      error = reply.status ? "status " + std::to_string(reply.status) : reply.error;
      co_return nullptr;
    }
    boost::system::error_code ec;
    json::parse_options opts;
    opts.max_depth = 32;
    json::value v = json::parse(reply.body, ec, {}, opts);
    const json::value* active =
        !ec && v.is_object() ? v.get_object().if_contains("active") : nullptr;
    if (!active || !active->is_bool()) {
      error = "the answer is not an introspection response (no boolean `active`)";
      co_return nullptr;
    }
    auto a = std::make_shared<Answer>();
    a->active = active->get_bool();
    double until = now + (a->active ? c.maxCache : std::min(c.maxCache, kInactiveCache));
    if (const json::value* exp = v.get_object().if_contains("exp");
        a->active && exp && exp->is_number())
      until = std::min(until, exp->to_number<double>());
    a->until = until;
    if (a->active) {
      a->claims = std::move(v);
      a->outcome = c.use.outcome(a->claims);
    }
    co_return a;
  }

  void warn(const std::string& error) const {
    if (!c_->outage.due()) return;
    log::warn("oAuthIntrospection: the introspection endpoint cannot be used",
              {{"middlewareName", c_->name}, {"url", c_->client->url()}, {"error", error}});
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
  if (o.clientConfig.url.empty()) {
    context.error("oAuthIntrospection: clientConfig.url (the introspection endpoint) is required");
    return nullptr;
  }
  if (o.tokenSource.empty()) {
    context.error("oAuthIntrospection: tokenSource needs at least one of header, query, cookie");
    return nullptr;
  }
  if (o.maxCacheSeconds < 0) {
    context.error("oAuthIntrospection: maxCacheSeconds must not be negative");
    return nullptr;
  }
  std::string error;
  ClientConfig client{o.clientConfig.tls, o.clientConfig.timeoutSeconds, o.clientConfig.maxRetries};
  c->client =
      HttpClient::make(o.clientConfig.url, client, context.name() + "#introspection", error);
  if (!c->client) {
    context.error("oAuthIntrospection: clientConfig: " + error);
    return nullptr;
  }
  for (const auto& [name, value] : o.clientConfig.headers) {
    auto resolved = secretOption(value, error);
    if (!resolved) {
      context.error("oAuthIntrospection: clientConfig.headers." + name + ": " + error);
      return nullptr;
    }
    c->headers.emplace_back(name, std::move(*resolved));
  }
  auto use = ClaimUse::make(o.claims, o.usernameClaim, o.forwardHeaders, error);
  if (!use) {
    context.error("oAuthIntrospection: " + error);
    return nullptr;
  }
  c->use = std::move(*use);
  c->tokenTypeHint = o.clientConfig.tokenTypeHint;
  c->source = o.tokenSource;
  c->forwardAuthorization = o.forwardAuthorization;
  c->maxCache = o.maxCacheSeconds;
  c->caches.resize(std::max(1u, context.workers()));
  return exchange::factoryOf<Introspection>(std::shared_ptr<const Compiled>(std::move(c)));
}

const exchange::MiddlewareRegistration registration("oAuthIntrospection", create,
                                                    "OAuthIntrospection");

}  // namespace
}  // namespace causeway::gateway::api
