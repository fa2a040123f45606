// jwt: Traefik Hub's JWT middleware (docs/api-gateway.md, "jwt"). The request must carry a
// signed JWT: `Authorization: Bearer <token>` first, else the query parameter or form field
// named by `tokenKey`. It is checked against exactly one key source — `signingSecret`,
// `publicKey`, `jwksFile`, `jwksUrl` — or, causeway's form of Hub's multiple identity providers,
// `trustedIssuers` (each `issuer` with its own `jwksUrl`; the token's `iss` picks the set).
// Then `exp`, `nbf` and `iat` (when present, within `clockSkewSeconds`), the token's `aud`
// against `audiences` (when set), and the `claims` expression.
//
// Answers: no token → 401 `WWW-Authenticate: Bearer realm="causeway"`; a token that does not
// check → 401 with error="invalid_token" and a short reason (never the token); claims that do
// not hold → 403 with error="insufficient_scope". On success the token leaves the request
// (header, query parameter or form field) unless `forwardAuthorization`, the headers of
// `forwardHeaders` are set from claims (any such header the client sent is removed first),
// `usernameClaim` names the access log's user, and the claims stay on the exchange for the
// middlewares after this one (the mcp policies).
//
// As an OAuth 2.0 protected resource (RFC 9728; what the MCP authorization spec asks of an MCP
// server), with `resourceMetadata` the middleware also serves its metadata document at the
// well-known URL derived from `resource` (`/.well-known/oauth-protected-resource` + the
// resource's path), names that URL in every challenge (`resource_metadata="…"`), checks the
// token's audience against `resource` unless `audiences` says otherwise (RFC 8707), and with
// `requiredScopes` answers a token without them 403 error="insufficient_scope" with `scope`.
//
// Checking a signature costs tens of microseconds (ES256, RS256); the same token comes back
// many times, so each worker keeps the tokens it verified (up to 4096, by their exact text):
// a known token costs a lookup and the time checks. An entry is checked again when its key
// set changed since (a rotated-out key no longer verifies).
#include <boost/json.hpp>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#include "core/bytes.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/body.h"
#include "exchange/exchange.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "expr/claims.h"
#include "gateway/api/claims_use.h"
#include "gateway/api/credentials.h"
#include "gateway/api/jwks.h"

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
constexpr std::string_view kRealm = "causeway";

struct TrustedIssuer {
  std::string issuer;
  std::string jwksUrl;
  static void describe(auto& self, auto& v) {
    v("issuer", self.issuer);
    v("jwksUrl", self.jwksUrl);
  }
};

struct ResourceMetadataOptions {
  std::string resource;
  std::vector<std::string> authorizationServers;
  std::vector<std::string> scopesSupported;
  std::string resourceName;
  std::string resourceDocumentation;
  static void describe(auto& self, auto& v) {
    v("resource", self.resource);
    v("authorizationServers", self.authorizationServers);
    v("scopesSupported", self.scopesSupported);
    v("resourceName", self.resourceName);
    v("resourceDocumentation", self.resourceDocumentation);
  }
};

struct Options {
  std::string signingSecret;
  bool signingSecretBase64Encoded = false;
  std::string publicKey;
  std::string jwksFile;
  std::string jwksUrl;
  std::vector<TrustedIssuer> trustedIssuers;
  bool forwardAuthorization = false;
  std::string tokenKey;
  std::string claims;
  std::string usernameClaim;
  std::map<std::string, std::string> forwardHeaders;
  ClientConfig clientConfig;
  std::vector<std::string> audiences;
  int clockSkewSeconds = 60;
  int jwksMinRefreshSeconds = 30;
  std::vector<std::string> requiredScopes;
  std::optional<ResourceMetadataOptions> resourceMetadata;

  static void describe(auto& self, auto& v) {
    v("signingSecret", self.signingSecret);
    v("signingSecretBase64Encoded", self.signingSecretBase64Encoded);
    v("publicKey", self.publicKey);
    v("jwksFile", self.jwksFile);
    v("jwksUrl", self.jwksUrl);
    v("trustedIssuers", self.trustedIssuers);
    v("forwardAuthorization", self.forwardAuthorization);
    v("tokenKey", self.tokenKey);
    v("claims", self.claims);
    v("usernameClaim", self.usernameClaim);
    v("forwardHeaders", self.forwardHeaders);
    v("clientConfig", self.clientConfig);
    v("audiences", self.audiences);
    v("clockSkewSeconds", self.clockSkewSeconds);
    v("jwksMinRefreshSeconds", self.jwksMinRefreshSeconds);
    v("requiredScopes", self.requiredScopes);
    v("resourceMetadata", self.resourceMetadata);
  }
};

// A verified token: everything the request path needs, worked out once.
struct Verified {
  json::value claims;
  std::optional<double> exp, nbf, iat;
  ClaimOutcome outcome;
  bool scopesHold = true;                // the token carries every one of requiredScopes
  const RemoteKeySet* keySet = nullptr;  // whose generation the verification used
  uint64_t generation = 0;
};
using VerifiedPtr = std::shared_ptr<const Verified>;

struct WorkerCache {
  std::unordered_map<std::string, VerifiedPtr, TokenTextHash, std::equal_to<>> entries;
};

struct Issuer {
  std::string issuer;  // empty: any (jwksUrl)
  std::shared_ptr<RemoteKeySet> keys;
};

struct Compiled {
  std::string name;
  KeyList staticKeys;           // signingSecret, publicKey, jwksFile
  std::vector<Issuer> issuers;  // jwksUrl, trustedIssuers
  bool forwardAuthorization = false;
  std::string tokenKey;
  ClaimUse use;
  std::vector<std::string> audiences;
  double skew = 60;
  std::vector<std::string> requiredScopes;
  std::string metadataPath;      // with resourceMetadata: where its document is served
  std::string metadataDocument;  // the document (JSON)
  std::string challengeExtra;    // `, scope="…", resource_metadata="…"` for every challenge
  mutable std::vector<WorkerCache> caches;  // one per worker
};

std::string_view stringClaim(const json::value& claims, std::string_view name) {
  const json::value* v = claims.is_object() ? claims.get_object().if_contains(name) : nullptr;
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

// exp, nbf, iat: numbers when present.
bool readTimes(const json::value& claims, Verified& v, std::string& error) {
  for (auto [name, slot] :
       {std::pair{"exp", &v.exp}, std::pair{"nbf", &v.nbf}, std::pair{"iat", &v.iat}}) {
    const json::value* t = claims.get_object().if_contains(name);
    if (!t) continue;
    if (!t->is_number()) {
      error = std::string("the ") + name + " claim is not a number";
      return false;
    }
    *slot = t->to_number<double>();
  }
  return true;
}

// The token's scopes (`scope`, space-separated, or `scp`, a list or a string) hold every one of
// `required`.
bool hasScopes(const json::value& claims, const std::vector<std::string>& required) {
  std::vector<std::string_view> granted;
  auto words = [&](std::string_view text) {
    for (std::string_view w : splitTrimmed(text, ' '))
      granted.push_back(w);
  };
  const json::object& o = claims.get_object();
  if (const json::value* s = o.if_contains("scope"); s && s->is_string()) words(s->get_string());
  if (const json::value* s = o.if_contains("scp")) {
    if (s->is_string()) words(s->get_string());
    if (s->is_array())
      for (const json::value& x : s->get_array())
        if (x.is_string()) granted.push_back(x.get_string());
  }
  return std::all_of(required.begin(), required.end(), [&](const std::string& r) {
    return std::find(granted.begin(), granted.end(), r) != granted.end();
  });
}

bool audienceMatches(const json::value& claims, const std::vector<std::string>& audiences) {
  const json::value* aud = claims.get_object().if_contains("aud");
  if (!aud) return false;
  auto one = [&](const json::value& x) {
    return x.is_string() && std::find(audiences.begin(), audiences.end(),
                                      std::string_view(x.get_string())) != audiences.end();
  };
  if (aud->is_array()) return std::any_of(aud->get_array().begin(), aud->get_array().end(), one);
  return one(*aud);
}

class Jwt final : public Handler {
 public:
  Jwt(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext&)
      : c_(std::move(c)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    const Compiled& c = *c_;
    auto& headers = ex.request.headers;
    if (!c.metadataPath.empty() && ex.request.path == c.metadataPath) {
      serveMetadata(ex);
      co_return;
    }
    if (headers.count("Authorization") > 1) {
      refuse(ex, 400, {}, "several Authorization headers");
      co_return;
    }
    enum class From { None, Header, Query, Form } from = From::None;
    std::string_view token;
    std::string owned;
    if (auto bearer = schemeCredential(ex, "Bearer")) {
      token = *bearer;
      from = From::Header;
    } else if (!c.tokenKey.empty()) {
      if (auto q = queryParameter(ex.request.hasQuery ? ex.request.query : std::string_view(),
                                  c.tokenKey)) {
        owned = std::move(*q);
        from = From::Query;
      } else if (auto f = co_await formField(ex, c.tokenKey, !c.forwardAuthorization)) {
        owned = std::move(*f);
        from = From::Form;
      }
      token = owned;
    }
    if (token.empty()) {
      refuse(ex, 401, bearerChallenge(kRealm, {}, {}, c.challengeExtra), "no token");
      co_return;
    }
    if (token.size() > kMaxToken) {
      refuse(ex, 401, bearerChallenge(kRealm, "invalid_token", "the token is too large", c.challengeExtra),
             "token too large");
      co_return;
    }

    WorkerCache& cache = c.caches[ex.worker.index() % c.caches.size()];
    VerifiedPtr v;
    if (auto it = cache.entries.find(token); it != cache.entries.end()) {
      const Verified& hit = *it->second;
      if (!hit.keySet || hit.keySet->generation() == hit.generation) v = it->second;
    }
    std::string error;
    if (!v) {
      std::string key(token);
      v = co_await verify(ex, key, error);
      if (!v) {
        refuse(ex, 401, bearerChallenge(kRealm, "invalid_token", error, c.challengeExtra), error);
        co_return;
      }
      if (cache.entries.size() >= kCacheEntries) cache.entries.clear();
      cache.entries[std::move(key)] = v;
    }

    double now = epochSeconds();
    if (v->exp && now >= *v->exp + c.skew)
      error = "the token has expired";
    else if (v->nbf && now + c.skew < *v->nbf)
      error = "the token is not valid yet";
    else if (v->iat && *v->iat > now + c.skew)
      error = "the token was issued in the future";
    if (!error.empty()) {
      refuse(ex, 401, bearerChallenge(kRealm, "invalid_token", error, c.challengeExtra), error);
      co_return;
    }
    if (!v->outcome.user.empty()) ex.record.user = ex.arena.copy(v->outcome.user);
    if (!v->outcome.claimsHold) {
      refuse(ex, 403,
             bearerChallenge(kRealm, "insufficient_scope",
                             "the token's claims do not allow this request", c.challengeExtra),
             "claims do not match");
      co_return;
    }
    if (!v->scopesHold) {
      refuse(ex, 403,
             bearerChallenge(kRealm, "insufficient_scope", "the token lacks a required scope",
                             c.challengeExtra),
             "insufficient scope");
      co_return;
    }

    c.use.apply(ex, v->outcome);
    if (!c.forwardAuthorization) {
      if (from == From::Header) headers.remove("Authorization");
      if (from == From::Query) removeQueryParameter(ex, c.tokenKey);
    }
    // The claims outlive this handler's cache entry for as long as the exchange runs.
    ex.claims = &(*ex.arena.make<VerifiedPtr>(v))->claims;
    co_await next_->handle(ex);
  }

 private:
  // RFC 9728 §3: the metadata document, public (any origin may read it).
  void serveMetadata(Exchange& ex) const {
    if (ex.request.method != "GET" && ex.request.method != "HEAD") {
      ex.response.status = 405;
      ex.response.headers.set("Allow", "GET, HEAD");
      ex.response.body = nullptr;
      return;
    }
    ex.response.status = 200;
    ex.response.headers.set("Content-Type", "application/json");
    ex.response.headers.set("Cache-Control", "public, max-age=300");
    ex.response.headers.set("Access-Control-Allow-Origin", "*");
    ex.response.body = ex.arena.make<exchange::MemoryBody>(c_->metadataDocument);
  }

  // Checks the signature and works out what the request path needs. Null with `error`.
  awaitable<VerifiedPtr> verify(Exchange& ex, const std::string& text, std::string& error) const {
    const Compiled& c = *c_;
    jose::Token token;
    if (!jose::parse(text, token, error)) co_return nullptr;
    auto v = std::make_shared<Verified>();
    std::shared_ptr<const KeyList> remote;
    const KeyList* keys = &c.staticKeys;
    if (!c.issuers.empty()) {
      const Issuer* issuer = nullptr;
      std::string_view iss = stringClaim(token.claims, "iss");
      for (const Issuer& i : c.issuers)
        if (i.issuer.empty() || i.issuer == iss) {
          issuer = &i;
          break;
        }
      if (!issuer) {
        error = "the token's issuer is not trusted";
        co_return nullptr;
      }
      v->keySet = issuer->keys.get();
      RemoteKeySet::View view = co_await issuer->keys->keysFor(ex.worker, token.kid);
      if (!view.keys) {
        error = "no key to check the token with (the JWK set could not be fetched)";
        co_return nullptr;
      }
      v->generation = view.generation;
      remote = view.keys;
      keys = remote.get();
    }
    // The key named by the token's kid; a token with a kid no key has is checked only by keys
    // without one (a publicKey, a secret), and a token without kid by every key that fits. So a
    // made-up kid costs no signature check against the whole set.
    bool named =
        !token.kid.empty() && std::any_of(keys->begin(), keys->end(),
                                          [&](const jose::Key& k) { return k.kid == token.kid; });
    bool verified = false, candidate = false;
    int tries = 0;
    for (const jose::Key& key : *keys) {
      if (named ? key.kid != token.kid : !token.kid.empty() && !key.kid.empty()) continue;
      if (!jose::fits(token.alg, key.type) || (key.alg && *key.alg != token.alg)) continue;
      candidate = true;
      if (++tries > 8) break;
      if (jose::verify(token, key)) {
        verified = true;
        break;
      }
    }
    if (!verified) {
      error = candidate ? "the signature is not valid"
                        : "no key fits the token (algorithm " +
                              std::string(jose::algName(token.alg)) + ")";
      co_return nullptr;
    }
    if (!readTimes(token.claims, *v, error)) co_return nullptr;
    if (!c.audiences.empty() && !audienceMatches(token.claims, c.audiences)) {
      error = "the token is not meant for this audience";
      co_return nullptr;
    }
    v->claims = std::move(token.claims);
    v->outcome = c.use.outcome(v->claims);
    v->scopesHold = c.requiredScopes.empty() || hasScopes(v->claims, c.requiredScopes);
    co_return v;
  }

  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
};

// An option that holds either the text itself or a file's path.
bool inlineOrFile(const std::string& value, bool isInline, std::string& out, std::string& error) {
  if (isInline) {
    out = value;
    return true;
  }
  std::ifstream in(value, std::ios::binary);
  if (!in) {
    error = "cannot read " + value;
    return false;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return true;
}

// RFC 9728 §3.1: the metadata URL inserts /.well-known/oauth-protected-resource between the
// resource's authority and its path.
bool resourceMetadata(const ResourceMetadataOptions& o, Compiled& c, std::string& error) {
  size_t scheme = o.resource.find("://");
  if (!o.resource.starts_with("https://") && !o.resource.starts_with("http://")) {
    error = "resource must be an http(s) URL, not \"" + o.resource + "\"";
    return false;
  }
  if (o.resource.find_first_of("?#") != std::string::npos) {
    error = "resource must have no query or fragment (RFC 9728 §1.2)";
    return false;
  }
  if (o.authorizationServers.empty()) {
    error = "authorizationServers needs at least one issuer";
    return false;
  }
  size_t slash = o.resource.find('/', scheme + 3);
  std::string origin = o.resource.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : o.resource.substr(slash);
  if (path == "/") path.clear();
  c.metadataPath = "/.well-known/oauth-protected-resource" + path;
  json::object doc{{"resource", o.resource},
                   {"bearer_methods_supported", json::array{"header"}}};
  json::array servers;
  for (const std::string& s : o.authorizationServers)
    servers.emplace_back(s);
  doc["authorization_servers"] = std::move(servers);
  std::vector<std::string> scopes = o.scopesSupported;
  for (const std::string& r : c.requiredScopes)
    if (std::find(scopes.begin(), scopes.end(), r) == scopes.end()) scopes.push_back(r);
  if (!scopes.empty()) {
    json::array list;
    for (const std::string& s : scopes)
      list.emplace_back(s);
    doc["scopes_supported"] = std::move(list);
  }
  if (!o.resourceName.empty()) doc["resource_name"] = o.resourceName;
  if (!o.resourceDocumentation.empty()) doc["resource_documentation"] = o.resourceDocumentation;
  c.metadataDocument = json::serialize(doc);
  if (c.audiences.empty()) c.audiences.push_back(o.resource);  // RFC 8707: tokens for us only
  if (!c.requiredScopes.empty()) {
    std::string scope;
    for (const std::string& s : c.requiredScopes)
      scope += (scope.empty() ? "" : " ") + s;
    c.challengeExtra += ", scope=\"" + scope + "\"";
  }
  c.challengeExtra += ", resource_metadata=\"" + origin + c.metadataPath + "\"";
  return true;
}

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = exchange::decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& o = *decoded;
  auto c = std::make_shared<Compiled>();
  c->name = context.name();
  int sources = !o.signingSecret.empty() + !o.publicKey.empty() + !o.jwksFile.empty() +
                !o.jwksUrl.empty() + !o.trustedIssuers.empty();
  if (sources != 1) {
    context.error("jwt: exactly one of signingSecret, publicKey, jwksFile, jwksUrl, trustedIssuers "
                  "must be set (" +
                  std::to_string(sources) + " are)");
    return nullptr;
  }
  std::string error;
  if (o.jwksMinRefreshSeconds < 1 || o.jwksMinRefreshSeconds > 3600) {
    context.error("jwt: jwksMinRefreshSeconds must be between 1 and 3600");
    return nullptr;
  }
  if (!o.signingSecret.empty()) {
    auto resolved = secretOption(o.signingSecret, error);
    if (!resolved) {
      context.error("jwt: signingSecret: " + error);
      return nullptr;
    }
    std::string secret = std::move(*resolved);
    if (o.signingSecretBase64Encoded) {
      std::string raw;
      if (!base64Decode(trim(secret), raw)) {
        context.error("jwt: signingSecret is not base64 (signingSecretBase64Encoded is true)");
        return nullptr;
      }
      secret = std::move(raw);
    }
    c->staticKeys.push_back(jose::keyFromSecret(std::move(secret)));
  } else if (!o.publicKey.empty()) {
    std::string pem;
    std::optional<jose::Key> key;
    if (inlineOrFile(o.publicKey, o.publicKey.find("-----BEGIN") != std::string::npos, pem, error))
      key = jose::keyFromPem(pem, error);
    if (!key) {
      context.error("jwt: publicKey: " + error);
      return nullptr;
    }
    c->staticKeys.push_back(std::move(*key));
  } else if (!o.jwksFile.empty()) {
    std::string text;
    std::vector<std::string> skipped;
    if (!inlineOrFile(o.jwksFile, trim(o.jwksFile).starts_with("{"), text, error) ||
        !jose::parseJwks(text, c->staticKeys, skipped, error)) {
      context.error("jwt: jwksFile: " + error);
      return nullptr;
    }
    for (const std::string& why : skipped)
      context.warning(config::ConfigError{{}, {}, "jwt: jwksFile: " + why, true, false});
    if (c->staticKeys.empty()) {
      context.error("jwt: jwksFile: no usable key");
      return nullptr;
    }
  } else {
    std::vector<TrustedIssuer> list = o.trustedIssuers;
    if (!o.jwksUrl.empty()) list.push_back({"", o.jwksUrl});
    for (size_t i = 0; i < list.size(); ++i) {
      std::string where =
          o.jwksUrl.empty() ? "jwt: trustedIssuers[" + std::to_string(i) + "]: " : "jwt: jwksUrl: ";
      if (o.jwksUrl.empty() && list[i].issuer.empty()) {
        context.error(where + "issuer is required");
        return nullptr;
      }
      auto client =
          HttpClient::make(list[i].jwksUrl, o.clientConfig, context.name() + "#jwks", error);
      if (!client) {
        context.error(where + error);
        return nullptr;
      }
      c->issuers.push_back({list[i].issuer, std::make_shared<RemoteKeySet>(
                                                std::move(client), context.name(),
                                                std::chrono::seconds(o.jwksMinRefreshSeconds))});
    }
  }
  auto use = ClaimUse::make(o.claims, o.usernameClaim, o.forwardHeaders, error);
  if (!use) {
    context.error("jwt: " + error);
    return nullptr;
  }
  c->use = std::move(*use);
  if (o.clockSkewSeconds < 0 || o.clockSkewSeconds > 300) {
    context.error("jwt: clockSkewSeconds must be between 0 and 300");
    return nullptr;
  }
  c->skew = o.clockSkewSeconds;
  c->forwardAuthorization = o.forwardAuthorization;
  c->tokenKey = o.tokenKey;
  c->audiences = o.audiences;
  c->requiredScopes = o.requiredScopes;
  if (o.resourceMetadata && !resourceMetadata(*o.resourceMetadata, *c, error)) {
    context.error("jwt: resourceMetadata: " + error);
    return nullptr;
  }
  c->caches.resize(std::max(1u, context.workers()));
  return exchange::factoryOf<Jwt>(std::shared_ptr<const Compiled>(std::move(c)));
}

const exchange::MiddlewareRegistration registration("jwt", create, "JWT");

}  // namespace
}  // namespace causeway::gateway::api
