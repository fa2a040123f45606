// forwardAuth: asks an authentication server first. The sub-request (GET, or the client's
// method with preserveRequestMethod) carries the client's headers (all, or those listed in
// authRequestHeaders) and X-Forwarded-{For,Method,Proto,Host,Uri} (and -Port when
// trustForwardHeader is set), and with forwardBody the client's body (maxBodySize; over it
// 401). A 2xx answer lets the request go on with the headers named in authResponseHeaders /
// matching authResponseHeadersRegex copied from the answer, and the cookies named in
// addAuthCookiesToResponse added to the final response. Any other answer goes back to the
// client as it is (status, headers, body), Location resolved against the auth address
// unless preserveLocationHeader; a 401 becomes a 302 to authSigninURL when that is set.
// Failures to reach the server are a bare 500, the whole call being bounded by 30 s as
// Traefik's HTTP client. https addresses use the system trust roots, or tls.ca, a client
// certificate (tls.cert/tls.key) and tls.insecureSkipVerify.
#include <re2/re2.h>

#include <boost/url.hpp>
#include <set>

#include "config/client_tls.h"
#include "core/log.h"
#include "core/strings.h"
#include "exchange/replies.h"
#include "http/go_text.h"
#include "middleware/contract.h"
#include "router/go_regexp.h"
#include "tls/tls_stream.h"
#include "upstream/forward.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::string address;
  std::optional<config::ClientTls> tls;
  std::optional<bool> trustForwardHeader;
  std::vector<std::string> authResponseHeaders;
  std::string authResponseHeadersRegex;
  std::vector<std::string> authRequestHeaders;
  std::optional<int64_t> maxResponseBodySize;
  std::vector<std::string> addAuthCookiesToResponse;
  std::string headerField;
  bool forwardBody = false;
  std::optional<int64_t> maxBodySize;
  bool preserveLocationHeader = false;
  bool preserveRequestMethod = false;
  std::string authSigninURL;

  static void describe(auto& self, auto& v) {
    v("address", self.address);
    v("tls", self.tls);
    v("trustForwardHeader", self.trustForwardHeader);
    v("authResponseHeaders", self.authResponseHeaders);
    v("authResponseHeadersRegex", self.authResponseHeadersRegex);
    v("authRequestHeaders", self.authRequestHeaders);
    v("maxResponseBodySize", self.maxResponseBodySize);
    v("addAuthCookiesToResponse", self.addAuthCookiesToResponse);
    v("headerField", self.headerField);
    v("forwardBody", self.forwardBody);
    v("maxBodySize", self.maxBodySize);
    v("preserveLocationHeader", self.preserveLocationHeader);
    v("preserveRequestMethod", self.preserveRequestMethod);
    v("authSigninURL", self.authSigninURL);
  }
};

// Traefik's managed X-headers (forwardedheaders.XHeadersSet).
constexpr std::array<std::string_view, 13> kXHeaders = {"X-Forwarded-Proto",
                                                        "X-Forwarded-Scheme",
                                                        "X-Forwarded-For",
                                                        "X-Forwarded-Host",
                                                        "X-Forwarded-Port",
                                                        "X-Forwarded-Server",
                                                        "X-Forwarded-Uri",
                                                        "X-Forwarded-Method",
                                                        "X-Forwarded-Prefix",
                                                        "X-Forwarded-Tls-Client-Cert",
                                                        "X-Forwarded-Tls-Client-Cert-Info",
                                                        "X-Scheme",
                                                        "X-Real-Ip"};

// Not sent to the authentication server (oxy's hop headers; Proxy-Authorization is sent).
constexpr std::array<std::string_view, 6> kHopHeaders = {
    "Connection", "Keep-Alive", "Te", "Trailers", "Transfer-Encoding", "Upgrade"};

bool isManagedXHeader(std::string_view name) {
  std::string canonical = http::canonicalHeaderKey(name);
  for (char& c : canonical)
    if (c == '_') c = '-';
  canonical = http::canonicalHeaderKey(canonical);
  for (auto x : kXHeaders)
    if (canonical == x) return true;
  return false;
}

bool isHopHeader(std::string_view name) {
  for (auto h : kHopHeaders)
    if (iequals(name, h)) return true;
  return false;
}

// Go's Set-Cookie parsing, reduced to what matters here: the cookie's name, or "" when Go
// would drop the line as invalid.
std::string cookieName(std::string_view line) {
  std::string_view first = trim(line.substr(0, line.find(';')));
  size_t eq = first.find('=');
  if (eq == std::string_view::npos) return {};
  std::string_view name = trim(first.substr(0, eq));
  if (name.empty()) return {};
  for (unsigned char c : name) {
    bool token = std::isalnum(c) ||
                 std::string_view("!#$%&'*+-.^_`|~").find(char(c)) != std::string_view::npos;
    if (!token) return {};
  }
  std::string_view value = trim(first.substr(eq + 1));
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
    value = value.substr(1, value.size() - 2);
  for (unsigned char c : value)
    if (c < 0x20 || c >= 0x7f || c == '"' || c == ';' || c == '\\') return {};
  return std::string(name);
}

struct Compiled {
  std::string address;
  upstream::UpstreamEndpoint endpoint;
  std::string path = "/";
  std::string query;
  bool hasQuery = false;
  std::optional<bool> trust;
  std::vector<std::string> responseHeaders;
  std::unique_ptr<const re2::RE2> responseHeadersRegex;
  std::vector<std::string> requestHeaders;
  std::set<std::string> cookies;
  std::string headerField;
  bool forwardBody = false;
  int64_t maxBodySize = -1;
  int64_t maxResponseBodySize = -1;
  bool preserveLocation = false;
  bool preserveMethod = false;
  std::string signinUrl;
};

struct AuthResult {
  bool failed = false;    // no response (connection, timeout)
  bool tooLarge = false;  // body over maxResponseBodySize
  std::string body;
};

class ForwardAuth final : public Handler {
 public:
  ForwardAuth(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext& context)
      : c_(std::move(c)), next_(std::move(next)), name_(context.middlewareName) {}

  awaitable<void> handle(Exchange& ex) const override {
    Exchange sub(ex.worker, ex.arena, ex.connection);
    sub.snapshot = ex.snapshot;
    auto& out = sub.request;
    out.method = c_->preserveMethod ? ex.request.method : std::string_view("GET");
    out.path = c_->path;
    out.rawPath = c_->path;
    out.routingPath = c_->path;
    out.query = c_->query;
    out.hasQuery = c_->hasQuery;
    out.authority = c_->endpoint.authority();
    out.scheme = "http";

    if (c_->forwardBody && ex.request.body &&
        !(ex.request.method == "CONNECT" && !ex.request.body->length())) {
      std::string buffered;
      exchange::ReadResult read = co_await exchange::readBody(*ex.request.body, buffered, c_->maxBodySize);
      if (read == exchange::ReadResult::TooLarge) {
        ex.record.errorDetail = "request body too large for forwardAuth";
        exchange::bareStatusReply(ex, 401);
        co_return;
      }
      if (read == exchange::ReadResult::Failed) {
        ex.record.errorDetail = "error while reading the request body";
        exchange::bareStatusReply(ex, 500);
        co_return;
      }
      if (!buffered.empty()) {
        std::string_view copy = ex.arena.copy(buffered);
        ex.request.body = ex.arena.make<exchange::MemoryBody>(copy);
        out.body = ex.arena.make<exchange::MemoryBody>(copy);
      }
    }
    buildHeaders(ex, out.headers);

    AuthResult result;
    {
      using namespace asio::experimental::awaitable_operators;
      asio::steady_timer timer(ex.worker.io(), std::chrono::seconds(30));
      auto winner = co_await (call(sub, result) || timer.async_wait(nothrow));
      if (winner.index() == 1) result.failed = true;
    }
    if (result.failed) {
      log::error("Error calling forwardAuth address",
                 {{"middlewareName", name_}, {"address", c_->address}});
      ex.record.errorDetail = "forwardAuth server unreachable";
      exchange::bareStatusReply(ex, 500);
      co_return;
    }
    if (result.tooLarge) {
      ex.record.errorDetail = "forwardAuth response body too large";
      exchange::bareStatusReply(ex, 401);
      co_return;
    }
    const auto& auth = sub.response;
    if (!c_->headerField.empty()) {
      if (const auto* f = auth.headers.find(c_->headerField)) ex.record.user = f->value;
    }
    if (!c_->signinUrl.empty() && auth.status == 401) {
      exchange::goRedirect(ex, c_->signinUrl, 302);
      co_return;
    }
    if (auth.status < 200 || auth.status >= 300) {
      deny(ex, sub, result.body);
      co_return;
    }
    copyAuthHeaders(ex, auth.headers);
    std::vector<std::string_view> authCookies;
    for (const auto& f : auth.headers)
      if (iequals(f.name, "Set-Cookie") && !cookieName(f.value).empty())
        authCookies.push_back(f.value);
    co_await next_->handle(ex);
    if (!authCookies.empty() && ex.response.status >= 200)
      mergeCookies(ex.response.headers, authCookies);
  }

 private:
  awaitable<bool> call(Exchange& sub, AuthResult& result) const {
    try {
      upstream::ForwardOptions options;
      options.passHostHeader = false;
      options.appendXForwardedFor = false;
      options.sendProxyAuthorization = true;
      auto forwarded = co_await upstream::forward(sub, c_->endpoint, options);
      if (forwarded.error != upstream::ProxyError::None) {
        result.failed = true;
        co_return false;
      }
      if (sub.response.body) {
        exchange::ReadResult read = co_await exchange::readBody(*sub.response.body, result.body, c_->maxResponseBodySize);
        result.tooLarge = read == exchange::ReadResult::TooLarge;
        result.failed = read == exchange::ReadResult::Failed;
      }
      co_return true;
    } catch (...) {
      result.failed = true;  // cancelled by the timeout
      co_return false;
    }
  }

  void buildHeaders(const Exchange& ex, http::Headers& out) const {
    const auto& in = ex.request.headers;
    bool trusted = c_->trust.has_value();
    for (const auto& f : in) {
      if (iequals(f.name, "Host") || iequals(f.name, "Content-Length") || isHopHeader(f.name))
        continue;
      if (c_->trust == false && isManagedXHeader(f.name)) continue;
      out.add(f.name, f.value);
    }
    // User-Agent: none when the client sent none (trustForwardHeader set), Go's default
    // otherwise (legacy behaviour, or a filter that dropped the field).
    bool userAgentKey = in.has("User-Agent") || trusted;
    if (!c_->requestHeaders.empty()) {
      out.removeIf([&](const http::HeaderField& f) {
        for (const auto& allowed : c_->requestHeaders)
          if (iequals(f.name, allowed)) return false;
        return true;
      });
      bool listed = false;
      for (const auto& allowed : c_->requestHeaders)
        listed = listed || iequals(allowed, "User-Agent");
      if (!listed) userAgentKey = false;
    }
    if (!userAgentKey) out.add("User-Agent", "Go-http-client/1.1");

    std::string_view peer = ex.connection.peerIpText;
    std::string_view uri = requestUri(ex);
    if (trusted) {
      std::string forwardedFor;
      for (const auto& f : out)
        if (iequals(f.name, "X-Forwarded-For")) forwardedFor.append(f.value).append(", ");
      forwardedFor.append(peer);
      out.set("X-Forwarded-For", ex.arena.copy(forwardedFor));
      auto setIfAbsent = [&](std::string_view name, std::string_view value) {
        if (!out.has(name)) out.add(name, value);
      };
      setIfAbsent("X-Forwarded-Method", ex.request.method);
      setIfAbsent("X-Forwarded-Proto", ex.connection.tls ? "https" : "http");
      if (!out.has("X-Forwarded-Port")) out.add("X-Forwarded-Port", forwardedPort(ex, out));
      setIfAbsent("X-Forwarded-Host", ex.request.authority);
      setIfAbsent("X-Forwarded-Uri", uri);
    } else {
      out.set("X-Forwarded-For", peer);
      out.set("X-Forwarded-Proto", ex.connection.tls ? "https" : "http");
      out.set("X-Forwarded-Method", ex.request.method);
      out.set("X-Forwarded-Host", ex.request.authority);
      out.set("X-Forwarded-Uri", uri);
    }
  }

  static std::string_view requestUri(const Exchange& ex) {
    std::string_view path = ex.request.path.empty() ? std::string_view("/") : ex.request.path;
    if (!ex.request.hasQuery) return path;
    return ex.arena.concat({path, "?", ex.request.query});
  }

  static std::string_view forwardedPort(const Exchange& ex, const http::Headers& out) {
    std::string_view authority = ex.request.authority;
    size_t colon = authority.rfind(':');
    if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos &&
        colon + 1 < authority.size())
      return authority.substr(colon + 1);
    std::string_view proto = out.get("X-Forwarded-Proto");
    if (proto == "https" || proto == "wss" || ex.connection.tls) return "443";
    return "80";
  }

  void deny(Exchange& ex, Exchange& sub, const std::string& body) const {
    auto& r = ex.response;
    r.status = sub.response.status;
    r.reason = {};
    r.headers.clear();
    r.tunnel = nullptr;
    for (const auto& f : sub.response.headers) {
      if (isHopHeader(f.name) || iequals(f.name, "Content-Length")) continue;
      r.headers.add(f.name, f.value);
    }
    if (std::string_view location = sub.response.headers.get("Location"); !location.empty()) {
      auto resolved = resolveLocation(location);
      if (!resolved) {
        ex.record.errorDetail = "bad Location from forwardAuth server";
        exchange::bareStatusReply(ex, 500);
        return;
      }
      r.headers.set("Location", ex.arena.copy(*resolved));
    }
    r.body = ex.arena.make<exchange::MemoryBody>(ex.arena.copy(body));
    ex.record.errorDetail = "forwardAuth denied the request";
  }

  // Go's Response.Location(): the Location resolved against the auth request's URL (kept
  // as sent with preserveLocationHeader).
  std::optional<std::string> resolveLocation(std::string_view location) const {
    auto ref = boost::urls::parse_uri_reference(location);
    if (!ref) return std::nullopt;
    if (c_->preserveLocation) return std::string(location);
    auto base = boost::urls::parse_uri(c_->address);
    if (!base) return std::nullopt;
    boost::urls::url resolved;
    if (auto r = boost::urls::resolve(*base, *ref, resolved); !r) return std::nullopt;
    return std::string(resolved.buffer());
  }

  void copyAuthHeaders(Exchange& ex, const http::Headers& auth) const {
    auto& headers = ex.request.headers;
    for (const auto& name : c_->responseHeaders) {
      headers.removeWithTwins(name);
      for (const auto& f : auth)
        if (iequals(f.name, name)) headers.add(f.name, f.value);
    }
    if (const auto* regex = c_->responseHeadersRegex.get()) {
      auto matches = [regex](std::string_view name) {
        std::string canonical = http::canonicalHeaderKey(name);
        return re2::RE2::PartialMatch(canonical, *regex);
      };
      headers.removeIf([&](const http::HeaderField& f) { return matches(f.name); });
      for (const auto& f : auth)
        if (matches(f.name)) headers.add(f.name, f.value);
    }
  }

  void mergeCookies(http::Headers& response,
                    const std::vector<std::string_view>& authCookies) const {
    std::vector<std::string_view> kept;
    for (const auto& f : response) {
      if (!iequals(f.name, "Set-Cookie")) continue;
      std::string name = cookieName(f.value);
      if (!name.empty() && !c_->cookies.count(name)) kept.push_back(f.value);
    }
    response.remove("Set-Cookie");
    for (auto value : kept)
      response.add("Set-Cookie", value);
    for (auto value : authCookies)
      if (c_->cookies.count(cookieName(value))) response.add("Set-Cookie", value);
  }

  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
  std::string name_;
};

// The auth client's transport: Go's default client (30 s dial, 2 idle connections per host,
// system trust roots) unless `tls` says otherwise. Not the serversTransport of services.
std::shared_ptr<const upstream::Transport> authTransport(const MiddlewareBuildContext& context,
                                                       const std::optional<config::ClientTls>& tls,
                                                       std::string& error) {
  auto t = std::make_shared<upstream::Transport>();
  t->name = context.name() + "#forwardAuth";
  t->dialTimeout = std::chrono::seconds(30);
  t->idleConnTimeout = std::chrono::seconds(90);
  t->maxIdleConnsPerHost = 2;
  t->tls.context = tls::makeClientContext(tls.value_or(config::ClientTls{}), error);
  if (!t->tls.context) return nullptr;
  t->tls.verify = !(tls && tls->insecureSkipVerify);
  // HTTP/1.1 only: the whole auth call can then be cancelled at its deadline safely.
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  t->tls.alpn.assign(std::begin(kHttp11), std::end(kHttp11));
  t->disableHTTP2 = true;
  return t;
}

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& options = *decoded;

  auto c = std::make_shared<Compiled>();
  if (options.address.empty()) {
    context.error("forwardAuth: address is required");
    return nullptr;
  }
  if (options.tls && options.tls->caOptional)
    log::warn("tls.CAOptional option is deprecated, TLS client authentication is a server side "
              "option, please "
              "remove any usage of this option.",
              {{"middlewareName", context.name()}});
  std::string error;
  auto transport = authTransport(context, options.tls, error);
  if (!transport) {
    context.error("forwardAuth: unable to create client TLS configuration: " + error);
    return nullptr;
  }
  if (!upstream::makeEndpoint(options.address, transport, c->endpoint, error)) {
    context.error("forwardAuth: " + error);
    return nullptr;
  }
  auto parsed = boost::urls::parse_uri(options.address);
  if (parsed) {
    std::string path(parsed->encoded_path());
    c->path = path.empty() ? "/" : path;
    c->hasQuery = parsed->has_query();
    c->query = std::string(parsed->encoded_query());
  }
  c->address = options.address;
  c->trust = options.trustForwardHeader;
  c->responseHeaders = options.authResponseHeaders;
  if (!options.authResponseHeadersRegex.empty()) {
    c->responseHeadersRegex =
        router::compileGoRegex(options.authResponseHeadersRegex, error);
    if (!c->responseHeadersRegex) {
      context.error("forwardAuth: error compiling regular expression " +
                    options.authResponseHeadersRegex + ": " + error);
      return nullptr;
    }
  }
  c->requestHeaders = options.authRequestHeaders;
  if (options.trustForwardHeader == true && !c->requestHeaders.empty())
    for (auto x : kXHeaders)
      c->requestHeaders.emplace_back(x);
  c->cookies.insert(options.addAuthCookiesToResponse.begin(),
                    options.addAuthCookiesToResponse.end());
  c->headerField = options.headerField;
  c->forwardBody = options.forwardBody;
  c->maxBodySize = options.maxBodySize.value_or(-1);
  c->maxResponseBodySize = options.maxResponseBodySize.value_or(-1);
  c->preserveLocation = options.preserveLocationHeader;
  c->preserveMethod = options.preserveRequestMethod;
  c->signinUrl = options.authSigninURL;
  if (!options.trustForwardHeader)
    log::warn("trustForwardHeader is not configured: some X-Forwarded headers are replaced, others "
              "forwarded "
              "untouched; set it to false to remove them all, or true to trust them all",
              {{"middlewareName", context.name()}});
  return factoryOf<ForwardAuth>(std::move(c));
}

const exchange::MiddlewareRegistration registration("forwardAuth", create);

}  // namespace
}  // namespace causeway::middleware
