#include "clients/kubernetes/kube_client.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <zstd.h>

#include "config/parse.h"
#include "core/bytes.h"
#include "http/uri.h"

namespace causeway::clients::kubernetes {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kMaxList = 512 << 20;  // one page of a list
constexpr auto kRequestTimeout = 30s;
constexpr const char* kServiceAccount = "/var/run/secrets/kubernetes.io/serviceaccount/";

bool readFile(const std::string& path, std::string& out) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return false;
  std::stringstream text;
  text << file.rdbuf();
  out = text.str();
  return bool(file) || file.eof();
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  return text;
}

const config::Node* named(const config::Node* list, std::string_view name) {
  if (!list) return nullptr;
  for (const config::Node& item : list->items())
    if (const config::Node* n = item.find("name"); n && n->text() == name) return &item;
  return nullptr;
}

std::string textAt(const config::Node* node, std::string_view key) {
  const config::Node* n = node ? node->find(key) : nullptr;
  return n ? n->text() : std::string();
}

// A kubeconfig's *-data field (base64 PEM) or file field (relative to the kubeconfig's folder).
bool pemFrom(const config::Node* node, std::string_view fileKey, std::string_view dataKey,
             const std::string& folder, std::string& out, std::string& error) {
  if (std::string data = textAt(node, dataKey); !data.empty()) {
    if (!base64Decode(data, out)) {
      error = std::string(dataKey) + " is not base64";
      return false;
    }
    return true;
  }
  if (std::string file = textAt(node, fileKey); !file.empty()) {
    out = std::filesystem::path(file).is_absolute() ? file : folder + "/" + file;  // a path: ClientTls reads it
  }
  return true;
}

}  // namespace

bool parseKubeconfig(std::string_view text, const std::string& path, ClusterAccess& out, std::string& error) {
  config::ParseResult parsed = config::parseYaml(text, path);
  if (config::hasErrors(parsed.errors) || !parsed.root.isMap()) {
    error = parsed.errors.empty() ? "not a kubeconfig (expected a map)" : parsed.errors.front().toString();
    return false;
  }
  const config::Node& root = parsed.root;
  std::string current = textAt(&root, "current-context");
  const config::Node* context = named(root.find("contexts"), current);
  if (current.empty() || !context) {
    error = current.empty() ? "no current-context" : "current-context " + current + " is not among contexts";
    return false;
  }
  const config::Node* contextBody = context->find("context");
  std::string clusterName = textAt(contextBody, "cluster"), userName = textAt(contextBody, "user");
  const config::Node* cluster = named(root.find("clusters"), clusterName);
  const config::Node* clusterBody = cluster ? cluster->find("cluster") : nullptr;
  if (!clusterBody) {
    error = "the context's cluster " + clusterName + " is not among clusters";
    return false;
  }
  const config::Node* user = named(root.find("users"), userName);
  const config::Node* userBody = user ? user->find("user") : nullptr;
  std::string folder = std::filesystem::path(path).parent_path().string();
  if (folder.empty()) folder = ".";

  config::ClientTls tls;
  tls.insecureSkipVerify = textAt(clusterBody, "insecure-skip-tls-verify") == "true";
  if (!pemFrom(clusterBody, "certificate-authority", "certificate-authority-data", folder, tls.ca, error)) return false;
  if (userBody) {
    if (userBody->find("exec") || userBody->find("auth-provider")) {
      error = "the user " + userName + " authenticates with an exec or auth-provider plugin, which causeway does not run; use a token or a client certificate";
      return false;
    }
    if (!pemFrom(userBody, "client-certificate", "client-certificate-data", folder, tls.cert, error) ||
        !pemFrom(userBody, "client-key", "client-key-data", folder, tls.key, error))
      return false;
    out.token = textAt(userBody, "token");
    if (std::string file = textAt(userBody, "tokenFile"); !file.empty())
      out.tokenFile = std::filesystem::path(file).is_absolute() ? file : folder + "/" + file;
  }
  std::string server = textAt(clusterBody, "server");
  if (server.empty()) {
    error = "the cluster " + clusterName + " has no server";
    return false;
  }
  if (!http::parseEndpoint(server, &tls, out.endpoint, error)) return false;
  if (std::string name = textAt(clusterBody, "tls-server-name"); !name.empty()) out.endpoint.tls.serverName = name;
  out.defaultNamespace = textAt(contextBody, "namespace");
  if (out.defaultNamespace.empty()) out.defaultNamespace = "default";
  out.description = "kubeconfig " + path + " (context " + current + ", " + server + ")";
  return true;
}

bool resolveAccess(const AccessOptions& options, ClusterAccess& out, std::string& error) {
  out = ClusterAccess{};
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  const char* kubeconfig = std::getenv("KUBECONFIG");
  if (host && *host && port && *port) {
    std::string h = host;
    std::string url = options.endpoint.empty()
                          ? "https://" + (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + port
                          : options.endpoint;
    config::ClientTls tls;
    tls.ca = options.certAuthFilePath.empty() ? std::string(kServiceAccount) + "ca.crt" : options.certAuthFilePath;
    if (!http::parseEndpoint(url, &tls, out.endpoint, error)) return false;
    out.tokenFile = std::string(kServiceAccount) + "token";
    std::string ns;
    out.defaultNamespace = readFile(std::string(kServiceAccount) + "namespace", ns) ? trimmed(ns) : "default";
    out.description = "in-cluster " + url;
    return true;
  }
  if (kubeconfig && *kubeconfig) {
    std::string paths = kubeconfig, text;
    std::string first = paths.substr(0, paths.find(':'));
    if (!readFile(first, text)) {
      error = "KUBECONFIG names " + first + ", which cannot be read";
      return false;
    }
    if (!parseKubeconfig(text, first, out, error)) {
      error = first + ": " + error;
      return false;
    }
    return true;
  }
  if (options.endpoint.empty()) {
    error = "no API server: set `endpoint`, run causeway in a pod (KUBERNETES_SERVICE_HOST), or set KUBECONFIG";
    return false;
  }
  config::ClientTls tls;
  tls.ca = options.certAuthFilePath;
  if (!http::parseEndpoint(options.endpoint, &tls, out.endpoint, error)) return false;
  out.token = options.token;
  out.defaultNamespace = "default";
  out.description = options.endpoint;
  return true;
}

std::string Resource::path(std::string_view ns) const {
  std::string out = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) out += "/namespaces/" + std::string(ns);
  return out + "/" + plural;
}

std::string Resource::objectPath(std::string_view ns, std::string_view name) const {
  return path(ns) + "/" + std::string(name);
}

Client::Client(ClusterAccess access, double qps, int burst)
    : access_(std::move(access)),
      qps_(qps),
      burst_(std::max(1, burst)),
      tokens_(std::max(1, burst)),
      refilled_(std::chrono::steady_clock::now()) {}

awaitable<void> Client::admit(asio::io_context& io) {
  if (qps_ <= 0) co_return;
  auto now = std::chrono::steady_clock::now();
  tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - refilled_).count() * qps_);
  refilled_ = now;
  tokens_ -= 1;
  if (tokens_ >= 0) co_return;
  // In debt: wait until the bucket is back at zero (later callers wait longer).
  asio::steady_timer wait(io, std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::duration<double>(-tokens_ / qps_)));
  co_await wait.async_wait(nothrow);
}

http::Request Client::request(std::string method, std::string target) const {
  http::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.headers.emplace_back("Accept", "application/json");
  r.headers.emplace_back("User-Agent", "causeway");
  std::string token = access_.token;
  if (!access_.tokenFile.empty()) {
    std::string text;
    if (readFile(access_.tokenFile, text)) token = trimmed(text);
  }
  if (!token.empty()) r.headers.emplace_back("Authorization", "Bearer " + token);
  return r;
}

awaitable<http::Answer> Client::get(asio::io_context& io, std::string target, std::chrono::milliseconds timeout) {
  co_await admit(io);
  http::Request r = request("GET", std::move(target));
  co_return co_await http::fetch(io, access_.endpoint, r, timeout, kMaxList);
}

awaitable<http::Answer> Client::watch(asio::io_context& io, std::string target, std::chrono::milliseconds idle,
                                      std::function<bool(std::string_view)> onData,
                                      std::shared_ptr<http::StreamStop> stop) {
  co_await admit(io);
  http::Request r = request("GET", std::move(target));
  std::chrono::milliseconds head = kRequestTimeout;
  co_return co_await http::stream(io, access_.endpoint, r, head, std::move(onData), std::move(stop), idle);
}

awaitable<http::Answer> Client::write(asio::io_context& io, std::string method, std::string target, std::string body,
                                      std::string contentType) {
  co_await admit(io);
  http::Request r = request(std::move(method), std::move(target));
  r.headers.emplace_back("Content-Type", std::move(contentType));
  r.body = std::move(body);
  std::chrono::milliseconds timeout = kRequestTimeout;
  co_return co_await http::fetch(io, access_.endpoint, r, timeout, 1 << 20);
}

std::string objectKey(const json::value& object) {
  const json::value* m = object.is_object() ? object.as_object().if_contains("metadata") : nullptr;
  const json::object* metadata = m ? m->if_object() : nullptr;
  if (!metadata) return "";
  auto text = [&](std::string_view key) {
    const json::value* v = metadata->if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  std::string ns = text("namespace"), name = text("name");
  return ns.empty() ? name : ns + "/" + name;
}

void trimObject(json::value& object) {
  json::object* o = object.if_object();
  json::value* metadata = o ? o->if_contains("metadata") : nullptr;
  if (!metadata || !metadata->is_object()) return;
  json::object& m = metadata->as_object();
  for (std::string_view key : {"managedFields", "uid", "selfLink", "resourceVersion"}) m.erase(key);
  if (json::value* annotations = m.if_contains("annotations"); annotations && annotations->is_object())
    annotations->as_object().erase("kubectl.kubernetes.io/last-applied-configuration");
}

namespace {

// zstd's contexts, one of each per thread (reflectors and builds run on the control thread).
ZSTD_CCtx* compressor() {
  thread_local std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> context(ZSTD_createCCtx(), ZSTD_freeCCtx);
  return context.get();
}
ZSTD_DCtx* decompressor() {
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> context(ZSTD_createDCtx(), ZSTD_freeDCtx);
  return context.get();
}

// Level 1: the objects are small and alike, so the dictionary does the work; a higher level
// saved 1–3 % on the tests' objects for twice the time.
constexpr int kPackLevel = 1;

}  // namespace

bool StoredObject::text(std::string& out) const {
  if (!compressed) {
    out = packed;
    return true;
  }
  unsigned long long size = ZSTD_getFrameContentSize(packed.data(), packed.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) return false;
  out.resize(size);
  size_t n = ZSTD_decompress_usingDict(decompressor(), out.data(), out.size(), packed.data(), packed.size(),
                                       dictionary ? dictionary->data() : nullptr, dictionary ? dictionary->size() : 0);
  if (ZSTD_isError(n) || n != size) return false;
  return true;
}

std::string StoredObject::text() const {
  std::string out;
  return text(out) ? out : std::string();
}

Object storeObject(json::value& object, std::string_view indexLabel, std::shared_ptr<const std::string>* dictionary) {
  auto stored = std::make_shared<StoredObject>();
  json::object* o = object.if_object();
  const json::value* m = o ? o->if_contains("metadata") : nullptr;
  if (const json::object* metadata = m ? m->if_object() : nullptr) {
    if (const json::value* v = metadata->if_contains("resourceVersion"); v && v->is_string())
      stored->version = v->get_string();
    const json::value* labels = indexLabel.empty() ? nullptr : metadata->if_contains("labels");
    if (const json::value* l = labels && labels->is_object() ? labels->get_object().if_contains(indexLabel) : nullptr;
        l && l->is_string())
      stored->indexed = l->get_string();
  }
  trimObject(object);
  std::string text = json::serialize(object);
  if (dictionary && !*dictionary) {
    if (o && (o->contains("data") || o->contains("stringData"))) {
      json::object shape = *o;
      shape.erase("data");
      shape.erase("stringData");
      *dictionary = std::make_shared<const std::string>(json::serialize(shape));
    } else {
      *dictionary = std::make_shared<const std::string>(text);
    }
  }
  if (dictionary) stored->dictionary = *dictionary;
  std::string packed(ZSTD_compressBound(text.size()), '\0');
  size_t n = ZSTD_compress_usingDict(compressor(), packed.data(), packed.size(), text.data(), text.size(),
                                     stored->dictionary ? stored->dictionary->data() : nullptr,
                                     stored->dictionary ? stored->dictionary->size() : 0, kPackLevel);
  if (ZSTD_isError(n)) {  // kept as it is (zstd's bound makes this a failure to allocate)
    stored->packed = std::move(text);
    stored->dictionary.reset();
  } else {
    packed.resize(n);
    packed.shrink_to_fit();
    stored->packed = std::move(packed);
    stored->compressed = true;
  }
  return stored;
}

std::string statusMessage(const http::Answer& answer) {
  error_code ec;
  json::value v = json::parse(answer.body, ec);
  if (!ec && v.is_object())
    if (const json::value* m = v.as_object().if_contains("message"); m && m->is_string()) return std::string(m->as_string());
  return answer.body.substr(0, 200);
}

Reflector::Reflector(std::shared_ptr<Client> client, Resource resource, ReflectorOptions options)
    : client_(std::move(client)), resource_(std::move(resource)), options_(std::move(options)) {}

std::string Reflector::description() const {
  std::string what = resource_.plural + (resource_.group.empty() ? "" : "." + resource_.group);
  if (!resource_.namespaced) return what;
  return what + (options_.ns.empty() ? " in all namespaces" : " in namespace " + options_.ns);
}

std::string Reflector::query(bool watch, std::string_view resourceVersion, std::string_view continueToken) const {
  std::string q = resource_.path(options_.ns) + "?";
  if (watch) {
    q += "watch=1&allowWatchBookmarks=true&timeoutSeconds=" + std::to_string(options_.watchTimeout.count());
    q += "&resourceVersion=" + ::causeway::http::queryEscape(resourceVersion);
  } else {
    q += "limit=" + std::to_string(options_.pageSize);
    if (!continueToken.empty()) q += "&continue=" + ::causeway::http::queryEscape(continueToken);
  }
  if (!options_.labelSelector.empty()) q += "&labelSelector=" + ::causeway::http::queryEscape(options_.labelSelector);
  if (!options_.fieldSelector.empty()) q += "&fieldSelector=" + ::causeway::http::queryEscape(options_.fieldSelector);
  return q;
}

awaitable<std::string> Reflector::list(asio::io_context& io) {
  std::map<std::string, Object> objects;
  std::string continueToken, version;
  for (int restarts = 0;;) {
    std::string target = query(false, "", continueToken);
    std::chrono::milliseconds timeout = kRequestTimeout;
    http::Answer answer = co_await client_->get(io, target, timeout);
    if (stopped_) co_return "stopped";
    if (answer.status == 410 && !continueToken.empty() && restarts++ < 3) {  // the continue token expired
      objects.clear();
      continueToken.clear();
      continue;
    }
    if (answer.status == 0) co_return "the API server (" + client_->access().description + "): " + answer.error;
    if (answer.status == 404 && continueToken.empty() && (!store_.listed || absent_)) {
      // The resource is not served (its CRD is not installed): nothing of it, looked for again
      // later. (A 404 once it was read is an error: its objects are kept.)
      if (!absent_) ++counters_.absent;
      absent_ = true;
      store_.objects.clear();
      store_.resourceVersion.clear();
      store_.listed = true;
      co_return "";
    }
    if (answer.status != 200)
      co_return "listing " + description() + ": the API server answered " + std::to_string(answer.status) + ": " +
          statusMessage(answer);
    error_code ec;
    json::value page = json::parse(answer.body, ec);
    const json::object* o = ec ? nullptr : page.if_object();
    const json::value* items = o ? o->if_contains("items") : nullptr;
    if (!o || !items || !(items->is_array() || items->is_null()))
      co_return "listing " + description() + ": the answer is not a list";
    if (items->is_array())
      for (json::value& item : const_cast<json::value*>(items)->as_array()) {
        std::string key = objectKey(item);
        if (!key.empty()) objects[key] = storeObject(item, options_.indexLabel, &dictionary_);
      }
    std::string next;
    if (const json::value* metadata = o->if_contains("metadata"); metadata && metadata->is_object()) {
      const json::object& m = metadata->as_object();
      if (const json::value* rv = m.if_contains("resourceVersion"); rv && rv->is_string()) version = rv->as_string();
      if (const json::value* c = m.if_contains("continue"); c && c->is_string()) next = c->as_string();
    }
    ++counters_.lists;
    absent_ = false;
    if (next.empty()) break;
    continueToken = next;
  }
  store_.objects = std::move(objects);
  store_.resourceVersion = version;
  store_.listed = true;
  co_return "";
}

bool Reflector::apply(std::string_view line, bool& expired, std::string& error) {
  error_code ec;
  json::value event = json::parse(line, ec);
  json::object* o = ec ? nullptr : event.if_object();
  const json::value* type = o ? o->if_contains("type") : nullptr;
  json::value* object = o ? o->if_contains("object") : nullptr;
  if (!type || !type->is_string() || !object || !object->is_object()) {
    error = "watching " + description() + ": an event that is not {type, object}";
    return false;
  }
  std::string_view t = type->as_string();
  if (t == "ERROR") {
    const json::value* code = object->as_object().if_contains("code");
    if (code && code->is_int64() && code->as_int64() == 410) {
      expired = true;
      ++counters_.expired;
    } else {
      const json::value* message = object->as_object().if_contains("message");
      error = "watching " + description() + ": " +
              (message && message->is_string() ? std::string(message->as_string()) : std::string("an error event"));
    }
    return false;
  }
  std::string version;
  if (const json::value* m = object->as_object().if_contains("metadata"); m && m->is_object())
    if (const json::value* rv = m->as_object().if_contains("resourceVersion"); rv && rv->is_string()) version = rv->as_string();
  if (t == "BOOKMARK") {
    ++counters_.bookmarks;
    if (!version.empty()) store_.resourceVersion = version;
    return true;
  }
  std::string key = objectKey(*object);
  if (key.empty()) {
    error = "watching " + description() + ": an object without a name";
    return false;
  }
  if (t == "DELETED") store_.objects.erase(key);
  else if (t == "ADDED" || t == "MODIFIED") store_.objects[key] = storeObject(*object, options_.indexLabel, &dictionary_);
  else {
    error = "watching " + description() + ": an event of unknown type " + std::string(t);
    return false;
  }
  if (!version.empty()) store_.resourceVersion = version;
  ++counters_.events;
  return true;
}

awaitable<void> Reflector::run(asio::io_context& io, std::function<void()> changed,
                               std::function<void(const std::string&)> status) {
  pause_ = std::make_shared<asio::steady_timer>(io);
  std::chrono::milliseconds backoff = 500ms;
  bool failing = false;
  auto failed = [&](const std::string& error) {
    failing = true;
    status(error);
  };
  while (!stopped_) {
    if (absent_) {  // not served: list again in a while, in case its CRD is installed
      pause_->expires_after(std::chrono::seconds(30));
      co_await pause_->async_wait(nothrow);
      if (stopped_) break;
      bool had = !store_.objects.empty();
      std::string error = co_await list(io);
      if (error.empty() && (had || !absent_)) changed();
      continue;
    }
    if (!store_.listed) {
      std::string error = co_await list(io);
      if (stopped_) break;
      if (!error.empty()) {
        failed(error);
      } else {
        if (failing) status("");
        failing = false;
        backoff = 500ms;
        changed();
        continue;
      }
    } else {
      bool expired = false, any = false;
      std::string error, body;  // body: the start of what came, for an error answer's message
      clients::http::LineSplitter lines;
      std::function<bool(std::string_view)> onData = [&](std::string_view data) {
        if (body.size() < 4096) body.append(data.substr(0, 4096 - body.size()));
        bool keep = true;
        bool ok = lines.feed(data, [&](std::string_view line) {
          if (!keep || line.empty()) return;
          uint64_t events = counters_.events, bookmarks = counters_.bookmarks;
          keep = apply(line, expired, error);
          if (counters_.events == events && counters_.bookmarks == bookmarks) return;
          any = true;  // an event applied: the server answers again
          if (failing) {
            status("");
            failing = false;
          }
          if (counters_.events != events) changed();
        });
        return ok && keep;
      };
      watchStop_ = std::make_shared<http::StreamStop>();
      ++counters_.watches;
      // The server ends a watch after timeoutSeconds; bookmarks come about once a minute.
      auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(options_.watchTimeout) + 90s;
      std::string target = query(true, store_.resourceVersion, "");
      http::Answer answer = co_await client_->watch(io, target, idle, onData, watchStop_);
      watchStop_ = nullptr;
      if (stopped_) break;
      if (answer.status == 410 || expired) {
        if (answer.status == 410) ++counters_.expired;
        store_.listed = false;  // compacted away: list again
        continue;
      }
      if (answer.status != 200 && answer.status != 0) {
        // Refused (429 while the server sheds load, 5xx, 403): the objects read stay; the watch
        // is tried again from the same version after a pause.
        answer.body = body;
        failed("watching " + description() + ": the API server answered " + std::to_string(answer.status) + ": " +
               statusMessage(answer));
      } else if (answer.status == 200 && error.empty() && (any || answer.error.empty())) {
        backoff = 500ms;
        continue;  // the server ended it (timeoutSeconds) or the connection broke: resume
      } else if (answer.status == 200 && error.empty()) {
        // Broken off before anything came: resume after a pause, without calling it an outage.
      } else if (!error.empty()) {
        failed(error);
        store_.listed = false;  // the stream was garbage: trust a fresh list only
      } else {
        failed("watching " + description() + ": " + answer.error);
      }
    }
    pause_->expires_after(backoff);
    backoff = std::min<std::chrono::milliseconds>(backoff * 2, 30s);
    co_await pause_->async_wait(nothrow);
  }
}

void Reflector::stop() {
  stopped_ = true;
  if (watchStop_) watchStop_->stop();
  if (pause_) pause_->cancel();
}

}  // namespace causeway::clients::kubernetes
