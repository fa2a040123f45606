#include "provider/kubernetes/nginx_builder.h"

#include <algorithm>
#include <boost/json.hpp>
#include <climits>
#include <map>
#include <set>

#include "core/bytes.h"
#include "core/strings.h"
#include "provider/kubernetes/gateway_builder.h"
#include "provider/kubernetes/ingress_builder.h"

namespace causeway::provider::kube {

namespace {

using config::Node;

constexpr std::string_view kPrefix = "nginx.ingress.kubernetes.io/";

// The annotations causeway reads (docs/kubernetes.md has the table); any other
// nginx.ingress.kubernetes.io/* annotation is reported on its Ingress.
const std::set<std::string, std::less<>> kSupported = {
    "rewrite-target", "use-regex", "app-root", "ssl-redirect", "force-ssl-redirect", "enable-cors",
    "cors-allow-origin", "cors-allow-methods", "cors-allow-headers", "cors-allow-credentials", "cors-max-age",
    "cors-expose-headers", "auth-url", "auth-response-headers", "auth-type", "auth-secret", "auth-secret-type",
    "auth-realm", "limit-rps", "limit-rpm", "limit-burst-multiplier", "limit-connections", "whitelist-source-range",
    "allowlist-source-range", "permanent-redirect", "permanent-redirect-code", "temporal-redirect",
    "temporal-redirect-code", "canary", "canary-weight", "canary-weight-total", "canary-by-header",
    "canary-by-header-value", "canary-by-header-pattern", "canary-by-cookie", "affinity", "session-cookie-name",
    "session-cookie-secure", "session-cookie-samesite", "session-cookie-max-age", "session-cookie-path",
    "session-cookie-domain", "backend-protocol", "proxy-ssl-verify", "proxy-ssl-name", "proxy-ssl-server-name",
    "proxy-connect-timeout", "proxy-read-timeout", "proxy-send-timeout", "custom-headers", "upstream-vhost",
    "service-upstream", "proxy-body-size", "proxy-next-upstream-tries", "enable-access-log",
    "configuration-snippet", "server-snippet", "auth-snippet"};

struct Canary {
  const json::object* ingress = nullptr;
  std::string service;  // the canary's backend Service
  json::value port;
  std::map<std::string, std::string> notes;
};

bool isTrue(const std::string& v) { return iequals(v, "true"); }

int64_t number(const std::map<std::string, std::string>& notes, const std::string& key, int64_t fallback) {
  auto it = notes.find(key);
  if (it == notes.end() || it->second.empty() || it->second.find_first_not_of("-0123456789") != std::string::npos)
    return fallback;
  return std::atoll(it->second.c_str());
}

std::string get(const std::map<std::string, std::string>& notes, const std::string& key, std::string fallback = "") {
  auto it = notes.find(key);
  return it == notes.end() ? fallback : it->second;
}

Node list(const std::vector<std::string>& items, const config::Location& where) {
  Node out = Node::list(where);
  for (const std::string& i : items) out.append(Node::scalar(i, where));
  return out;
}

std::vector<std::string> commaList(const std::string& text) {
  std::vector<std::string> out;
  for (std::string_view s : splitTrimmed(text, ',')) out.emplace_back(s);
  return out;
}

class NginxBuild {
 public:
  NginxBuild(const KubeObjects& objects, const NginxOptions& options) : objects_(objects), options_(options) {}

  KubeBuild run() {
    objects_.each("IngressClass", [&](const json::object& c) {
      if ((options_.ingressClassByName && nameOf(c) == options_.ingressClass) ||
          stringAt(objectAt(&c, "spec"), "controller") == options_.controllerClass)
        classes_.insert(nameOf(c));
    });
    std::vector<const json::object*> ingresses;
    objects_.each("Ingress", [&](const json::object& o) {
      if (ours(o)) ingresses.push_back(&o);
    });
    std::sort(ingresses.begin(), ingresses.end(), [](const json::object* a, const json::object* b) {
      std::string ta = stringAt(objectAt(a, "metadata"), "creationTimestamp");
      std::string tb = stringAt(objectAt(b, "metadata"), "creationTimestamp");
      if (ta != tb) return ta < tb;
      return namespaceOf(*a) + "/" + nameOf(*a) > namespaceOf(*b) + "/" + nameOf(*b);
    });
    std::vector<const json::object*> served;
    for (const json::object* o : ingresses) {
      auto notes = annotations(*o);
      if (!valid(*o, notes)) continue;
      reportUnsupported(*o, notes);
      if (isTrue(get(notes, "canary"))) {
        collectCanary(*o, notes);
        continue;
      }
      served.push_back(o);
      if (isTrue(get(notes, "use-regex")) || !get(notes, "rewrite-target").empty())
        if (const json::array* rules = arrayAt(objectAt(o, "spec"), "rules"))
          for (const json::value& r : *rules) regexHosts_.insert(stringAt(r.if_object(), "host"));
    }
    for (const json::object* o : served) ingress(*o);
    defaultBackendService();
    for (const auto& [key, canary] : canaries_)
      if (canary.matched) status(*canary.canary.ingress);
      else out_.notices.push_back(objectError("Ingress", *canary.canary.ingress,
                                              "the canary matches no Ingress rule for its host and path; it is ignored"));
    Node unavailable = Node::map(), lb = Node::map();
    lb.set("servers", Node::list());
    unavailable.set("loadBalancer", std::move(lb));
    parts_.services.set("unavailable-service", std::move(unavailable));
    out_.root = std::move(parts_).assemble();
    return std::move(out_);
  }

 private:
  static std::map<std::string, std::string> annotations(const json::object& o) {
    std::map<std::string, std::string> out;
    if (const json::object* all = objectAt(objectAt(&o, "metadata"), "annotations"))
      for (const auto& [key, value] : *all)
        if (key.starts_with(kPrefix) && value.is_string()) out[std::string(key.substr(kPrefix.size()))] = value.as_string();
    return out;
  }

  bool ours(const json::object& o) const {
    std::string className = stringAt(objectAt(&o, "spec"), "ingressClassName");
    if (!classes_.empty() && !className.empty()) return classes_.count(className) > 0;
    const json::value* legacy = valueAt(objectAt(objectAt(&o, "metadata"), "annotations"), "kubernetes.io/ingress.class");
    if (legacy && legacy->is_string()) return legacy->as_string() == options_.ingressClass;
    return options_.watchIngressWithoutClass;
  }

  bool valid(const json::object& o, const std::map<std::string, std::string>& notes) {
    if (!options_.allowSnippetAnnotations)
      for (const char* snippet : {"server-snippet", "configuration-snippet", "auth-snippet"})
        if (!get(notes, snippet).empty()) {
          out_.notices.push_back(objectError("Ingress", o, std::string("the ") + snippet +
                                                               " annotation is not allowed (allowSnippetAnnotations is false): the Ingress is not served"));
          return false;
        }
    if (options_.strictValidatePathType)
      if (const json::array* rules = arrayAt(objectAt(&o, "spec"), "rules"))
        for (const json::value& r : *rules)
          if (const json::array* paths = arrayAt(objectAt(r.if_object(), "http"), "paths"))
            for (const json::value& p : *paths) {
              std::string path = stringAt(p.if_object(), "path"), type = stringAt(p.if_object(), "pathType");
              bool plain = path.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") ==
                               std::string::npos && (path.empty() || path[0] == '/');
              if (!path.empty() && type != "ImplementationSpecific" && !plain) {
                out_.notices.push_back(objectError("Ingress", o, "the path " + path + " has regex characters, which pathType " +
                                                                     (type.empty() ? std::string("Prefix") : type) +
                                                                     " does not allow (strictValidatePathType): the Ingress is not served"));
                return false;
              }
            }
    return true;
  }

  void reportUnsupported(const json::object& o, const std::map<std::string, std::string>& notes) {
    for (const auto& [key, value] : notes) {
      if (kSupported.count(key)) continue;
      config::ConfigError e = objectError("Ingress", o, "the annotation " + std::string(kPrefix) + key +
                                                            " is not supported; it is ignored (docs/kubernetes.md)");
      e.unsupported = true;
      out_.notices.push_back(std::move(e));
    }
  }

  static std::string pathKey(const std::string& ns, const std::string& host, const json::object* path) {
    std::string type = stringAt(path, "pathType");
    if (type.empty()) type = "Prefix";
    return ns + "|" + host + "|" + stringAt(path, "path") + "|" + type;
  }

  void collectCanary(const json::object& o, const std::map<std::string, std::string>& notes) {
    if (const json::array* rules = arrayAt(objectAt(&o, "spec"), "rules"))
      for (const json::value& r : *rules)
        if (const json::array* paths = arrayAt(objectAt(r.if_object(), "http"), "paths"))
          for (const json::value& p : *paths) {
            std::string key = pathKey(namespaceOf(o), stringAt(r.if_object(), "host"), p.if_object());
            if (canaries_.count(key)) {
              out_.notices.push_back(objectError("Ingress", o, "another canary Ingress already matches this rule; this one is ignored"));
              continue;
            }
            const json::object* service = objectAt(objectAt(p.if_object(), "backend"), "service");
            CanaryEntry entry;
            entry.canary.ingress = &o;
            entry.canary.service = stringAt(service, "name");
            const json::object* port = objectAt(service, "port");
            entry.canary.port = stringAt(port, "name").empty() ? json::value(intAt(port, "number", 0)) : json::value(stringAt(port, "name"));
            entry.canary.notes = notes;
            canaries_[key] = std::move(entry);
          }
  }

  // The servers of a backend as URLs, or an empty list (503) with a notice.
  std::vector<std::string> servers(const json::object& o, const std::string& ns, const std::string& service,
                                   const json::value& port, const std::string& scheme, bool upstream) {
    ServersOptions how;
    how.scheme = scheme;
    how.nativeLB = upstream;
    how.allowEmptyServices = true;
    how.allowExternalNameServices = !options_.disableSvcExternalName;
    std::vector<std::string> urls;
    std::string error;
    if (!serviceServers(objects_, ns, service, &port, how, urls, error)) {
      out_.notices.push_back(objectError("Ingress", o, "cannot resolve the backend's addresses (" + error + "); it answers 503"));
      urls.clear();
    }
    return urls;
  }

  Node loadBalancer(const std::vector<std::string>& urls, const std::map<std::string, std::string>& notes,
                    const std::string& transport, const config::Location& where) {
    Node lb = Node::map(where);
    lb.set("servers", serversNode(urls, where));
    lb.set("passHostHeader", Node::scalar("true", where));
    if (!urls.empty()) lb.set("serversTransport", Node::scalar(transport, where));
    if (get(notes, "affinity") == "cookie") {
      Node cookie = Node::map(where);
      cookie.set("name", Node::scalar(get(notes, "session-cookie-name", "INGRESSCOOKIE"), where));
      cookie.set("secure", Node::scalar(isTrue(get(notes, "session-cookie-secure")) ? "true" : "false", where));
      cookie.set("httpOnly", Node::scalar("true", where));
      if (std::string s = toLower(get(notes, "session-cookie-samesite")); !s.empty()) cookie.set("sameSite", Node::scalar(s, where));
      cookie.set("maxAge", Node::scalar(std::to_string(number(notes, "session-cookie-max-age", 0)), where));
      cookie.set("path", Node::scalar(get(notes, "session-cookie-path", "/"), where));
      if (std::string d = get(notes, "session-cookie-domain"); !d.empty()) cookie.set("domain", Node::scalar(d, where));
      Node sticky = Node::map(where);
      sticky.set("cookie", std::move(cookie));
      lb.set("sticky", std::move(sticky));
    }
    Node service = Node::map(where);
    service.set("loadBalancer", std::move(lb));
    return service;
  }

  std::string scheme(const std::map<std::string, std::string>& notes) const {
    std::string p = toUpper(get(notes, "backend-protocol"));
    if (p == "HTTPS" || p == "GRPCS") return "https";
    if (p == "GRPC") return "h2c";
    return "http";
  }

  static std::string toUpper(std::string s) {
    for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
    return s;
  }

  // A Secret in the Ingress's namespace, or "ns/name" where allowCrossNamespaceResources allows.
  const json::object* resource(const std::string& kind, const std::string& ns, const std::string& ref,
                               std::string& error) const {
    std::string rns = ns, name = ref;
    if (size_t slash = ref.find('/'); slash != std::string::npos) {
      rns = ref.substr(0, slash);
      name = ref.substr(slash + 1);
      if (name.find('/') != std::string::npos) {
        error = "expected <name> or <namespace>/<name>, not " + ref;
        return nullptr;
      }
      if (rns != ns && !options_.allowCrossNamespaceResources) {
        error = "the " + kind + " " + ref + " is in another namespace, and allowCrossNamespaceResources is false";
        return nullptr;
      }
    }
    const json::object* o = objects_.find(kind, rns, name);
    if (!o || label(*o, "owner") == "helm") {
      error = "the " + kind + " " + rns + "/" + name + " does not exist";
      return nullptr;
    }
    return o;
  }

  // basicAuth / digestAuth users from auth-secret; false (with `error`) when they cannot be read.
  bool authUsers(const json::object& o, const std::map<std::string, std::string>& notes, Node& mw, std::string& suffix,
                 std::string& error, const config::Location& where) {
    std::string type = get(notes, "auth-type");
    if (type.empty()) return true;
    if (type != "basic" && type != "digest") {
      error = "auth-type must be basic or digest, not " + type;
      return false;
    }
    const json::object* secret = resource("Secret", namespaceOf(o), get(notes, "auth-secret"), error);
    if (!secret) return false;
    Node users = Node::list(where);
    const json::object* data = objectAt(secret, "data");
    if (get(notes, "auth-secret-type", "auth-file") == "auth-map") {
      if (data)
        for (const auto& [key, value] : *data) {
          std::string decoded;
          if (value.is_string() && base64Decode(value.as_string(), decoded)) users.append(Node::scalar(std::string(key) + ":" + decoded, where));
        }
    } else {
      std::string text;
      if (!base64Decode(stringAt(data, "auth"), text) || text.empty()) {
        error = "the Secret " + get(notes, "auth-secret") + " has no auth key";
        return false;
      }
      for (std::string_view line : splitTrimmed(text, '\n'))
        if (!line.empty() && line[0] != '#') users.append(Node::scalar(std::string(line), where));
    }
    Node options = Node::map(where);
    options.set("users", std::move(users));
    if (std::string realm = get(notes, "auth-realm"); !realm.empty()) options.set("realm", Node::scalar(realm, where));
    mw.set(type == "basic" ? "basicAuth" : "digestAuth", std::move(options));
    suffix = type == "basic" ? "basic-auth" : "digest-auth";
    return true;
  }

  void add(std::vector<std::string>& names, const std::string& name, Node mw) {
    parts_.middlewares.set(name, std::move(mw));
    names.push_back(name);
  }

  // The middlewares of one router, in Traefik's order. False: the location is in error (the
  // routers answer 503 through unavailable-service).
  bool middlewares(const json::object& o, const std::map<std::string, std::string>& notes, const std::string& router,
                   bool tls, bool sslRedirect, const std::string& path, bool regexHost, const Node& auth,
                   const std::string& authSuffix, std::vector<std::string>& names, const config::Location& where) {
    auto mw = [&](const char* type, Node options) {
      Node m = Node::map(where);
      m.set(type, std::move(options));
      return m;
    };
    if (sslRedirect && !tls) {
      Node options = Node::map(where);
      options.set("scheme", Node::scalar("https", where));
      options.set("permanent", Node::scalar("true", where));
      add(names, router + "-redirect-scheme", mw("redirectScheme", std::move(options)));
    }
    if (std::string root = get(notes, "app-root"); root.starts_with("/")) {
      Node options = Node::map(where);
      options.set("regex", Node::scalar("^(https?://[^/]+)/(\\?.*)?$", where));
      options.set("replacement", Node::scalar("${1}" + root, where));
      add(names, router + "-app-root", mw("redirectRegex", std::move(options)));
    }
    std::string permanent = get(notes, "permanent-redirect"), temporal = get(notes, "temporal-redirect");
    if (!permanent.empty() || !temporal.empty()) {
      bool isTemporal = !temporal.empty();
      int64_t code = number(notes, isTemporal ? "temporal-redirect-code" : "permanent-redirect-code", isTemporal ? 302 : 301);
      if (code < 300 || code > 308) code = isTemporal ? 302 : 301;
      Node options = Node::map(where);
      options.set("regex", Node::scalar(regexHost ? "^https?://[^/]+" + path : ".*", where));
      options.set("replacement", Node::scalar(isTemporal ? temporal : permanent, where));
      options.set("permanent", Node::scalar(code == 301 || code == 308 ? "true" : "false", where));
      add(names, router + "-redirect", mw("redirectRegex", std::move(options)));
    }
    if (auth.size()) add(names, router + "-" + authSuffix, auth);
    std::string ranges = notes.count("allowlist-source-range") ? get(notes, "allowlist-source-range")
                                                                : get(notes, "whitelist-source-range");
    if (!ranges.empty()) {
      Node options = Node::map(where);
      options.set("sourceRange", list(commaList(ranges), where));
      add(names, router + "-allowed-source-range", mw("ipAllowList", std::move(options)));
    }
    if (isTrue(get(notes, "enable-cors"))) {
      Node options = Node::map(where);
      options.set("accessControlAllowCredentials",
                  Node::scalar(get(notes, "cors-allow-credentials", "true") == "false" ? "false" : "true", where));
      options.set("accessControlAllowOriginList", list(commaList(get(notes, "cors-allow-origin", "*")), where));
      options.set("accessControlAllowMethods",
                  list(commaList(get(notes, "cors-allow-methods", "GET, PUT, POST, DELETE, PATCH, OPTIONS")), where));
      options.set("accessControlAllowHeaders",
                  list(commaList(get(notes, "cors-allow-headers",
                                     "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,Authorization")),
                       where));
      if (std::string expose = get(notes, "cors-expose-headers"); !expose.empty())
        options.set("accessControlExposeHeaders", list(commaList(expose), where));
      options.set("accessControlMaxAge", Node::scalar(std::to_string(number(notes, "cors-max-age", 1728000)), where));
      add(names, router + "-cors", mw("headers", std::move(options)));
    }
    if (std::string target = get(notes, "rewrite-target"); !target.empty() && target != path) {
      Node options = Node::map(where);
      options.set("regex", Node::scalar("(?i)" + path, where));
      options.set("replacement", Node::scalar(target, where));
      add(names, router + "-rewrite-target", mw("replacePathRegex", std::move(options)));
    }
    if (std::string vhost = get(notes, "upstream-vhost"); !vhost.empty()) {
      Node headers = Node::map(where), options = Node::map(where);
      headers.set("Host", Node::scalar(vhost, where));
      options.set("customRequestHeaders", std::move(headers));
      add(names, router + "-vhost", mw("headers", std::move(options)));
    }
    int64_t multiplier = number(notes, "limit-burst-multiplier", 5);
    if (multiplier < 1) multiplier = 5;
    for (const auto& [key, period] : {std::pair<std::string, std::string>{"limit-rpm", "1m"}, {"limit-rps", "1s"}})
      if (int64_t rate = number(notes, key, 0); rate > 0) {
        Node options = Node::map(where);
        options.set("average", Node::scalar(std::to_string(rate), where));
        options.set("period", Node::scalar(period, where));
        options.set("burst", Node::scalar(std::to_string(rate * multiplier), where));
        add(names, router + "-" + key, mw("rateLimit", std::move(options)));
      }
    if (int64_t connections = number(notes, "limit-connections", 0); connections > 0) {
      Node options = Node::map(where), criterion = Node::map(where);
      options.set("amount", Node::scalar(std::to_string(connections), where));
      criterion.set("ipStrategy", Node::map(where));
      options.set("sourceCriterion", std::move(criterion));
      add(names, router + "-limit-connections", mw("inFlightReq", std::move(options)));
    }
    if (std::string ref = get(notes, "custom-headers"); !ref.empty()) {
      std::string error;
      const json::object* map = resource("ConfigMap", namespaceOf(o), ref, error);
      Node headers = Node::map(where);
      if (map)
        if (const json::object* data = objectAt(map, "data"))
          for (const auto& [key, value] : *data) {
            if (std::find(options_.globalAllowedResponseHeaders.begin(), options_.globalAllowedResponseHeaders.end(),
                          std::string(key)) == options_.globalAllowedResponseHeaders.end()) {
              error = "the header " + std::string(key) + " of custom-headers is not in globalAllowedResponseHeaders";
              break;
            }
            headers.set(std::string(key), Node::scalar(value.is_string() ? std::string(value.as_string()) : "", where));
          }
      if (!error.empty()) {
        out_.notices.push_back(objectError("Ingress", o, "custom-headers: " + error + "; the Ingress answers 503"));
        return false;
      }
      Node options = Node::map(where);
      options.set("customResponseHeaders", std::move(headers));
      add(names, router + "-custom-headers", mw("headers", std::move(options)));
    }
    if (std::string url = get(notes, "auth-url"); !url.empty()) {
      Node options = Node::map(where);
      options.set("address", Node::scalar(url, where));
      if (std::string h = get(notes, "auth-response-headers"); !h.empty())
        options.set("authResponseHeaders", list(commaList(h), where));
      add(names, router + "-snippet", mw("forwardAuth", std::move(options)));
    }
    if (int64_t tries = number(notes, "proxy-next-upstream-tries", options_.proxyNextUpstreamTries); tries > 0) {
      Node options = Node::map(where);
      options.set("attempts", Node::scalar(std::to_string(tries), where));
      options.set("maxRequestBodyBytes", Node::scalar(std::to_string(options_.proxyBodySize), where));
      add(names, router + "-retry", mw("retry", std::move(options)));
    }
    return true;
  }

  void router(const std::string& name, const std::string& rule, bool tls, const std::string& service,
              const std::vector<std::string>& mws, const config::Location& where, const std::string& priority = "") {
    Node r = Node::map(where);
    const std::vector<std::string>& eps = tls ? options_.tlsEntryPoints : options_.nonTlsEntryPoints;
    if (!eps.empty()) r.set("entryPoints", list(eps, where));
    r.set("rule", Node::scalar(rule, where));
    r.set("ruleSyntax", Node::scalar("v3", where));
    if (!priority.empty()) r.set("priority", Node::scalar(priority, where));
    if (!mws.empty()) r.set("middlewares", list(mws, where));
    r.set("service", Node::scalar(service, where));
    if (tls) r.set("tls", Node::map(where));
    parts_.routers.set(name, std::move(r));
  }

  void ingress(const json::object& o) {
    std::string ns = namespaceOf(o), name = nameOf(o);
    auto notes = annotations(o);
    config::Location where = locationOf("Ingress", o);
    const json::object* spec = objectAt(&o, "spec");
    std::string error;
    Node auth = Node::map(where);
    std::string authSuffix;
    if (!authUsers(o, notes, auth, authSuffix, error, where)) {
      out_.notices.push_back(objectError("Ingress", o, "cannot resolve the auth secret (" + error + "): the Ingress is not served"));
      return;
    }
    // The servers transport of the Ingress: timeouts, and TLS to https backends.
    std::string transport = normalizeName(ns + "-" + name);
    Node st = Node::map(where), timeouts = Node::map(where);
    timeouts.set("dialTimeout", Node::scalar(std::to_string(number(notes, "proxy-connect-timeout", options_.proxyConnectTimeout)) + "s", where));
    timeouts.set("idleConnTimeout", Node::scalar(std::to_string(options_.upstreamKeepaliveTimeout) + "s", where));
    st.set("forwardingTimeouts", std::move(timeouts));
    std::string backendScheme = scheme(notes);
    if (backendScheme == "https") {
      st.set("insecureSkipVerify", Node::scalar(get(notes, "proxy-ssl-verify") == "on" ? "false" : "true", where));
      std::string serverName = get(notes, "proxy-ssl-name", get(notes, "proxy-ssl-server-name"));
      if (!serverName.empty()) st.set("serverName", Node::scalar(serverName, where));
    }
    parts_.transports.set(transport, std::move(st));
    bool sslRedirect = isTrue(get(notes, "force-ssl-redirect")) ||
                       (arrayAt(spec, "tls") && !arrayAt(spec, "tls")->empty() && get(notes, "ssl-redirect") != "false");
    bool upstream = isTrue(get(notes, "service-upstream"));
    const json::array* rules = arrayAt(spec, "rules");
    bool any = false;
    if (rules)
      for (size_t ri = 0; ri < rules->size(); ++ri) {
        const json::object* rule = (*rules)[ri].if_object();
        std::string host = stringAt(rule, "host");
        bool regexHost = regexHosts_.count(host) > 0;
        const json::array* paths = arrayAt(objectAt(rule, "http"), "paths");
        if (!paths) continue;
        for (size_t pi = 0; pi < paths->size(); ++pi) {
          const json::object* path = (*paths)[pi].if_object();
          const json::object* backend = objectAt(objectAt(path, "backend"), "service");
          std::string svc = stringAt(backend, "name");
          const json::object* portObject = objectAt(backend, "port");
          json::value port = stringAt(portObject, "name").empty() ? json::value(intAt(portObject, "number", 0))
                                                                   : json::value(stringAt(portObject, "name"));
          std::string serviceName = normalizeName(ns + "-" + name + "-" + svc + "-" + portText(&port));
          if (!parts_.services.find(serviceName))
            parts_.services.set(serviceName, loadBalancer(servers(o, ns, svc, port, backendScheme, upstream), notes, transport, where));
          std::string routerName = normalizeName(ns + "-" + name + "-rule-" + std::to_string(ri) + "-path-" + std::to_string(pi));
          std::string text = stringAt(path, "path"), type = stringAt(path, "pathType");
          std::string ruleText = host.empty() ? "" : "Host(" + goQuote(host) + ")";
          if (!text.empty()) {
            std::string part;
            if (type == "Exact") part = "Path(" + goQuote(text) + ")";
            else if (regexHost) part = "PathRegexp(" + goQuote("(?i)^" + text) + ")";
            else if (text == "/") part = "PathPrefix(\"/\")";
            else {
              std::string trimmed = text.ends_with("/") ? text.substr(0, text.size() - 1) : text;
              part = "(Path(" + goQuote(trimmed) + ") || PathPrefix(" + goQuote(trimmed + "/") + "))";
            }
            ruleText += (ruleText.empty() ? "" : " && ") + part;
          }
          if (ruleText.empty()) ruleText = "PathPrefix(\"/\")";
          // A canary of this host and path: a weighted service, and header or cookie routers.
          std::string target = serviceName;
          auto canary = canaries_.find(pathKey(ns, host, path));
          std::vector<std::string> canaryRules;
          std::string canaryService;
          if (canary != canaries_.end()) {
            canary->second.matched = true;
            const Canary& c = canary->second.canary;
            canaryService = serviceName + "-canary";
            parts_.services.set(canaryService, loadBalancer(servers(*c.ingress, ns, c.service, c.port, backendScheme, upstream),
                                                      notes, transport, where));
            int64_t total = std::max<int64_t>(number(c.notes, "canary-weight-total", 100), 100);
            int64_t weight = std::clamp<int64_t>(number(c.notes, "canary-weight", 0), 0, total);
            Node children = Node::list(where);
            for (const auto& [child, w] : {std::pair<std::string, int64_t>{serviceName, total - weight}, {canaryService, weight}}) {
              Node entry = Node::map(where);
              entry.set("name", Node::scalar(child, where));
              entry.set("weight", Node::scalar(std::to_string(w), where));
              children.append(std::move(entry));
            }
            Node weighted = Node::map(where), wrr = Node::map(where);
            weighted.set("services", std::move(children));
            wrr.set("weighted", std::move(weighted));
            target = serviceName + "-wrr";
            parts_.services.set(target, std::move(wrr));
            std::string header = get(c.notes, "canary-by-header"), cookie = get(c.notes, "canary-by-cookie");
            if (!header.empty()) {
              if (std::string value = get(c.notes, "canary-by-header-value"); !value.empty())
                canaryRules.push_back("Header(" + goQuote(header) + ", " + goQuote(value) + ")");
              else if (std::string pattern = get(c.notes, "canary-by-header-pattern"); !pattern.empty())
                canaryRules.push_back("HeaderRegexp(" + goQuote(header) + ", " + goQuote(pattern) + ")");
              else
                canaryRules.push_back("Header(" + goQuote(header) + ", \"always\")");
            }
            if (!cookie.empty())
              canaryRules.push_back("HeaderRegexp(\"Cookie\", " + goQuote("(^|;\\s*)" + cookie + "=always(;|$)") + ")");
          }
          for (bool tls : {false, true}) {
            std::string rname = routerName + (tls ? "-tls" : "");
            std::vector<std::string> mws;
            bool ok = middlewares(o, notes, rname, tls, sslRedirect, text, regexHost, auth, authSuffix, mws, where);
            router(rname, ruleText, tls, ok ? target : "unavailable-service", ok ? mws : std::vector<std::string>{}, where);
            if (!canaryRules.empty() && ok) {
              std::string alternatives;
              for (const std::string& c : canaryRules) alternatives += (alternatives.empty() ? "" : " || ") + c;
              std::string cname = routerName + "-canary" + (tls ? "-tls" : "");
              std::vector<std::string> cmws;
              middlewares(o, notes, cname, tls, sslRedirect, text, regexHost, auth, authSuffix, cmws, where);
              router(cname, "(" + ruleText + ") && (" + alternatives + ")", tls, canaryService, cmws, where);
            }
          }
          any = true;
        }
      }
    // spec.defaultBackend: of an Ingress without rules, the catch-all.
    if (const json::object* backend = objectAt(objectAt(spec, "defaultBackend"), "service");
        backend && (!rules || rules->empty()) && options_.defaultBackendService.empty() && !parts_.routers.find("default-backend")) {
      const json::object* portObject = objectAt(backend, "port");
      json::value port = stringAt(portObject, "name").empty() ? json::value(intAt(portObject, "number", 0))
                                                               : json::value(stringAt(portObject, "name"));
      parts_.services.set("default-backend", loadBalancer(servers(o, ns, stringAt(backend, "name"), port, backendScheme, upstream),
                                                    notes, transport, where));
      for (bool tls : {false, true})
        router(tls ? "default-backend-tls" : "default-backend", "PathPrefix(\"/\")", tls, "default-backend", {}, where,
               std::to_string(INT_MIN));
      any = true;
    }
    if (const json::array* tls = arrayAt(spec, "tls"))
      for (const json::value& entry : *tls) {
        std::string secretName = stringAt(entry.if_object(), "secretName");
        if (secretName.empty() || !certificatesSeen_.insert(ns + "/" + secretName).second) continue;
        Node pair;
        if (!tlsCertificate(objects_, ns, secretName, where, pair, error)) {
          out_.notices.push_back(objectError("Ingress", o, "spec.tls: " + error + "; the default certificate is served"));
          continue;
        }
        parts_.certificates.append(std::move(pair));
      }
    if (any) status(o);
  }

  void defaultBackendService() {
    if (options_.defaultBackendService.empty()) return;
    std::string ref = options_.defaultBackendService;
    size_t slash = ref.find('/');
    std::string ns = slash == std::string::npos ? "default" : ref.substr(0, slash);
    std::string name = slash == std::string::npos ? ref : ref.substr(slash + 1);
    const json::object* service = objects_.find("Service", ns, name);
    const json::array* ports = arrayAt(objectAt(service, "spec"), "ports");
    if (!service || !ports || ports->empty()) {
      out_.notices.push_back({{}, "providers.kubernetesIngressNGINX.defaultBackendService",
                              "the Service " + ref + " does not exist or has no port", true, false});
      return;
    }
    json::value port = intAt((*ports)[0].if_object(), "port", 0);
    config::Location where = locationOf("Service", *service);
    std::vector<std::string> urls = servers(*service, ns, name, port, "http", false);
    parts_.services.set("default-backend", loadBalancer(urls, {}, "", where));
    for (bool tls : {false, true})
      router(tls ? "default-backend-tls" : "default-backend", "PathPrefix(\"/\")", tls, "default-backend", {}, where,
             std::to_string(INT_MIN));
  }

  void status(const json::object& o) {
    json::array wanted;
    if (!options_.publishStatusAddress.empty()) {
      for (const std::string& a : options_.publishStatusAddress) {
        bool ip = a.find_first_not_of("0123456789.:abcdefABCDEF") == std::string::npos && a.find_first_of(".:") != std::string::npos;
        wanted.push_back(json::object{{ip ? "ip" : "hostname", a}});
      }
    } else if (!options_.publishService.empty()) {
      size_t slash = options_.publishService.find('/');
      std::string ns = slash == std::string::npos ? "default" : options_.publishService.substr(0, slash);
      std::string name = slash == std::string::npos ? options_.publishService : options_.publishService.substr(slash + 1);
      const json::object* service = objects_.find("Service", ns, name);
      const json::object* spec = objectAt(service, "spec");
      std::string type = stringAt(spec, "type");
      if (type == "ExternalName") wanted.push_back(json::object{{"hostname", stringAt(spec, "externalName")}});
      else if (type == "LoadBalancer") {
        if (const json::array* ingress = arrayAt(objectAt(objectAt(service, "status"), "loadBalancer"), "ingress"))
          wanted = *ingress;
      } else if (!stringAt(spec, "clusterIP").empty()) wanted.push_back(json::object{{"ip", stringAt(spec, "clusterIP")}});
    } else {
      return;
    }
    ingressStatus(o, wanted, out_.statusWrites);
  }

  struct CanaryEntry {
    Canary canary;
    bool matched = false;
  };

  const KubeObjects& objects_;
  const NginxOptions& options_;
  KubeBuild out_;
  std::set<std::string> classes_, regexHosts_, certificatesSeen_;
  std::map<std::string, CanaryEntry> canaries_;
  DynamicParts parts_;
};

}  // namespace

std::vector<WatchedResource> nginxResources() {
  std::vector<WatchedResource> out = ingressResources();  // and ConfigMaps (custom-headers)
  out.push_back({{"", "v1", "configmaps", "ConfigMap", true}, false});
  return out;
}

KubeBuild buildNginxConfig(const KubeObjects& objects, const NginxOptions& options) {
  return NginxBuild(objects, options).run();
}

}  // namespace causeway::provider::kube
