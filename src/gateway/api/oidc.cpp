// oidc: Traefik Hub's OpenID Connect middleware (docs/api-gateway.md, "oidc"): browser login
// with the authorization code flow, and a session kept in an encrypted cookie.
//
//  - A request without a valid session is sent to the provider (302 to its
//    authorization_endpoint, found by discovery at `issuer`/.well-known/openid-configuration)
//    with `state`, `nonce`, and with `pkce` an S256 code challenge; these and the page asked for
//    travel in a short-lived encrypted state cookie. Requests other than GET/HEAD, and every
//    request with `disableLogin`, get 401 instead.
//  - The provider sends the browser back to `redirectUrl`; causeway checks `state`, exchanges the
//    code (client_secret_basic), verifies the ID token (signature with the provider's JWK set,
//    `iss`, `aud`, `exp`, `nonce`), and sets the session cookie: the ID token's claims, the
//    access and refresh tokens and their expiry, AES-256-GCM sealed with a key from `secret`
//    (split over several cookies past 3,800 bytes). Then 302 to the page first asked for.
//  - With a session: `session.expiry` (86,400 s) bounds it, `session.sliding` renews it on use,
//    `session.refresh` renews an expired access token with the refresh token (else the session
//    ends); `claims` (over the ID token's claims; 403), `forwardHeaders`, `usernameClaim`; with
//    `csrf`, requests other than GET/HEAD/OPTIONS must repeat the CSRF cookie's value in the CSRF
//    header (403).
//  - `logoutUrl` clears the session and goes to the provider's end_session_endpoint (with
//    id_token_hint and `postLogoutRedirectUrl`); `backchannelLogoutUrl` receives the provider's
//    logout tokens (verified) and ends the sessions they name (`sid`, or every session of
//    `sub` started before), in every worker of this process.
//  - With `session.store.redis`, the session itself is kept in Redis (sealed the same way) and
//    the cookie carries only its sealed random id: cookies stay small, RP-initiated logout
//    deletes the session, and a back-channel logout received by one instance ends the
//    session for every instance sharing the store. A store that cannot be reached gets 503.
// A tampered, foreign or expired cookie is no session: the request starts a login again.
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <unordered_map>

#include "config/duration.h"
#include "core/bytes.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/body.h"
#include "exchange/exchange.h"
#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"
#include "gateway/api/claims_use.h"
#include "gateway/api/credentials.h"
#include "gateway/api/http_client.h"
#include "gateway/api/jose.h"
#include "gateway/api/jwks.h"
#include "gateway/api/redis_store.h"
#include "gateway/mcp/session_token.h"
#include "http/uri.h"

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

constexpr size_t kChunk = 3800;
constexpr int kMaxChunks = 8;

struct SessionStore {
  std::optional<RedisStoreOptions> redis;
  std::string keyPrefix;
  static void describe(auto& self, auto& v) {
    v("redis", self.redis);
    v("keyPrefix", self.keyPrefix);
  }
};

struct CookieOptions {
  std::string name;
  std::optional<int64_t> maxAge;
  std::optional<int64_t> expiry;
  std::optional<bool> sliding;
  std::optional<bool> refresh;
  std::string sameSite = "lax";
  std::optional<bool> httpOnly;
  std::optional<bool> secure;
  std::string path = "/";
  std::string domain;
  std::optional<SessionStore> store;
  static void describe(auto& self, auto& v) {
    v("name", self.name);
    v("maxAge", self.maxAge);
    v("expiry", self.expiry);
    v("sliding", self.sliding);
    v("refresh", self.refresh);
    v("sameSite", self.sameSite);
    v("httpOnly", self.httpOnly);
    v("secure", self.secure);
    v("path", self.path);
    v("domain", self.domain);
    v("store", self.store);
  }
};

struct CsrfOptions {
  std::string cookieName = "hub-csrf-token";
  std::string headerName = "Hub-Csrf-Token";
  static void describe(auto& self, auto& v) {
    v("cookieName", self.cookieName);
    v("headerName", self.headerName);
  }
};

struct Options {
  std::string issuer;
  std::string clientId;
  std::string clientSecret;
  std::string redirectUrl;
  std::string secret;
  std::vector<std::string> scopes{"openid"};
  bool pkce = false;
  bool disableLogin = false;
  bool disableIssuerCheck = false;
  std::string trustedIssuer;
  std::string loginUrl;
  std::string logoutUrl;
  std::string postLoginRedirectUrl;
  std::string postLogoutRedirectUrl;
  std::string backchannelLogoutUrl;
  std::map<std::string, std::string> authParams;
  std::map<std::string, std::string> discoveryParams;
  bool backchannelLogoutSessionsRequired = false;
  CookieOptions session;
  CookieOptions stateCookie;
  std::optional<CsrfOptions> csrf;
  std::string claims;
  std::map<std::string, std::string> forwardHeaders;
  std::string usernameClaim;
  ClientConfig clientConfig;
  static void describe(auto& self, auto& v) {
    v("issuer", self.issuer);
    v("clientId", self.clientId);
    v("clientSecret", self.clientSecret);
    v("redirectUrl", self.redirectUrl);
    v("secret", self.secret);
    v("scopes", self.scopes);
    v("pkce", self.pkce);
    v("disableLogin", self.disableLogin);
    v("disableIssuerCheck", self.disableIssuerCheck);
    v("trustedIssuer", self.trustedIssuer);
    v("loginUrl", self.loginUrl);
    v("logoutUrl", self.logoutUrl);
    v("postLoginRedirectUrl", self.postLoginRedirectUrl);
    v("postLogoutRedirectUrl", self.postLogoutRedirectUrl);
    v("backchannelLogoutUrl", self.backchannelLogoutUrl);
    v("authParams", self.authParams);
    v("discoveryParams", self.discoveryParams);
    v("backchannelLogoutSessionsRequired", self.backchannelLogoutSessionsRequired);
    v("session", self.session);
    v("stateCookie", self.stateCookie);
    v("csrf", self.csrf);
    v("claims", self.claims);
    v("forwardHeaders", self.forwardHeaders);
    v("usernameClaim", self.usernameClaim);
    v("clientConfig", self.clientConfig);
  }
};

struct Endpoints {
  std::string issuer, authorization, token, endSession;
  std::shared_ptr<const HttpClient> tokenClient;
  std::shared_ptr<RemoteKeySet> keys;
};

struct Cookie {
  std::string name, sameSite, path, domain;
  bool httpOnly = true, secure = true;
  int64_t maxAge = 0;
  std::string attributes(int64_t maxAge) const {
    std::string a = "; Path=" + path;
    if (!domain.empty()) a += "; Domain=" + domain;
    a += "; Max-Age=" + std::to_string(maxAge);
    if (httpOnly) a += "; HttpOnly";
    if (secure) a += "; Secure";
    if (!sameSite.empty() && !iequals(sameSite, "none"))
      a += "; SameSite=" + sameSite;
    else if (!sameSite.empty())
      a += "; SameSite=None";
    return a;
  }
};

// Sessions ended by back-channel logout: by `sid`, and by `sub` for sessions begun before.
struct Revocations {
  std::mutex mutex;
  std::unordered_map<std::string, double> sids;
  std::unordered_map<std::string, double> subs;  // sub → logout time
  std::atomic<size_t> count{0};
};

struct Compiled {
  std::string name;
  std::string issuer, clientId, clientSecret;
  std::string redirectUrl, callbackPath;
  std::vector<std::string> scopes;
  bool pkce = false, disableLogin = false, checkIssuer = true;
  bool sessionsRequired = false;  // backchannelLogoutSessionsRequired: logout tokens need `sid`
  std::string expectedIssuer;
  std::string loginPath, logoutPath, backchannelPath, postLogin, postLogout;
  std::string authParams;  // "&k=v…"
  Cookie session, state;
  int64_t expiry = 86400, stateMaxAge = 600;
  bool sliding = true, refresh = true;
  std::optional<CsrfOptions> csrf;
  ClaimUse use;
  ClientConfig clientConfig;
  std::shared_ptr<const HttpClient> discoveryClient;
  mcp::SessionSealer sealer{""};
  // With session.store.redis: the cookie carries a sealed random id, the session (sealed too)
  // is kept at keyPrefix + id, and keyPrefix + "sid:"/"sub:" + value list the ids a
  // back-channel logout ends.
  std::shared_ptr<const RedisStore> store;
  std::string keyPrefix;
  // Discovery, shared by the workers.
  mutable std::mutex mutex;
  mutable std::shared_ptr<const Endpoints> endpoints;
  mutable bool discovering = false;
  mutable std::shared_ptr<Revocations> revoked = std::make_shared<Revocations>();
  ThrottledWarning storeOutage;
};

std::string pathOf(const std::string& url) {
  if (url.starts_with("/")) return url.substr(0, url.find('?'));
  size_t scheme = url.find("://");
  if (scheme == std::string::npos) return url;
  size_t slash = url.find('/', scheme + 3);
  std::string path = slash == std::string::npos ? "/" : url.substr(slash);
  return path.substr(0, path.find('?'));
}

std::string readCookie(const Exchange& ex, const std::string& name) {
  std::string value;
  if (auto first = cookieValue(ex, name))
    value = std::string(*first);
  else
    return {};
  for (int i = 1; i < kMaxChunks; ++i) {
    auto more = cookieValue(ex, name + "-" + std::to_string(i));
    if (!more) break;
    value += *more;
  }
  return value;
}

void setCookie(Exchange& ex, const Cookie& c, const std::string& name, const std::string& value,
               int64_t maxAge) {
  auto& h = ex.response.headers;
  size_t chunks = std::max<size_t>(1, (value.size() + kChunk - 1) / kChunk);
  for (size_t i = 0; i < size_t(kMaxChunks); ++i) {
    std::string n = i == 0 ? name : name + "-" + std::to_string(i);
    if (i < chunks) {
      h.add("Set-Cookie",
            ex.arena.copy(n + "=" + value.substr(i * kChunk, kChunk) + c.attributes(maxAge)));
    } else if (cookieValue(ex, n)) {
      h.add("Set-Cookie",
            ex.arena.copy(n + "=" + c.attributes(0)));  // a chunk left from a longer value
    }
  }
}

void redirect(Exchange& ex, std::string_view location) {
  ex.response.status = 302;
  ex.response.headers.set("Location", ex.arena.copy(location));
  ex.response.body = nullptr;
}

std::string b64urlSha256(std::string_view text) {
  return base64UrlEncode(sha256Bytes(text));
}

bool audienceHas(const json::value& claims, const std::string& clientId) {
  const json::value* aud = claims.get_object().if_contains("aud");
  if (!aud) return false;
  if (aud->is_string()) return aud->get_string() == clientId;
  if (aud->is_array())
    for (const json::value& a : aud->get_array())
      if (a.is_string() && a.get_string() == clientId) return true;
  return false;
}

class Oidc final : public Handler {
 public:
  Oidc(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext&)
      : c_(std::move(c)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    const Compiled& c = *c_;
    std::string_view path = ex.request.path;
    if (path == c.callbackPath) {
      co_await callback(ex);
      co_return;
    }
    if (!c.backchannelPath.empty() && path == c.backchannelPath && ex.request.method == "POST") {
      co_await backchannelLogout(ex);
      co_return;
    }
    if (!c.logoutPath.empty() && path == c.logoutPath) {
      co_await logout(ex);
      co_return;
    }
    if (!c.loginPath.empty() && path == c.loginPath) {
      co_await startLogin(ex, c.postLogin.empty() ? "/" : c.postLogin);
      co_return;
    }

    bool storeDown = false, renewed = false;
    std::optional<json::value> session = co_await openSession(ex, storeDown);
    double now = epochSeconds();
    if (session && c.refresh && !stringMember(*session, "rt").empty() &&
        numberMember(*session, "ate") > 0 && numberMember(*session, "ate") <= now + 5) {
      if (!co_await refreshTokens(ex, *session)) {
        session.reset();
      } else {
        storeDown = !co_await writeSession(ex, *session, now);
        renewed = true;
      }
    } else if (session && c.sliding && now - numberMember(*session, "iss_at") > 60) {
      (*session).as_object()["exp"] = now + double(c.expiry);
      storeDown = !co_await writeSession(ex, *session, now);
      renewed = true;
    }
    if (session && !storeDown && c.csrf) {
      // The CSRF cookie lives as long as the session: renewed with it, and given again (a new
      // value) when it has expired while the session slid on, so that writes work again.
      auto token = cookieValue(ex, c.csrf->cookieName);
      if (renewed || !token || token->empty()) {
        Cookie csrf = c.session;
        csrf.httpOnly = false;
        setCookie(ex, csrf, c.csrf->cookieName,
                  token && !token->empty() ? std::string(*token) : base64UrlEncode(randomBytes(24)), c.expiry);
      }
    }
    if (storeDown) {
      refuse(ex, 503, {}, "session store unavailable");
      co_return;
    }
    if (!session) {
      bool page = ex.request.method == "GET" || ex.request.method == "HEAD";
      if (c.disableLogin || !page) {
        refuse(ex, 401, {}, "no session");
        co_return;
      }
      std::string target(ex.request.rawPath);
      if (ex.request.hasQuery) target += "?" + std::string(ex.request.query);
      co_await startLogin(ex, target);
      co_return;
    }
    const json::value& claims = session->at("claims");
    if (c.csrf && ex.request.method != "GET" && ex.request.method != "HEAD" &&
        ex.request.method != "OPTIONS") {
      auto cookie = cookieValue(ex, c.csrf->cookieName);
      std::string_view header = ex.request.headers.get(c.csrf->headerName);
      if (!cookie || cookie->empty() || !constantTimeEquals(*cookie, header)) {
        refuse(ex, 403, {}, "CSRF token missing or wrong");
        co_return;
      }
    }
    ClaimOutcome outcome = c.use.outcome(claims);
    if (!outcome.user.empty()) ex.record.user = ex.arena.copy(outcome.user);
    if (!outcome.claimsHold) {
      refuse(ex, 403, {}, "claims do not match");
      co_return;
    }
    c.use.apply(ex, outcome);
    auto* kept = ex.arena.make<json::value>(std::move(*session));
    ex.claims = &kept->at("claims");
    // The session cookies are the gateway's: the upstream does not see them.
    removeCookie(ex, c.session.name);
    for (int i = 1; i < kMaxChunks; ++i)
      removeCookie(ex, c.session.name + "-" + std::to_string(i));
    auto responseCookies = ex.response.headers;  // Set-Cookie written before the upstream answered
    co_await next_->handle(ex);
    for (const auto& f : responseCookies)
      if (iequals(f.name, "Set-Cookie")) ex.response.headers.add(f.name, f.value);
  }

 private:
  // Discovery, once per middleware (all workers); null when the provider cannot be reached.
  awaitable<std::shared_ptr<const Endpoints>> endpoints(Exchange& ex) const {
    const Compiled& c = *c_;
    bool mine = false;
    for (int i = 0; i < 2000; ++i) {
      {
        std::lock_guard lock(c.mutex);
        if (c.endpoints) co_return c.endpoints;
        if (!c.discovering) {
          c.discovering = true;
          mine = true;
        }
      }
      if (mine) break;
      asio::steady_timer pause(ex.worker.io(), std::chrono::milliseconds(10));
      co_await pause.async_wait(nothrow);
    }
    if (!mine) co_return nullptr;
    HttpCall call;
    call.headers.emplace_back("Accept", "application/json");
    HttpAnswer answer = co_await c.discoveryClient->call(ex.worker, call, 1 << 20);
    std::shared_ptr<Endpoints> e;
    std::string error;
    boost::system::error_code ec;
    json::value doc = answer.status == 200 ? json::parse(answer.body, ec) : json::value();
    if (answer.status != 200 || ec || !doc.is_object()) {
      error = answer.status ? "status " + std::to_string(answer.status) : answer.error;
    } else {
      e = std::make_shared<Endpoints>();
      e->issuer = stringMember(doc, "issuer");
      e->authorization = stringMember(doc, "authorization_endpoint");
      e->token = stringMember(doc, "token_endpoint");
      e->endSession = stringMember(doc, "end_session_endpoint");
      std::string jwks = stringMember(doc, "jwks_uri");
      if (c.checkIssuer && e->issuer != c.expectedIssuer)
        error = "discovery names issuer " + e->issuer + ", not " + c.expectedIssuer;
      else if (e->authorization.empty() || e->token.empty() || jwks.empty())
        error = "discovery lacks authorization_endpoint, token_endpoint or jwks_uri";
      else {
        e->tokenClient = HttpClient::make(e->token, c.clientConfig, c.name + "#token", error);
        auto keysClient = HttpClient::make(jwks, c.clientConfig, c.name + "#jwks", error);
        if (e->tokenClient && keysClient)
          e->keys = std::make_shared<RemoteKeySet>(std::move(keysClient), c.name);
      }
      if (!error.empty() || !e->keys) e.reset();
    }
    std::lock_guard lock(c.mutex);
    c.discovering = false;
    if (!e) {
      log::warn("oidc: discovery failed",
                {{"middlewareName", c.name}, {"issuer", c.issuer}, {"error", error}});
      co_return nullptr;
    }
    c.endpoints = e;
    co_return e;
  }

  // The request's session: nullopt when there is none, or a tampered, foreign, expired or
  // revoked one. With a store that cannot be reached, `unavailable` is set too.
  awaitable<std::optional<json::value>> openSession(Exchange& ex, bool& unavailable) const {
    const Compiled& c = *c_;
    std::string sealed = readCookie(ex, c.session.name);
    if (sealed.empty()) co_return std::nullopt;
    std::optional<std::string> plain = c.sealer.openText(sealed);
    if (!plain) co_return std::nullopt;
    std::string id;
    if (c.store) {
      id = std::move(*plain);
      std::vector<std::string> get{"GET", c.keyPrefix + id};
      resp::Value reply;
      if (!co_await store(ex, std::move(get), reply)) {
        unavailable = true;
        co_return std::nullopt;
      }
      if (reply.type != resp::Value::Type::Bulk) co_return std::nullopt;  // ended or expired
      plain = c.sealer.openText(reply.text);
      if (!plain) co_return std::nullopt;
    }
    boost::system::error_code ec;
    json::value v = json::parse(*plain, ec);
    if (ec || !v.is_object() || !v.get_object().contains("claims")) co_return std::nullopt;
    double now = epochSeconds();
    if (numberMember(v, "exp") <= now) co_return std::nullopt;
    if (c.store) {
      v.as_object()["key"] = id;
    } else if (c.revoked->count.load(std::memory_order_relaxed) > 0) {
      std::lock_guard lock(c.revoked->mutex);
      std::string sid = stringMember(v.at("claims"), "sid");
      if (!sid.empty() && c.revoked->sids.count(sid)) co_return std::nullopt;
      if (auto it = c.revoked->subs.find(stringMember(v.at("claims"), "sub"));
          it != c.revoked->subs.end() && numberMember(v, "began") <= it->second)
        co_return std::nullopt;
    }
    co_return v;
  }

  // Sets the session cookie; with a store, writes the session there first, listed under its
  // `sid` and `sub` for back-channel logouts (each list lives as long as its longest session).
  // False when the store cannot be written.
  awaitable<bool> writeSession(Exchange& ex, json::value& session, double now) const {
    const Compiled& c = *c_;
    session.as_object()["iss_at"] = now;
    double exp = numberMember(session, "exp");
    int64_t maxAge = int64_t(exp - now);
    if (!c.store) {
      setCookie(ex, c.session, c.session.name, c.sealer.sealText(json::serialize(session)), maxAge);
      co_return true;
    }
    std::string id = stringMember(session, "key");
    if (id.empty()) id = base64UrlEncode(randomBytes(32));
    session.as_object().erase("key");
    int64_t ttlMillis = std::max<int64_t>(1, maxAge) * 1000;
    std::string ttl = std::to_string(ttlMillis);
    std::vector<std::string> set{"SET", c.keyPrefix + id,
                                 c.sealer.sealText(json::serialize(session)), "PX", ttl};
    std::vector<std::string> indexes = indexesOf(session);
    session.as_object()["key"] = id;
    resp::Value reply;
    if (!co_await store(ex, std::move(set), reply)) co_return false;
    for (const std::string& index : indexes) {
      // Each list lives as long as its longest session (PTTL, then PEXPIRE when longer: the GT
      // option would need Redis 7).
      std::vector<std::string> add{"SADD", index, id}, pttl{"PTTL", index},
          expire{"PEXPIRE", index, ttl};
      if (!co_await store(ex, std::move(add), reply)) co_return false;
      if (!co_await store(ex, std::move(pttl), reply)) co_return false;
      if (reply.type == resp::Value::Type::Integer && reply.integer >= ttlMillis) continue;
      if (!co_await store(ex, std::move(expire), reply)) co_return false;
    }
    setCookie(ex, c.session, c.session.name, c.sealer.sealText(id), maxAge);
    co_return true;
  }

  // Ends the sessions a back-channel logout names: their ids are listed at `index`.
  awaitable<bool> endStoredSessions(Exchange& ex, const std::string& index) const {
    const Compiled& c = *c_;
    std::vector<std::string> members{"SMEMBERS", index};
    resp::Value reply;
    if (!co_await store(ex, std::move(members), reply)) co_return false;
    std::vector<std::string> keys{index};
    for (const resp::Value& id : reply.items)
      if (id.type == resp::Value::Type::Bulk) keys.push_back(c.keyPrefix + id.text);
    // One key per DEL: in a Cluster the keys live on different nodes.
    for (const std::string& key : keys) {
      std::vector<std::string> del{"DEL", key};
      if (!co_await store(ex, std::move(del), reply)) co_return false;
    }
    co_return true;
  }

  // One command on the session store: false, with a warning at most every 10 s, when the store
  // cannot be reached or answers an error.
  awaitable<bool> store(Exchange& ex, std::vector<std::string> command, resp::Value& reply) const {
    std::string error;
    bool ok = co_await c_->store->command(ex.worker, std::move(command), reply, error);
    if (ok && !reply.isError()) co_return true;
    storeFailed(ok ? reply.text : error);
    co_return false;
  }

  // The back-channel logout lists a stored session belongs to: by its `sid` and its `sub`.
  std::vector<std::string> indexesOf(const json::value& session) const {
    std::vector<std::string> out;
    const json::value& claims = session.at("claims");
    for (const char* what : {"sid", "sub"})
      if (std::string value = stringMember(claims, what); !value.empty())
        out.push_back(c_->keyPrefix + what + ":" + value);
    return out;
  }

  void storeFailed(const std::string& error) const {
    if (!c_->storeOutage.due()) return;  // an outage must not flood the log
    log::warn("oidc: the session store cannot be used",
              {{"middlewareName", c_->name}, {"error", error}});
  }

  awaitable<void> startLogin(Exchange& ex, const std::string& target) const {
    const Compiled& c = *c_;
    auto e = co_await endpoints(ex);
    if (!e) {
      refuse(ex, 503, {}, "OpenID provider unavailable");
      co_return;
    }
    std::string state = base64UrlEncode(randomBytes(24));
    std::string nonce = base64UrlEncode(randomBytes(24));
    std::string verifier = c.pkce ? base64UrlEncode(randomBytes(32)) : std::string();
    json::object s{{"state", state}, {"nonce", nonce}, {"target", target}, {"at", epochSeconds()}};
    if (c.pkce) s["verifier"] = verifier;
    std::string scope;
    for (const std::string& sc : c.scopes)
      scope += (scope.empty() ? "" : " ") + sc;
    std::string location =
        e->authorization + (e->authorization.find('?') == std::string::npos ? "?" : "&") +
        "response_type=code&client_id=" + http::queryEscape(c.clientId) +
        "&redirect_uri=" + http::queryEscape(c.redirectUrl) + "&scope=" + http::queryEscape(scope) +
        "&state=" + state + "&nonce=" + nonce + c.authParams;
    if (c.pkce)
      location += "&code_challenge=" + b64urlSha256(verifier) + "&code_challenge_method=S256";
    redirect(ex, location);
    setCookie(ex, c.state, c.state.name, c.sealer.sealText(json::serialize(s)), c.stateMaxAge);
  }

  awaitable<void> callback(Exchange& ex) const {
    const Compiled& c = *c_;
    std::string_view query = ex.request.hasQuery ? ex.request.query : std::string_view();
    auto code = queryParameter(query, "code");
    auto state = queryParameter(query, "state");
    if (auto error = queryParameter(query, "error")) {
      refuse(ex, 401, {}, "the provider refused the login: " + error->substr(0, 64));
      co_return;
    }
    auto sealed = c.sealer.openText(readCookie(ex, c.state.name));
    boost::system::error_code ec;
    json::value s = sealed ? json::parse(*sealed, ec) : json::value();
    if (!code || !state || !sealed || ec || !s.is_object() ||
        !constantTimeEquals(stringMember(s, "state"), *state) ||
        epochSeconds() - numberMember(s, "at") > double(c.stateMaxAge)) {
      refuse(ex, 401, {}, "login state missing, wrong or expired");
      co_return;
    }
    auto e = co_await endpoints(ex);
    if (!e) {
      refuse(ex, 503, {}, "OpenID provider unavailable");
      co_return;
    }
    std::string form = "grant_type=authorization_code&code=" + http::queryEscape(*code) +
                       "&redirect_uri=" + http::queryEscape(c.redirectUrl);
    if (c.pkce) form += "&code_verifier=" + stringMember(s, "verifier");
    std::optional<json::value> tokens = co_await tokenCall(ex, *e, form);
    if (!tokens) {
      refuse(ex, 401, {}, "the code exchange failed");
      co_return;
    }
    std::string error;
    std::optional<json::value> claims =
        co_await verifyIdToken(ex, *e, stringMember(*tokens, "id_token"), error);
    if (!claims || stringMember(*claims, "nonce") != stringMember(s, "nonce")) {
      if (claims) error = "the ID token's nonce is not the login's";
      log::warn("oidc: ID token refused", {{"middlewareName", c.name}, {"error", error}});
      refuse(ex, 401, {}, "ID token refused: " + error);
      co_return;
    }
    double now = epochSeconds();
    json::object session{{"claims", std::move(*claims)},
                         {"at", stringMember(*tokens, "access_token")},
                         {"rt", stringMember(*tokens, "refresh_token")},
                         {"idt", stringMember(*tokens, "id_token")},
                         {"began", now},
                         {"exp", now + double(c.expiry)}};
    double expiresIn = numberMember(*tokens, "expires_in");
    session["ate"] = expiresIn > 0 ? now + expiresIn : 0.0;
    json::value v = std::move(session);
    std::string target = stringMember(s, "target");
    if (target.empty() || !target.starts_with("/") || target.starts_with("//"))
      target = c.postLogin.empty() ? "/" : c.postLogin;
    if (!co_await writeSession(ex, v, now)) {
      refuse(ex, 503, {}, "session store unavailable");
      co_return;
    }
    redirect(ex, target);
    setCookie(ex, c.state, c.state.name, "", 0);
    if (c.csrf) {
      Cookie csrf = c.session;
      csrf.httpOnly = false;  // the page's scripts read it to send it back in the header
      setCookie(ex, csrf, c.csrf->cookieName, base64UrlEncode(randomBytes(24)), c.expiry);
    }
  }

  awaitable<std::optional<json::value>> tokenCall(Exchange& ex, const Endpoints& e,
                                                  const std::string& form) const {
    const Compiled& c = *c_;
    HttpCall call;
    call.method = "POST";
    call.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    call.headers.emplace_back("Accept", "application/json");
    call.headers.emplace_back("Authorization",
                              "Basic " + base64Encode(http::queryEscape(c.clientId) + ":" +
                                                      http::queryEscape(c.clientSecret)));
    call.body = form;
    HttpAnswer reply = co_await e.tokenClient->call(ex.worker, call, 256 << 10);
    boost::system::error_code ec;
    json::value v = reply.status == 200 ? json::parse(reply.body, ec) : json::value();
    if (reply.status != 200 || ec || !v.is_object() || stringMember(v, "access_token").empty()) {
      log::warn("oidc: the token endpoint refused", {{"middlewareName", c.name},
                                                     {"status", std::to_string(reply.status)},
                                                     {"error", reply.error}});
      co_return std::nullopt;
    }
    co_return v;
  }

  awaitable<std::optional<json::value>> verifyIdToken(Exchange& ex, const Endpoints& e,
                                                      const std::string& idToken,
                                                      std::string& error) const {
    const Compiled& c = *c_;
    jose::Token token;
    if (idToken.empty() || !jose::parse(idToken, token, error)) {
      if (error.empty()) error = "no ID token";
      co_return std::nullopt;
    }
    RemoteKeySet::View view = co_await e.keys->keysFor(ex.worker, token.kid);
    bool ok = false;
    if (view.keys)
      for (const jose::Key& k : *view.keys)
        if ((token.kid.empty() || k.kid == token.kid) && jose::verify(token, k)) {
          ok = true;
          break;
        }
    double now = epochSeconds();
    if (!ok)
      error = "the signature does not check with the provider's keys";
    else if (c.checkIssuer && stringMember(token.claims, "iss") != c.expectedIssuer)
      error = "wrong issuer";
    else if (!audienceHas(token.claims, c.clientId))
      error = "not meant for this client";
    else if (numberMember(token.claims, "exp") <= now - 60)
      error = "expired";
    if (!error.empty()) co_return std::nullopt;
    co_return std::move(token.claims);
  }

  awaitable<bool> refreshTokens(Exchange& ex, json::value& session) const {
    auto e = co_await endpoints(ex);
    if (!e) co_return false;
    std::string form =
        "grant_type=refresh_token&refresh_token=" + http::queryEscape(stringMember(session, "rt"));
    std::optional<json::value> tokens = co_await tokenCall(ex, *e, form);
    if (!tokens) co_return false;
    json::object& s = session.as_object();
    double now = epochSeconds();
    s["at"] = stringMember(*tokens, "access_token");
    if (std::string rt = stringMember(*tokens, "refresh_token"); !rt.empty()) s["rt"] = rt;
    double expiresIn = numberMember(*tokens, "expires_in");
    s["ate"] = expiresIn > 0 ? now + expiresIn : 0.0;
    if (c_->sliding) s["exp"] = now + double(c_->expiry);
    co_return true;
  }

  awaitable<void> logout(Exchange& ex) const {
    const Compiled& c = *c_;
    bool storeDown = false;
    std::optional<json::value> session = co_await openSession(ex, storeDown);
    if (storeDown) {  // the session could not be ended: say so rather than pretend
      refuse(ex, 503, {}, "session store unavailable");
      co_return;
    }
    if (session && c.store) {
      std::string id = stringMember(*session, "key");
      std::vector<std::vector<std::string>> commands{{"DEL", c.keyPrefix + id}};
      for (const std::string& index : indexesOf(*session))
        commands.push_back({"SREM", index, id});
      for (std::vector<std::string>& command : commands) {
        resp::Value reply;
        if (!co_await store(ex, std::move(command), reply)) {
          refuse(ex, 503, {}, "session store unavailable");
          co_return;
        }
      }
    }
    setCookie(ex, c.session, c.session.name, "", 0);
    std::string after = c.postLogout.empty() ? "/" : c.postLogout;
    auto e = co_await endpoints(ex);
    if (e && !e->endSession.empty()) {
      std::string location = e->endSession +
                             (e->endSession.find('?') == std::string::npos ? "?" : "&") +
                             "client_id=" + http::queryEscape(c.clientId);
      if (session) location += "&id_token_hint=" + http::queryEscape(stringMember(*session, "idt"));
      if (!c.postLogout.empty())
        location += "&post_logout_redirect_uri=" + http::queryEscape(c.postLogout);
      redirect(ex, location);
    } else {
      redirect(ex, after);
    }
  }

  awaitable<void> backchannelLogout(Exchange& ex) const {
    const Compiled& c = *c_;
    std::optional<std::string> logoutToken = co_await formField(ex, "logout_token", false);
    auto e = co_await endpoints(ex);
    std::string error;
    jose::Token token;
    bool ok = e && logoutToken && jose::parse(*logoutToken, token, error);
    if (ok) {
      RemoteKeySet::View view = co_await e->keys->keysFor(ex.worker, token.kid);
      ok = false;
      if (view.keys)
        for (const jose::Key& k : *view.keys)
          if ((token.kid.empty() || k.kid == token.kid) && jose::verify(token, k)) ok = true;
    }
    const json::value* events = ok ? token.claims.get_object().if_contains("events") : nullptr;
    std::string why;
    if (!e)
      why = "the provider is unavailable";
    else if (!logoutToken)
      why = "no logout_token in the form";
    else if (!ok)
      why = error.empty() ? "the signature does not check with the provider's keys" : error;
    else if (c.checkIssuer && stringMember(token.claims, "iss") != c.expectedIssuer)
      why = "wrong issuer";
    else if (!audienceHas(token.claims, c.clientId))
      why = "not meant for this client";
    else if (!events || !events->is_object() ||
             !events->get_object().contains("http://schemas.openid.net/event/backchannel-logout"))
      why = "not a back-channel logout event";
    else if (token.claims.get_object().contains("nonce"))
      why = "a logout token has no nonce";
    std::string sid = why.empty() ? stringMember(token.claims, "sid") : "";
    std::string sub = why.empty() ? stringMember(token.claims, "sub") : "";
    if (why.empty() && sid.empty() && sub.empty()) why = "neither sid nor sub";
    if (why.empty() && sid.empty() && c.sessionsRequired)
      why = "no sid (backchannelLogoutSessionsRequired)";
    if (!why.empty()) {
      log::warn("oidc: logout token refused", {{"middlewareName", c.name}, {"reason", why}});
      refuse(ex, 400, {}, "logout token refused: " + why);
      co_return;
    }
    if (c.store) {
      // Shared by every instance using the store: the sessions are deleted there.
      std::string index = c.keyPrefix + (sid.empty() ? "sub:" + sub : "sid:" + sid);
      if (!co_await endStoredSessions(ex, index)) {
        refuse(ex, 503, {}, "session store unavailable");
        co_return;
      }
    } else {
      std::lock_guard lock(c.revoked->mutex);
      double now = epochSeconds();
      if (!sid.empty())
        c.revoked->sids[sid] = now;
      else
        c.revoked->subs[sub] = now;
      c.revoked->count.store(c.revoked->sids.size() + c.revoked->subs.size(),
                             std::memory_order_relaxed);
    }
    log::info("oidc: back-channel logout",
              {{"middlewareName", c.name}, {"sid", sid}, {"sub", sub}});
    ex.response.status = 200;
    ex.response.headers.set("Cache-Control", "no-store");
    ex.response.body = nullptr;
  }

  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
};

Cookie cookieFrom(const CookieOptions& o, std::string defaultName) {
  Cookie c;
  c.name = o.name.empty() ? std::move(defaultName) : o.name;
  c.sameSite = o.sameSite;
  c.path = o.path.empty() ? "/" : o.path;
  c.domain = o.domain;
  c.httpOnly = o.httpOnly.value_or(true);
  c.secure = o.secure.value_or(true);
  return c;
}

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = exchange::decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& o = *decoded;
  if (o.issuer.empty() || o.clientId.empty() || o.clientSecret.empty() || o.redirectUrl.empty()) {
    context.error("oidc: issuer, clientId, clientSecret and redirectUrl are required");
    return nullptr;
  }
  auto c = std::make_shared<Compiled>();
  c->name = context.name();
  std::string error;
  c->issuer = o.issuer;
  while (!c->issuer.empty() && c->issuer.back() == '/')
    c->issuer.pop_back();
  c->expectedIssuer = o.trustedIssuer.empty() ? o.issuer : o.trustedIssuer;
  c->checkIssuer = !o.disableIssuerCheck;
  c->clientId = o.clientId;
  c->clientSecret = o.clientSecret;
  for (std::string* secret : {&c->clientSecret, &o.secret}) {
    auto resolved = secretOption(*secret, error);
    if (!resolved) {
      context.error("oidc: " + error);
      return nullptr;
    }
    *secret = std::move(*resolved);
  }
  if (o.secret.empty())
    log::warn("oidc: no `secret`: sessions are sealed with a random key, so they end when causeway "
              "restarts and "
              "other instances cannot read them",
              {{"middlewareName", context.name()}});
  c->sealer = mcp::SessionSealer(o.secret);
  c->redirectUrl = o.redirectUrl;
  c->callbackPath = pathOf(o.redirectUrl);
  c->scopes = o.scopes;
  if (std::find(c->scopes.begin(), c->scopes.end(), "openid") == c->scopes.end())
    c->scopes.insert(c->scopes.begin(), "openid");
  c->pkce = o.pkce;
  c->disableLogin = o.disableLogin;
  c->loginPath = o.loginUrl.empty() ? "" : pathOf(o.loginUrl);
  c->logoutPath = o.logoutUrl.empty() ? "" : pathOf(o.logoutUrl);
  c->backchannelPath = o.backchannelLogoutUrl.empty() ? "" : pathOf(o.backchannelLogoutUrl);
  c->postLogin = o.postLoginRedirectUrl;
  c->postLogout = o.postLogoutRedirectUrl;
  for (const auto& [k, v] : o.authParams)
    c->authParams += "&" + http::queryEscape(k) + "=" + http::queryEscape(v);
  std::string base = context.name().substr(0, context.name().find('@'));
  c->session = cookieFrom(o.session, base + "-session");
  c->state = cookieFrom(o.stateCookie, base + "-state");
  c->expiry = o.session.expiry.value_or(86400);
  c->stateMaxAge = o.stateCookie.maxAge.value_or(600);
  c->sliding = o.session.sliding.value_or(true);
  c->refresh = o.session.refresh.value_or(true);
  if (c->expiry <= 0 || c->stateMaxAge <= 0) {
    context.error("oidc: session.expiry and stateCookie.maxAge must be positive");
    return nullptr;
  }
  c->csrf = o.csrf;
  if (o.session.store && o.session.store->redis) {
    c->store = RedisStore::make(*o.session.store->redis, context.workers(), error);
    if (!c->store) {
      context.error("oidc: session." + error);
      return nullptr;
    }
    c->keyPrefix = o.session.store->keyPrefix.empty() ? "causeway:oidc:" + base + ":"
                                                      : o.session.store->keyPrefix;
    if (o.secret.empty()) {
      context.error("oidc: a session store needs `secret`: every instance must open the same "
                    "session cookies");
      return nullptr;
    }
  }
  auto use = ClaimUse::make(o.claims, o.usernameClaim, o.forwardHeaders, error);
  if (!use) {
    context.error("oidc: " + error);
    return nullptr;
  }
  c->use = std::move(*use);
  c->clientConfig = o.clientConfig;
  std::string discovery = c->issuer + "/.well-known/openid-configuration";
  for (const auto& [k, v] : o.discoveryParams)
    discovery += (discovery.find('?') == std::string::npos ? "?" : "&") + http::queryEscape(k) + "=" +
                 http::queryEscape(v);
  c->sessionsRequired = o.backchannelLogoutSessionsRequired;
  c->discoveryClient = HttpClient::make(discovery, o.clientConfig, context.name() + "#discovery", error);
  if (!c->discoveryClient) {
    context.error("oidc: issuer: " + error);
    return nullptr;
  }
  return exchange::factoryOf<Oidc>(std::shared_ptr<const Compiled>(std::move(c)));
}

const exchange::MiddlewareRegistration registration("oidc", create, "OIDC");

}  // namespace
}  // namespace causeway::gateway::api
