// headers: custom request/response headers, CORS (headers_cors.cpp) and the security
// headers of unrolled/secure as Traefik v3 configures it. Layering as Traefik's: the
// custom/CORS layer is outside, the security layer inside, so a preflight is answered before
// the host check, and customResponseHeaders can override (or remove, with "") a security
// header. Responses with a 1xx status are passed through untouched.
#include <map>

#include "core/bytes.h"
#include "core/strings.h"
#include "exchange/local_reply.h"
#include "exchange/replies.h"
#include "http/go_text.h"
#include "middleware/contract.h"
#include "middleware/headers/cors.h"

namespace causeway::middleware {
namespace {

struct Options {
  std::map<std::string, std::string> customRequestHeaders;
  std::map<std::string, std::string> customResponseHeaders;

  bool accessControlAllowCredentials = false;
  std::vector<std::string> accessControlAllowHeaders;
  std::vector<std::string> accessControlAllowMethods;
  std::vector<std::string> accessControlAllowOriginList;
  std::vector<std::string> accessControlAllowOriginListRegex;
  std::vector<std::string> accessControlExposeHeaders;
  std::optional<int64_t> accessControlMaxAge;
  bool addVaryHeader = false;

  std::vector<std::string> allowedHosts;
  std::vector<std::string> hostsProxyHeaders;
  std::map<std::string, std::string> sslProxyHeaders;
  std::optional<int64_t> stsSeconds;
  bool stsIncludeSubdomains = false;
  bool stsPreload = false;
  bool forceSTSHeader = false;
  bool frameDeny = false;
  std::string customFrameOptionsValue;
  bool contentTypeNosniff = false;
  bool browserXssFilter = false;
  std::string customBrowserXSSValue;
  std::string contentSecurityPolicy;
  std::string contentSecurityPolicyReportOnly;
  std::string publicKey;
  std::string referrerPolicy;
  std::string permissionsPolicy;
  bool isDevelopment = false;

  // Removed in Traefik v3 but still accepted by its decoder; they have no effect.
  std::optional<std::string> featurePolicy;
  std::optional<bool> sslRedirect;
  std::optional<bool> sslTemporaryRedirect;
  std::optional<std::string> sslHost;
  std::optional<bool> sslForceHost;

  static void describe(auto& self, auto& v) {
    v("customRequestHeaders", self.customRequestHeaders);
    v("customResponseHeaders", self.customResponseHeaders);
    v("accessControlAllowCredentials", self.accessControlAllowCredentials);
    v("accessControlAllowHeaders", self.accessControlAllowHeaders);
    v("accessControlAllowMethods", self.accessControlAllowMethods);
    v("accessControlAllowOriginList", self.accessControlAllowOriginList);
    v("accessControlAllowOriginListRegex", self.accessControlAllowOriginListRegex);
    v("accessControlExposeHeaders", self.accessControlExposeHeaders);
    v("accessControlMaxAge", self.accessControlMaxAge);
    v("addVaryHeader", self.addVaryHeader);
    v("allowedHosts", self.allowedHosts);
    v("hostsProxyHeaders", self.hostsProxyHeaders);
    v("sslProxyHeaders", self.sslProxyHeaders);
    v("stsSeconds", self.stsSeconds);
    v("stsIncludeSubdomains", self.stsIncludeSubdomains);
    v("stsPreload", self.stsPreload);
    v("forceSTSHeader", self.forceSTSHeader);
    v("frameDeny", self.frameDeny);
    v("customFrameOptionsValue", self.customFrameOptionsValue);
    v("contentTypeNosniff", self.contentTypeNosniff);
    v("browserXssFilter", self.browserXssFilter);
    v("customBrowserXSSValue", self.customBrowserXSSValue);
    v("contentSecurityPolicy", self.contentSecurityPolicy);
    v("contentSecurityPolicyReportOnly", self.contentSecurityPolicyReportOnly);
    v("publicKey", self.publicKey);
    v("referrerPolicy", self.referrerPolicy);
    v("permissionsPolicy", self.permissionsPolicy);
    v("isDevelopment", self.isDevelopment);
    v("featurePolicy", self.featurePolicy);
    v("sslRedirect", self.sslRedirect);
    v("sslTemporaryRedirect", self.sslTemporaryRedirect);
    v("sslHost", self.sslHost);
    v("sslForceHost", self.sslForceHost);
  }

  bool hasCustom() const { return !customRequestHeaders.empty() || !customResponseHeaders.empty(); }
  bool hasCors() const {
    return accessControlAllowCredentials || !accessControlAllowHeaders.empty() ||
           !accessControlAllowMethods.empty() || !accessControlAllowOriginList.empty() ||
           !accessControlAllowOriginListRegex.empty() || !accessControlExposeHeaders.empty() ||
           accessControlMaxAge || addVaryHeader;
  }
  bool hasSecure() const {
    return !allowedHosts.empty() || !hostsProxyHeaders.empty() || sslRedirect.value_or(false) ||
           sslTemporaryRedirect.value_or(false) || sslForceHost.value_or(false) ||
           !sslHost.value_or("").empty() || !sslProxyHeaders.empty() || stsSeconds ||
           stsIncludeSubdomains || stsPreload || forceSTSHeader || frameDeny ||
           !customFrameOptionsValue.empty() || contentTypeNosniff || browserXssFilter ||
           !customBrowserXSSValue.empty() || !contentSecurityPolicy.empty() ||
           !contentSecurityPolicyReportOnly.empty() || !publicKey.empty() ||
           !referrerPolicy.empty() || !featurePolicy.value_or("").empty() ||
           !permissionsPolicy.empty() || isDevelopment;
  }
};

struct CustomHeader {
  std::string name;  // canonical, as Go's Header.Set writes it
  std::string value;
  bool omitForwardedFor = false;  // "X-Forwarded-For": "" (exact spelling): no XFF at all
  bool host = false;              // "Host": sets the request's Host
};

struct Compiled {
  bool custom = false;
  bool secure = false;
  std::optional<Cors> cors;
  std::vector<CustomHeader> requestHeaders;
  std::vector<CustomHeader> responseHeaders;
  Options o;
  std::string stsValue;
  bool cspNonce = false;
};

constexpr std::string_view kNonceMarker = "$NONCE";

std::string replaceAll(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t at = text.find(from, start);
    if (at == std::string_view::npos) break;
    out.append(text.substr(start, at - start)).append(to);
    start = at + from.size();
  }
  out.append(text.substr(start));
  return out;
}

class Headers final : public Handler {
 public:
  Headers(std::shared_ptr<const Compiled> c, HandlerPtr next, const WrapContext&)
      : c_(std::move(c)), next_(std::move(next)) {}

  awaitable<void> handle(Exchange& ex) const override {
    auto& request = ex.request;
    if (c_->cors && Cors::isPreflight(request.method, request.headers)) {
      exchange::bareStatusReply(ex, 200);
      c_->cors->preflight(request.headers, ex.response.headers, ex.arena);
      ex.response.headers.set("Content-Length", "0");
      co_return;
    }
    if (c_->custom) modifyRequest(ex);

    if (c_->secure) {
      if (!hostAllowed(ex)) {
        ex.record.errorDetail = "host not allowed";
        exchange::errorReply(ex, 500, "Bad Host");
        modifyResponse(ex);
        co_return;
      }
      // Computed from the request as it arrived here, applied to whatever answers it.
      std::vector<http::HeaderField> secureHeaders;
      collectSecureHeaders(ex, secureHeaders);
      co_await next_->handle(ex);
      if (ex.response.status >= 200)
        for (const auto& f : secureHeaders)
          ex.response.headers.set(f.name, f.value);
    } else {
      co_await next_->handle(ex);
    }
    modifyResponse(ex);
  }

 private:
  void modifyRequest(Exchange& ex) const {
    auto& headers = ex.request.headers;
    for (const auto& h : c_->requestHeaders) {
      if (h.value.empty()) {
        headers.removeWithTwins(h.name);
        if (h.omitForwardedFor) ex.request.omitForwardedFor = true;
      } else if (h.host) {
        ex.request.authority = h.value;
      } else {
        headers.removeWithTwins(h.name);
        headers.add(h.name, h.value);
      }
    }
  }

  // Traefik's PostRequestModifyResponseHeaders (custom and CORS), for responses other than 1xx.
  void modifyResponse(Exchange& ex) const {
    if (!c_->custom && !c_->cors) return;
    auto& response = ex.response;
    if (response.status < 200) return;
    for (const auto& h : c_->responseHeaders) {
      if (h.value.empty())
        response.headers.remove(h.name);
      else
        response.headers.set(h.name, h.value);
    }
    if (c_->cors) c_->cors->decorate(ex.request.headers.get("Origin"), response.headers, ex.arena);
  }

  bool hostAllowed(const Exchange& ex) const {
    const auto& o = c_->o;
    if (o.allowedHosts.empty() || o.isDevelopment) return true;
    std::string_view host = ex.request.authority;
    for (const auto& name : o.hostsProxyHeaders) {
      if (std::string_view value = ex.request.headers.get(name); !value.empty()) {
        host = value;
        break;
      }
    }
    for (const auto& allowed : o.allowedHosts)
      if (iequals(allowed, host)) return true;
    return false;
  }

  bool isSsl(const Exchange& ex) const {
    if (ex.connection.tls) return true;
    for (const auto& [name, value] : c_->o.sslProxyHeaders)
      if (ex.request.headers.get(name) == value) return true;
    return false;
  }

  void collectSecureHeaders(Exchange& ex, std::vector<http::HeaderField>& out) const {
    const auto& o = c_->o;
    bool ssl = isSsl(ex);
    if (!c_->stsValue.empty() && (ssl || o.forceSTSHeader) && !o.isDevelopment)
      out.push_back({"Strict-Transport-Security", c_->stsValue});
    if (!o.customFrameOptionsValue.empty())
      out.push_back({"X-Frame-Options", o.customFrameOptionsValue});
    else if (o.frameDeny)
      out.push_back({"X-Frame-Options", "DENY"});
    if (o.contentTypeNosniff) out.push_back({"X-Content-Type-Options", "nosniff"});
    if (!o.customBrowserXSSValue.empty())
      out.push_back({"X-Xss-Protection", o.customBrowserXSSValue});
    else if (o.browserXssFilter)
      out.push_back({"X-Xss-Protection", "1; mode=block"});
    if (!o.publicKey.empty() && ssl && !o.isDevelopment)
      out.push_back({"Public-Key-Pins", o.publicKey});
    std::string_view nonce;
    if (c_->cspNonce) nonce = ex.arena.copy("'nonce-" + base64Encode(randomBytes(16), false) + "'");
    auto policy = [&](const std::string& value) -> std::string_view {
      if (!c_->cspNonce) return value;
      return ex.arena.copy(replaceAll(value, kNonceMarker, nonce));
    };
    if (!o.contentSecurityPolicy.empty())
      out.push_back({"Content-Security-Policy", policy(o.contentSecurityPolicy)});
    if (!o.contentSecurityPolicyReportOnly.empty())
      out.push_back(
          {"Content-Security-Policy-Report-Only", policy(o.contentSecurityPolicyReportOnly)});
    if (!o.referrerPolicy.empty()) out.push_back({"Referrer-Policy", o.referrerPolicy});
    if (!o.permissionsPolicy.empty()) out.push_back({"Permissions-Policy", o.permissionsPolicy});
  }

  std::shared_ptr<const Compiled> c_;
  HandlerPtr next_;
};

std::vector<CustomHeader> customHeaders(const std::map<std::string, std::string>& map,
                                        bool request) {
  std::vector<CustomHeader> out;
  for (const auto& [name, value] : map) {
    CustomHeader h;
    h.name = http::canonicalHeaderKey(name);
    h.value = value;
    h.omitForwardedFor = request && value.empty() && name == "X-Forwarded-For";
    h.host = request && !value.empty() && iequals(name, "Host");
    out.push_back(std::move(h));
  }
  return out;
}

MiddlewareFactoryPtr create(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> decoded = decodeOptions<Options>(node, context);
  if (!decoded) return nullptr;
  Options& options = *decoded;

  auto c = std::make_shared<Compiled>();
  c->custom = options.hasCustom();
  c->secure = options.hasSecure();
  if (!c->custom && !c->secure && !options.hasCors()) {
    context.error("headers configuration not valid");
    return nullptr;
  }
  if (options.hasCors()) {
    CorsOptions cors;
    cors.allowCredentials = options.accessControlAllowCredentials;
    cors.allowHeaders = options.accessControlAllowHeaders;
    cors.allowMethods = options.accessControlAllowMethods;
    cors.allowOriginList = options.accessControlAllowOriginList;
    cors.allowOriginListRegex = options.accessControlAllowOriginListRegex;
    cors.exposeHeaders = options.accessControlExposeHeaders;
    cors.maxAge = options.accessControlMaxAge;
    cors.addVaryHeader = options.addVaryHeader;
    std::string error;
    c->cors = Cors::make(std::move(cors), error);
    if (!c->cors) {
      context.error("headers: " + error);
      return nullptr;
    }
  }
  c->requestHeaders = customHeaders(options.customRequestHeaders, true);
  c->responseHeaders = customHeaders(options.customResponseHeaders, false);
  if (options.stsSeconds && *options.stsSeconds != 0) {
    c->stsValue = "max-age=" + std::to_string(*options.stsSeconds);
    if (options.stsIncludeSubdomains) c->stsValue += "; includeSubDomains";
    if (options.stsPreload) c->stsValue += "; preload";
  }
  c->cspNonce = options.contentSecurityPolicy.find(kNonceMarker) != std::string::npos ||
                options.contentSecurityPolicyReportOnly.find(kNonceMarker) != std::string::npos;
  c->o = std::move(options);
  return factoryOf<Headers>(std::move(c));
}

const exchange::MiddlewareRegistration registration("headers", create);

}  // namespace
}  // namespace causeway::middleware
