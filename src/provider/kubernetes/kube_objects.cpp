#include "provider/kubernetes/kube_objects.h"

#include <sys/mman.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <new>
#include <set>
#include <unordered_map>

#include "core/bytes.h"
#include "core/strings.h"

namespace causeway::provider::kube {

namespace {

// Whole pages from the kernel, given back when the arena is released: the documents of a build
// (as large as every object parsed, 23 MB at 5,000 routes) must not stay in the allocator's
// free lists after it, where they would count in the RSS until it decommits them. Each mapping's
// length is recorded: the arena gives back fewer bytes than it asked for (its block header).
class PageResource final : public json::memory_resource {
 public:
  ~PageResource() override {
    for (auto [p, length] : mapped_) ::munmap(p, length);
  }

 private:
  void* do_allocate(size_t n, size_t) override {
    static const size_t page = size_t(::sysconf(_SC_PAGESIZE));
    size_t length = (n + page - 1) / page * page;
    void* p = ::mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    mapped_.emplace(p, length);
    return p;
  }
  void do_deallocate(void* p, size_t, size_t) override {
    auto it = mapped_.find(p);
    if (it == mapped_.end()) return;
    ::munmap(p, it->second);
    mapped_.erase(it);
  }
  bool do_is_equal(const json::memory_resource& other) const noexcept override { return this == &other; }

  std::unordered_map<void*, size_t> mapped_;
};

}  // namespace

struct KubeObjects::Parsed {
  PageResource pages;
  json::monotonic_resource arena{64 * 1024, &pages};
  std::unordered_map<const StoredObject*, json::value> values;  // destroyed before the arena
  std::string text;  // the object being parsed, decompressed
};

KubeObjects::KubeObjects() = default;
KubeObjects::~KubeObjects() = default;
KubeObjects::KubeObjects(KubeObjects&&) noexcept = default;
KubeObjects& KubeObjects::operator=(KubeObjects&&) noexcept = default;

const json::object* KubeObjects::read(const StoredObject& stored) const {
  if (!parsed_) parsed_ = std::make_unique<Parsed>();
  auto it = parsed_->values.find(&stored);
  if (it == parsed_->values.end()) {
    error_code ec;
    json::value value(json::storage_ptr(&parsed_->arena));
    if (stored.text(parsed_->text)) value = json::parse(parsed_->text, ec, json::storage_ptr(&parsed_->arena));
    else ec = json::make_error_code(json::error::syntax);
    if (ec) value = json::value(json::storage_ptr(&parsed_->arena));  // null: stored objects are JSON objects
    it = parsed_->values.emplace(&stored, std::move(value)).first;
  }
  return it->second.if_object();
}

size_t KubeObjects::readCount() const { return parsed_ ? parsed_->values.size() : 0; }

const StoredObject* KubeObjects::findStored(std::string_view kind, std::string_view ns, std::string_view name) const {
  auto it = kinds_.find(kind);
  if (it == kinds_.end()) return nullptr;
  key_.clear();
  if (!ns.empty()) key_.append(ns).append("/");
  key_.append(name);
  for (const ObjectMap* objects : it->second)
    if (auto found = objects->find(key_); found != objects->end()) return found->second.get();
  return nullptr;
}

const json::object* KubeObjects::find(std::string_view kind, std::string_view ns, std::string_view name) const {
  const StoredObject* stored = findStored(kind, ns, name);
  return stored ? read(*stored) : nullptr;
}

std::string_view KubeObjects::versionOf(std::string_view kind, std::string_view ns, std::string_view name) const {
  const StoredObject* stored = findStored(kind, ns, name);
  return stored ? std::string_view(stored->version) : std::string_view();
}

void KubeObjects::each(std::string_view kind, const std::function<void(const json::object&)>& visit) const {
  eachStored(kind, [&](std::string_view, const StoredObject& stored) {
    if (const json::object* o = read(stored)) visit(*o);
  });
}

void KubeObjects::eachStored(std::string_view kind,
                             const std::function<void(std::string_view, const StoredObject&)>& visit) const {
  auto it = kinds_.find(kind);
  if (it == kinds_.end()) return;
  for (const ObjectMap* objects : it->second)
    for (const auto& [key, object] : *objects) visit(key, *object);
}

const std::vector<const StoredObject*>& KubeObjects::storedSlicesOf(std::string_view ns, std::string_view service) const {
  if (!slicesIndexed_) {
    slicesIndexed_ = true;
    eachStored("EndpointSlice", [&](std::string_view key, const StoredObject& slice) {
      size_t slash = key.find('/');
      std::string_view sliceNs = slash == std::string_view::npos ? std::string_view() : key.substr(0, slash);
      slices_[std::string(sliceNs).append("/").append(slice.indexed)].push_back(&slice);
    });
  }
  static const std::vector<const StoredObject*> none;
  key_.assign(ns).append("/").append(service);
  auto it = slices_.find(key_);
  return it == slices_.end() ? none : it->second;
}

const std::vector<const json::object*>& KubeObjects::slicesOf(std::string_view ns, std::string_view service) const {
  const std::vector<const StoredObject*>& stored = storedSlicesOf(ns, service);
  if (stored.empty()) {
    static const std::vector<const json::object*> none;
    return none;
  }
  // key_ is "ns/service" (storedSlicesOf)
  auto it = readSlices_.find(key_);
  if (it != readSlices_.end()) return it->second;
  std::vector<const json::object*> read;
  for (const StoredObject* slice : stored)
    if (const json::object* o = this->read(*slice)) read.push_back(o);
  return readSlices_.emplace(key_, std::move(read)).first->second;
}

const json::value* valueAt(const json::object* o, std::string_view key) { return o ? o->if_contains(key) : nullptr; }

const json::object* objectAt(const json::object* o, std::string_view key) {
  const json::value* v = valueAt(o, key);
  return v ? v->if_object() : nullptr;
}

const json::array* arrayAt(const json::object* o, std::string_view key) {
  const json::value* v = valueAt(o, key);
  return v ? v->if_array() : nullptr;
}

std::string stringAt(const json::object* o, std::string_view key) {
  const json::value* v = valueAt(o, key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

std::string_view stringViewAt(const json::object* o, std::string_view key) {
  const json::value* v = valueAt(o, key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

int64_t intAt(const json::object* o, std::string_view key, int64_t fallback) {
  const json::value* v = valueAt(o, key);
  if (!v) return fallback;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return int64_t(v->as_uint64());
  if (v->is_string()) {
    const std::string text(v->as_string());
    if (!text.empty() && text.find_first_not_of("0123456789-") == std::string::npos) return std::atoll(text.c_str());
  }
  return fallback;
}

bool boolAt(const json::object* o, std::string_view key, bool fallback) {
  const json::value* v = valueAt(o, key);
  if (!v) return fallback;
  if (v->is_bool()) return v->as_bool();
  if (v->is_string()) {
    if (iequals(v->as_string(), "true")) return true;
    if (iequals(v->as_string(), "false")) return false;
  }
  return fallback;
}

std::string nameOf(const json::object& object) { return stringAt(objectAt(&object, "metadata"), "name"); }
std::string namespaceOf(const json::object& object) { return stringAt(objectAt(&object, "metadata"), "namespace"); }

std::string annotation(const json::object& object, std::string_view key) {
  return stringAt(objectAt(objectAt(&object, "metadata"), "annotations"), key);
}

std::string label(const json::object& object, std::string_view key) {
  return stringAt(objectAt(objectAt(&object, "metadata"), "labels"), key);
}

config::Location locationOf(std::string_view kind, const json::object& object) {
  config::Location where;
  std::string ns = namespaceOf(object);
  where.source = config::sourceName(std::string(kind) + " " + (ns.empty() ? "" : ns + "/") + nameOf(object));
  return where;
}

config::Node toNode(const json::value& value, const config::Location& where) {
  switch (value.kind()) {
    case json::kind::null:
      return config::Node::null(where);
    case json::kind::bool_:
      return config::Node::scalar(value.get_bool() ? "true" : "false", where);
    case json::kind::int64:
      return config::Node::scalar(std::to_string(value.get_int64()), where);
    case json::kind::uint64:
      return config::Node::scalar(std::to_string(value.get_uint64()), where);
    case json::kind::double_:
      return config::Node::scalar(json::serialize(value), where);
    case json::kind::string:
      return config::Node::scalar(std::string(value.get_string()), where);
    case json::kind::array: {
      config::Node list = config::Node::list(where);
      for (const json::value& item : value.get_array()) list.append(toNode(item, where));
      return list;
    }
    case json::kind::object: {
      config::Node map = config::Node::map(where);
      for (const auto& [key, item] : value.get_object()) map.set(std::string(key), toNode(item, where), where);
      return map;
    }
  }
  return config::Node::null(where);
}

namespace {

// Splits on commas outside parentheses.
std::vector<std::string_view> requirements(std::string_view selector) {
  std::vector<std::string_view> out;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= selector.size(); ++i) {
    if (i == selector.size() || (selector[i] == ',' && depth == 0)) {
      if (auto r = trim(selector.substr(start, i - start)); !r.empty()) out.push_back(r);
      start = i + 1;
    } else if (selector[i] == '(') {
      ++depth;
    } else if (selector[i] == ')') {
      --depth;
    }
  }
  return out;
}

}  // namespace

bool parseSelector(std::string_view selector, std::vector<std::function<bool(const json::object*)>>& out,
                   std::string& error) {
  for (std::string_view r : requirements(selector)) {
    auto valueOf = [](const json::object* labels, const std::string& key, std::string& value) {
      const json::value* v = valueAt(labels, key);
      if (!v || !v->is_string()) return false;
      value = v->as_string();
      return true;
    };
    size_t paren = r.find('(');
    if (paren != std::string_view::npos) {  // key in (a,b) / key notin (a)
      std::string_view head = trim(r.substr(0, paren));
      bool negate = head.ends_with(" notin");
      if (!negate && !head.ends_with(" in")) {
        error = "expected `key in (…)` or `key notin (…)` in " + std::string(r);
        return false;
      }
      std::string key(trim(head.substr(0, head.size() - (negate ? 6 : 3))));
      if (r.back() != ')') {
        error = "unclosed parenthesis in " + std::string(r);
        return false;
      }
      std::set<std::string> values;
      for (std::string_view v : splitTrimmed(r.substr(paren + 1, r.size() - paren - 2), ',')) values.emplace(v);
      out.push_back([key, values, negate, valueOf](const json::object* labels) {
        std::string value;
        bool has = valueOf(labels, key, value);
        return negate ? !has || !values.count(value) : has && values.count(value) > 0;
      });
      continue;
    }
    size_t op = r.find_first_of("!=");
    if (op == std::string_view::npos) {  // key: exists
      std::string key(r);
      out.push_back([key, valueOf](const json::object* labels) {
        std::string value;
        return valueOf(labels, key, value);
      });
      continue;
    }
    if (op == 0 && r[0] == '!') {  // !key: does not exist
      std::string key(trim(r.substr(1)));
      out.push_back([key, valueOf](const json::object* labels) {
        std::string value;
        return !valueOf(labels, key, value);
      });
      continue;
    }
    bool negate = r[op] == '!';
    size_t valueStart = op + 1;
    if (negate) {
      if (op + 1 >= r.size() || r[op + 1] != '=') {
        error = "expected != in " + std::string(r);
        return false;
      }
      valueStart = op + 2;
    } else if (valueStart < r.size() && r[valueStart] == '=') {
      ++valueStart;  // ==
    }
    std::string key(trim(r.substr(0, op))), expected(trim(r.substr(valueStart)));
    if (key.empty()) {
      error = "a requirement without a key: " + std::string(r);
      return false;
    }
    out.push_back([key, expected, negate, valueOf](const json::object* labels) {
      std::string value;
      bool equal = valueOf(labels, key, value) && value == expected;
      return negate ? !equal : equal;
    });
  }
  return true;
}

namespace {

// A JSON number as an int64; -1 when it is not one exactly (1e20, 1.5), never an exception.
int64_t numberOf(const json::value& v) {
  error_code ec;
  int64_t n = v.to_number<int64_t>(ec);
  return ec ? -1 : n;
}

}  // namespace

ServicePort findServicePort(const KubeObjects& objects, std::string_view ns, std::string_view service,
                            const json::value* port) {
  ServicePort out;
  out.service = objects.find("Service", ns, service);
  if (!out.service || !port) return out;
  const json::array* ports = arrayAt(objectAt(out.service, "spec"), "ports");
  if (!ports) return out;
  for (const json::value& p : *ports) {
    const json::object* o = p.if_object();
    if (!o) continue;
    bool match = port->is_string() ? stringAt(o, "name") == port->as_string() ||
                                         std::to_string(intAt(o, "port", -1)) == std::string(port->as_string())
                                   : port->is_number() && intAt(o, "port", -1) == numberOf(*port);
    if (match) {
      out.port = o;
      break;
    }
  }
  return out;
}

std::vector<std::string> endpointAddresses(const KubeObjects& objects, const ServicePort& port, bool readyOnly) {
  std::vector<std::string> ready;
  if (!port.service || !port.port) return ready;
  std::string ns = namespaceOf(*port.service), name = nameOf(*port.service);
  std::string portName = stringAt(port.port, "name");
  std::set<std::string> seen;
  for (const json::object* s : objects.slicesOf(ns, name)) {
    const json::object& slice = *s;
    // The slice's port with the Service port's name (an unnamed Service port: the only one).
    int64_t number = -1;
    if (const json::array* ports = arrayAt(&slice, "ports"))
      for (const json::value& p : *ports)
        if (stringAt(p.if_object(), "name") == portName) number = intAt(p.if_object(), "port", -1);
    if (number <= 0) continue;
    bool v6 = stringAt(&slice, "addressType") == "IPv6";
    if (const json::array* endpoints = arrayAt(&slice, "endpoints"))
      for (const json::value& e : *endpoints) {
        const json::object* endpoint = e.if_object();
        const json::object* conditions = objectAt(endpoint, "conditions");
        // As Traefik: an endpoint serves unless `serving` is false; a terminating one is left
        // out (Traefik keeps it for sticky requests only, which causeway does not do yet).
        if (readyOnly ? !boolAt(conditions, "ready", false)
                      : !boolAt(conditions, "serving", true) || boolAt(conditions, "terminating", false))
          continue;
        if (const json::array* addresses = arrayAt(endpoint, "addresses"))
          for (const json::value& a : *addresses) {
            if (!a.is_string() || !seen.insert(std::string(a.as_string())).second) continue;  // by IP, as Traefik
            std::string address = v6 ? "[" + std::string(a.as_string()) + "]" : std::string(a.as_string());
            ready.push_back(address + ":" + std::to_string(number));
          }
      }
  }
  return ready;
}

std::string portText(const json::value* port) {
  if (!port) return "";
  if (port->is_string()) return std::string(port->as_string());
  if (port->is_int64()) return std::to_string(port->as_int64());
  if (port->is_uint64()) return std::to_string(port->as_uint64());
  return "";
}

bool serviceServers(const KubeObjects& objects, const std::string& ns, const std::string& name,
                    const json::value* portValue, const ServersOptions& options, std::vector<std::string>& urls,
                    std::string& error) {
  ServicePort port = findServicePort(objects, ns, name, portValue);
  if (!port.service) {
    error = "the Service " + ns + "/" + name + " does not exist";
    return false;
  }
  const json::object* spec = objectAt(port.service, "spec");
  std::string type = stringAt(spec, "type");
  int64_t number = -1;
  if (type == "ExternalName") {
    if (!options.allowExternalNameServices) {
      error = "the Service " + ns + "/" + name + " is of type ExternalName, and allowExternalNameServices is false";
      return false;
    }
    number = portValue && portValue->is_number() ? numberOf(*portValue) : intAt(port.port, "port", -1);
  } else {
    if (!port.port) {
      error = "the Service " + ns + "/" + name + " has no port " + portText(portValue);
      return false;
    }
    number = intAt(port.port, "port", -1);
  }
  std::string scheme = options.scheme;
  if (scheme.empty())
    scheme = number == 443 || stringAt(port.port, "name").starts_with("https") ? "https" : "http";
  urls.clear();
  if (type == "ExternalName") {
    urls.push_back(scheme + "://" + stringAt(spec, "externalName") + ":" + std::to_string(number));
    return true;
  }
  if (options.nativeLB) {
    std::string ip = stringAt(spec, "clusterIP");
    if (ip.empty() || ip == "None") {
      error = "the Service " + ns + "/" + name + " has no cluster IP for nativeLB";
      return false;
    }
    urls.push_back(scheme + "://" + (ip.find(':') != std::string::npos ? "[" + ip + "]" : ip) + ":" +
                   std::to_string(number));
    return true;
  }
  for (const std::string& address : endpointAddresses(objects, port)) urls.push_back(scheme + "://" + address);
  if (urls.empty() && !options.allowEmptyServices) {
    error = "the Service " + ns + "/" + name + " has no ready endpoints (allowEmptyServices is false)";
    return false;
  }
  return true;
}

config::Node DynamicParts::assemble() && {
  config::Node root = config::Node::map(), http = config::Node::map(), tls = config::Node::map();
  auto put = [](config::Node& parent, const char* key, config::Node& value) {
    if (value.size()) parent.set(key, std::move(value));
  };
  put(http, "routers", routers);
  put(http, "services", services);
  put(http, "middlewares", middlewares);
  put(http, "serversTransports", transports);
  put(tls, "certificates", certificates);
  put(tls, "options", tlsOptions);
  put(tls, "stores", stores);
  put(root, "http", http);
  config::Node tcp = std::move(*this).layer4("tcp"), udp = std::move(*this).layer4("udp");
  put(root, "tcp", tcp);
  put(root, "udp", udp);
  put(root, "tls", tls);
  return root;
}

config::Node DynamicParts::layer4(std::string_view protocol) && {
  config::Node out = config::Node::map();
  auto put = [&](const char* key, config::Node& value) {
    if (value.size()) out.set(key, std::move(value));
  };
  if (protocol == "tcp") {
    put("routers", tcpRouters);
    put("services", tcpServices);
    put("middlewares", tcpMiddlewares);
    put("serversTransports", tcpTransports);
  } else {
    put("routers", udpRouters);
    put("services", udpServices);
  }
  return out;
}

config::Node serversNode(const std::vector<std::string>& urls, const config::Location& where) {
  config::Node servers = config::Node::list(where);
  for (const std::string& url : urls) {
    config::Node server = config::Node::map(where);
    server.set("url", config::Node::scalar(url, where));
    servers.append(std::move(server));
  }
  return servers;
}

bool tlsCertificate(const KubeObjects& objects, const std::string& ns, const std::string& name,
                    const config::Location& where, config::Node& out, std::string& error) {
  const json::object* secret = objects.find("Secret", ns, name);
  if (!secret || label(*secret, "owner") == "helm") {
    error = "the Secret " + ns + "/" + name + " does not exist";
    return false;
  }
  std::string cert, key;
  const json::object* data = objectAt(secret, "data");
  if (!base64Decode(stringAt(data, "tls.crt"), cert) || !base64Decode(stringAt(data, "tls.key"), key) || cert.empty() ||
      key.empty()) {
    error = "the Secret " + ns + "/" + name + " has no tls.crt and tls.key";
    return false;
  }
  out = config::Node::map(where);
  out.set("certFile", config::Node::scalar(cert, where));
  out.set("keyFile", config::Node::scalar(key, where));
  return true;
}

void ingressStatus(const json::object& ingress, const json::array& wanted, std::vector<StatusWrite>& writes) {
  const json::array* current = arrayAt(objectAt(objectAt(&ingress, "status"), "loadBalancer"), "ingress");
  if (current && *current == wanted) return;
  json::object patch{{"status", json::object{{"loadBalancer", json::object{{"ingress", wanted}}}}}};
  clients::kubernetes::Resource ingresses{"networking.k8s.io", "v1", "ingresses", "Ingress", true};
  writes.push_back({ingresses.objectPath(namespaceOf(ingress), nameOf(ingress)) + "/status", json::serialize(patch)});
}

config::ConfigError objectError(std::string_view kind, const json::object& object, std::string message) {
  config::ConfigError error;
  error.location = locationOf(kind, object);
  error.message = std::move(message);
  error.warning = true;
  return error;
}

}  // namespace causeway::provider::kube
