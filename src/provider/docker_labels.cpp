#include "provider/docker_labels.h"

#include <re2/re2.h>

#include <algorithm>
#include <functional>
#include <set>

#include "config/flat_keys.h"
#include "config/go_template.h"
#include "core/strings.h"

namespace causeway::provider {

namespace tpl = config::gotemplate;

namespace {

// ---------------------------------------------------------------------------------------------
// constraints: Label(`k`, `v`), LabelRegex(`k`, `re`), !, &&, ||, ( ).

using Labels = std::map<std::string, std::string>;
using Predicate = std::function<bool(const Labels&)>;

class ConstraintParser {
 public:
  explicit ConstraintParser(std::string_view text) : s_(text) {}

  bool parse(Predicate& out, std::string& error) {
    if (!disjunction(out)) {
      error = error_;
      return false;
    }
    space();
    if (pos_ != s_.size()) {
      error = "unexpected \"" + std::string(s_.substr(pos_)) + "\"";
      return false;
    }
    return true;
  }

 private:
  void space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  bool fail(std::string why) {
    if (error_.empty()) error_ = std::move(why) + " at offset " + std::to_string(pos_);
    return false;
  }
  bool eat(std::string_view token) {
    space();
    if (s_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }

  bool disjunction(Predicate& out) {
    if (!conjunction(out)) return false;
    while (eat("||")) {
      Predicate right;
      if (!conjunction(right)) return false;
      out = [l = out, r = right](const Labels& labels) { return l(labels) || r(labels); };
    }
    return true;
  }
  bool conjunction(Predicate& out) {
    if (!unary(out)) return false;
    while (eat("&&")) {
      Predicate right;
      if (!unary(right)) return false;
      out = [l = out, r = right](const Labels& labels) { return l(labels) && r(labels); };
    }
    return true;
  }
  bool unary(Predicate& out) {
    if (eat("!")) {
      Predicate inner;
      if (!unary(inner)) return false;
      out = [inner](const Labels& labels) { return !inner(labels); };
      return true;
    }
    if (eat("(")) {
      if (!disjunction(out)) return false;
      if (!eat(")")) return fail("expected )");
      return true;
    }
    space();
    size_t start = pos_;
    while (pos_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    std::string name(s_.substr(start, pos_ - start));
    if (name != "Label" && name != "LabelRegex")
      return fail(name.empty() ? "expected Label(…) or LabelRegex(…)" : "unknown constraint " + name);
    std::string key, value;
    if (!eat("(") || !quoted(key) || !eat(",") || !quoted(value) || !eat(")"))
      return fail("expected " + name + "(`key`, `value`)");
    if (name == "Label") {
      out = [key, value](const Labels& labels) {
        auto it = labels.find(key);
        return it != labels.end() && it->second == value;
      };
      return true;
    }
    auto re = std::make_shared<RE2>(value, RE2::Quiet);
    if (!re->ok()) return fail("bad regular expression " + value + ": " + re->error());
    out = [key, re](const Labels& labels) {
      auto it = labels.find(key);
      return it != labels.end() && RE2::PartialMatch(it->second, *re);
    };
    return true;
  }
  bool quoted(std::string& out) {
    space();
    if (pos_ >= s_.size() || (s_[pos_] != '`' && s_[pos_] != '"')) return fail("expected a quoted string");
    char q = s_[pos_++];
    size_t end = s_.find(q, pos_);
    if (end == std::string_view::npos) return fail("unterminated string");
    out = std::string(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return true;
  }

  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;
};

std::string labelValue(const Labels& labels, std::string_view key) {
  for (const auto& [k, v] : labels)
    if (iequals(k, key)) return v;
  return {};
}
bool hasLabel(const Labels& labels, std::string_view key) {
  for (const auto& [k, v] : labels)
    if (iequals(k, key)) return true;
  return false;
}

// The HTTP section of a container's tree, created when asked for.
config::Node* section(config::Node& root, std::string_view name, bool create, const config::Location& at) {
  config::Node* found = root.find(name);
  if (found || !create) return found;
  return &root.set(std::string(name), config::Node::map(at), at);
}

bool hasEntries(const config::Node* node) { return node && node->isMap() && node->size() > 0; }

// The address of the container's `port`: "ip:port", or "" with `error`.
std::string address(const DockerContainer& c, const DockerOptions& options, int port, std::string& error) {
  if (options.useBindPortIP) {
    for (const DockerPortBinding& b : c.bindings)
      if (b.containerPort == port && b.hostPort > 0) {
        std::string ip = b.hostIp.empty() || b.hostIp == "0.0.0.0" ? "127.0.0.1" : b.hostIp == "::" ? "::1" : b.hostIp;
        return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(b.hostPort);
      }
  }
  std::string ip;
  if (c.networkMode == "host") {
    ip = "127.0.0.1";
  } else {
    std::string want = labelValue(c.labels, "traefik.docker.network");
    if (want.empty()) want = options.network;
    if (auto it = c.networks.find(want); !want.empty() && it != c.networks.end()) ip = it->second;
    for (auto it = c.networks.begin(); ip.empty() && it != c.networks.end(); ++it) ip = it->second;
  }
  if (ip.empty()) {
    error = "the container has no IP address on any network";
    return "";
  }
  return (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" + std::to_string(port);
}

// Fills the servers of one load-balancer service from the container. False with `error`.
bool fillServers(config::Node& service, const DockerContainer& c, const DockerOptions& options,
                 const config::Location& at, std::string& error) {
  config::Node* lb = service.find("loadBalancer");
  if (!lb) return true;  // weighted, mirroring, failover: nothing of the container's
  if (!lb->isMap()) *lb = config::Node::map(at);
  if (const config::Node* servers = lb->find("servers"); servers && servers->size() > 0) return true;
  config::Node server = config::Node::map(at);
  std::string scheme = "http", url;
  int port = 0;
  if (config::Node* given = lb->find("server"); given && given->isMap()) {
    if (const config::Node* p = given->find("port")) port = std::atoi(p->text().c_str());
    if (const config::Node* s = given->find("scheme"); s && !s->text().empty()) scheme = s->text();
    if (const config::Node* u = given->find("url")) url = u->text();
    for (const config::NodeEntry& e : given->entries())
      if (!iequals(e.key, "port") && !iequals(e.key, "scheme") && !iequals(e.key, "url"))
        server.set(e.key, e.value, e.keyLocation);  // weight, preservePath
    lb->erase("server");
  }
  if (url.empty()) {
    if (port == 0 && !c.exposedPorts.empty()) port = *std::min_element(c.exposedPorts.begin(), c.exposedPorts.end());
    if (port == 0) {
      error = "the container exposes no port: set traefik.http.services.<name>.loadbalancer.server.port";
      return false;
    }
    std::string hostPort = address(c, options, port, error);
    if (hostPort.empty()) return false;
    url = scheme + "://" + hostPort;
  }
  server.set("url", config::Node::scalar(url, at), at);
  config::Node list = config::Node::list(at);
  list.append(std::move(server));
  lb->set("servers", std::move(list), at);
  return true;
}

// The tcp or udp section of one container (Traefik's TCP/UDP auto-wiring): a service named
// after the container when routers exist without any service, each loadBalancer's
// `server.{port,tls,weight}` turned into `servers: [{address: ip:port, ...}]` (the lowest
// exposed port without a port label), and a router without a service given the only one.
bool wireLayer4(config::Node& section, std::string_view kind, const std::string& defaultService,
                const DockerContainer& c, const DockerOptions& options, const config::Location& at,
                const std::function<void(std::string, std::string)>& fail) {
  if (!section.find("services")) section.set("services", config::Node::map(at), at);
  // Looked up after the insertion, which may move the section's entries.
  config::Node* routers = section.find("routers");
  config::Node* services = section.find("services");
  if (services->size() == 0 && routers && routers->size() > 0)
    services->set(defaultService, config::Node::map(at), at).set("loadBalancer", config::Node::map(at), at);
  bool ok = true;
  for (const config::NodeEntry& entry : std::vector<config::NodeEntry>(services->entries())) {
    config::Node& service = *services->find(entry.key);
    config::Node* lb = service.isMap() ? service.find("loadBalancer") : nullptr;
    if (!lb) continue;  // weighted: nothing of the container's
    if (!lb->isMap()) *lb = config::Node::map(at);
    if (const config::Node* servers = lb->find("servers"); servers && servers->size() > 0) continue;
    config::Node server = config::Node::map(at);
    int port = 0;
    if (config::Node* given = lb->find("server"); given && given->isMap()) {
      if (const config::Node* p = given->find("port")) port = std::atoi(p->text().c_str());
      for (const config::NodeEntry& e : given->entries())
        if (!iequals(e.key, "port")) server.set(e.key, e.value, e.keyLocation);  // tls, weight
      lb->erase("server");
    }
    if (port == 0 && !c.exposedPorts.empty()) port = *std::min_element(c.exposedPorts.begin(), c.exposedPorts.end());
    if (port == 0) {
      fail(std::string(kind) + " service " + entry.key,
           "the container exposes no port: set traefik." + std::string(kind) + ".services." + entry.key +
               ".loadbalancer.server.port");
      ok = false;
      continue;
    }
    std::string error;
    std::string hostPort = address(c, options, port, error);
    if (hostPort.empty()) {
      fail(std::string(kind) + " service " + entry.key, error);
      ok = false;
      continue;
    }
    server.set("address", config::Node::scalar(hostPort, at), at);
    config::Node list = config::Node::list(at);
    list.append(std::move(server));
    lb->set("servers", std::move(list), at);
  }
  if (routers)
    for (const config::NodeEntry& entry : std::vector<config::NodeEntry>(routers->entries())) {
      config::Node& r = *routers->find(entry.key);
      if (!r.isMap() || r.find("service")) continue;
      if (services->size() != 1) {
        fail(std::string(kind) + " router " + entry.key, "could not define the service name for the router: too many services");
        ok = false;
        continue;
      }
      r.set("service", config::Node::scalar(services->entries().front().key, at), at);
    }
  return ok;
}

// A service without its servers, to compare definitions from several containers.
config::Node withoutServers(const config::Node& service) {
  config::Node copy = service;
  if (config::Node* lb = copy.find("loadBalancer"); lb && lb->isMap()) lb->erase("servers");
  return copy;
}

struct Merge {
  config::Node root = config::Node::map();
  std::map<std::string, std::string> owner;  // "http.services.web" → the first container
  std::set<std::string> conflicted;
  std::vector<config::ConfigError>& errors;

  void add(const config::Node& tree, const std::string& container) {
    for (const config::NodeEntry& top : tree.entries()) {
      if (!top.value.isMap()) continue;
      for (const config::NodeEntry& kind : top.value.entries()) {
        if (!kind.value.isMap()) continue;
        for (const config::NodeEntry& element : kind.value.entries())
          addElement(top.key, kind.key, element, container);
      }
    }
  }

  void addElement(const std::string& topKey, const std::string& kindKey, const config::NodeEntry& element,
                  const std::string& container) {
    std::string id = toLower(topKey + "." + kindKey + "." + element.key);
    if (conflicted.count(id)) return;
    config::Node& top = *section(root, topKey, true, element.keyLocation);
    config::Node& kind = *section(top, kindKey, true, element.keyLocation);
    config::Node* existing = kind.find(element.key);
    if (!existing) {
      kind.set(element.key, element.value, element.keyLocation);
      owner[id] = container;
      return;
    }
    if (config::sameContent(*existing, element.value)) return;
    bool services = iequals(kindKey, "services");
    if (services && config::sameContent(withoutServers(*existing), withoutServers(element.value))) {
      // Replicas of one service: their servers add up.
      config::Node* lb = existing->find("loadBalancer");
      config::Node* into = lb->find("servers");
      const config::Node* from = element.value.find("loadBalancer")->find("servers");
      if (from && !into) lb->set("servers", *from, element.keyLocation);  // the first had none
      else if (into && from)
        for (const config::Node& server : from->items()) into->append(server);
      return;
    }
    config::ConfigError error;
    error.location = element.keyLocation;
    error.element = topKey + "." + kindKey + "." + element.key;
    error.message = "defined differently by the containers " + owner[id] + " and " + container +
                    "; it is left out until they agree";
    errors.push_back(std::move(error));
    kind.erase(element.key);
    conflicted.insert(id);
  }
};

}  // namespace

std::string checkConstraints(const std::string& expression) {
  if (expression.empty()) return "";
  Predicate p;
  std::string error;
  ConstraintParser(expression).parse(p, error);
  return error;
}

config::Node buildDockerConfig(const std::vector<DockerContainer>& containers,
                               const DockerOptions& options,
                               std::vector<config::ConfigError>& errors) {
  Predicate constraint;
  if (!options.constraints.empty()) {
    std::string error;
    if (!ConstraintParser(options.constraints).parse(constraint, error)) {
      errors.push_back({{}, "providers.docker.constraints", error, false, false});
      return config::Node::map();
    }
  }
  tpl::Functions functions{{"normalize", [](const std::vector<tpl::Value>& a, tpl::Value& r, std::string&) {
                             r = normalizeName(a.empty() || !a[0].string() ? "" : *a[0].string());
                             return true;
                           }}};
  Merge merge{.errors = errors};
  std::vector<const DockerContainer*> ordered;
  for (const DockerContainer& c : containers) ordered.push_back(&c);
  std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->name < b->name; });

  for (const DockerContainer* cp : ordered) {
    const DockerContainer& c = *cp;
    // The location names the container (and the label); the element what is wrong in it.
    auto fail = [&](std::string element, std::string message, config::Location at) {
      errors.push_back({std::move(at), std::move(element), std::move(message), false, false});
    };
    bool running = c.state == "running" || iequals(labelValue(c.labels, "traefik.docker.allownonrunning"), "true");
    bool healthy = c.health.empty() || c.health == "healthy";
    std::string enable = toLower(labelValue(c.labels, "traefik.enable"));
    bool enabled = enable.empty() ? options.exposedByDefault : enable == "true";
    if (!enabled) continue;
    if (constraint && !constraint(c.labels)) continue;
    bool serversWanted = running && healthy;
    if (!serversWanted && !options.allowEmptyServices) continue;

    // The labels under traefik., as a tree.
    auto origin = config::sourceName(options.source + " container " + c.name);
    config::Location at{origin, 0, 0};
    config::Node tree = config::Node::map(at);
    bool broken = false;
    for (const auto& [key, value] : c.labels) {
      if (key.size() <= 8 || !iequals(key.substr(0, 8), "traefik.")) continue;
      std::string path = key.substr(8);
      std::string lower = toLower(path);
      if (lower == "enable" || lower.starts_with("docker.")) continue;
      config::Location location{config::sourceName(*origin + " " + key), 0, 0};
      std::string error;
      auto segments = config::splitDottedPath(path, error);
      if (!segments) {
        fail("label " + key, error, location);
        broken = true;
        continue;
      }
      std::string head = toLower(segments->front());
      if (head != "http" && head != "tcp" && head != "udp") {
        fail("label " + key, "expected a label under traefik.http, traefik.tcp or traefik.udp "
                             "(TLS options, certificates and transports cannot be set by labels)", location);
        broken = true;
        continue;
      }
      config::setPath(tree, *segments, value, location);
    }
    if (broken) continue;

    std::string service = hasLabel(c.labels, "com.docker.compose.service") && hasLabel(c.labels, "com.docker.compose.project")
                              ? labelValue(c.labels, "com.docker.compose.service") + "_" +
                                    labelValue(c.labels, "com.docker.compose.project")
                              : c.name;
    service = normalizeName(service);
    config::Node* tcp = tree.find("tcp");
    config::Node* udp = tree.find("udp");
    bool otherRouters = (tcp && hasEntries(tcp->find("routers"))) || (udp && hasEntries(udp->find("routers")));
    {
      auto failAt = [&](std::string element, std::string message) { fail(std::move(element), std::move(message), at); };
      bool wired = true;
      if (tcp && tcp->isMap()) wired = wireLayer4(*tcp, "tcp", service, c, options, at, failAt) && wired;
      if (udp && udp->isMap()) wired = wireLayer4(*udp, "udp", service, c, options, at, failAt) && wired;
      if (!wired) continue;
    }
    bool httpLabels = tree.find("http") != nullptr;
    if (otherRouters && !httpLabels) {  // a TCP/UDP container: no automatic HTTP router
      merge.add(tree, c.name);
      continue;
    }
    config::Node& http = *section(tree, "http", true, at);
    section(http, "services", true, at);
    section(http, "routers", true, at);  // both now: creating one moves the other
    config::Node& services = *http.find("services");
    if (services.size() == 0)
      services.set(service, config::Node::map(at), at).set("loadBalancer", config::Node::map(at), at);
    bool ok = true;
    for (const config::NodeEntry& entry : services.entries()) {
      config::Node& s = *services.find(entry.key);
      std::string error;
      if (!serversWanted) {
        if (config::Node* lb = s.find("loadBalancer"); lb && lb->isMap()) lb->erase("server");
        continue;  // allowEmptyServices: the service stays, with no server (503)
      }
      if (!fillServers(s, c, options, at, error)) {
        fail("service " + entry.key, error, at);
        ok = false;
      }
    }
    if (!ok) continue;
    config::Node& routers = *http.find("routers");
    if (routers.size() == 0 && !otherRouters) routers.set(service, config::Node::map(at), at);
    tpl::Value::Map labelMap;
    for (const auto& [k, v] : c.labels) labelMap[k] = v;
    tpl::Value data = tpl::Value::Map{{"Name", service}, {"ContainerName", c.name}, {"Labels", labelMap}};
    for (const config::NodeEntry& entry : std::vector<config::NodeEntry>(routers.entries())) {
      config::Node& r = *routers.find(entry.key);
      if (!r.isMap()) continue;
      if (!r.find("rule")) {
        std::string rule;
        tpl::Error error;
        if (options.defaultRule.empty() || !tpl::render(options.defaultRule, data, rule, error, &functions)) {
          fail("router " + entry.key, options.defaultRule.empty() ? "no rule, and no defaultRule"
                                                                    : "defaultRule: " + error.message, at);
          ok = false;
          continue;
        }
        r.set("rule", config::Node::scalar(rule, at), at);
      }
      if (!r.find("service")) {
        if (services.size() != 1) {
          fail("router " + entry.key, "could not define the service name for the router: too many services", at);
          ok = false;
          continue;
        }
        r.set("service", config::Node::scalar(services.entries().front().key, at), at);
      }
    }
    if (!ok) continue;
    if (routers.size() == 0) http.erase("routers");
    merge.add(tree, c.name);
  }
  return std::move(merge.root);
}

}  // namespace causeway::provider
