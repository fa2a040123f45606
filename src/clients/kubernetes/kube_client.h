// causeway's own client of the Kubernetes API server, on the control plane's HTTP client
// (clients/http): where the server is and how to authenticate (in-cluster service account,
// a kubeconfig file, or Traefik's `endpoint`/`token`/`certAuthFilePath`), a `qps`/`burst`
// limit on requests, and reflectors that keep the objects of one resource up to date the way
// client-go's informers do (docs/kubernetes.md, "How causeway talks to the API server"):
//
//   list (paged with limit/continue) → watch from the list's resourceVersion, with bookmarks
//   → a watch that ends is resumed from the last resourceVersion seen
//   → 410 Gone (the version was compacted away) lists again
//   → an error waits (0.5 s doubling to 30 s) and tries again;
//   → a resource the server does not serve (404: its CRD is not installed) reads as empty and is
//     listed again every 30 s.
//
// Objects are kept as JSON with what causeway never reads dropped (metadata.managedFields and
// kubectl's last-applied-configuration annotation), each shared immutable, so that a build
// reads them without copying.
//
// Threading: the control thread's event loop; nothing here is shared with the workers.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "clients/http/http_client.h"
#include "io/asio.h"

namespace causeway::clients::kubernetes {

// Where the API server is and how to present ourselves to it.
struct ClusterAccess {
  http::Endpoint endpoint;
  std::string token;          // bearer token, or
  std::string tokenFile;      // a file read again before each request (rotated service-account tokens)
  std::string defaultNamespace;
  std::string description;    // for messages: "in-cluster https://10.0.0.1:443", "kubeconfig ~/.kube/config"
};

// Traefik's options of every Kubernetes provider.
struct AccessOptions {
  std::string endpoint;          // the API server's URL
  std::string token;             // a bearer token
  std::string certAuthFilePath;  // the CA that signed the server's certificate
};

// As Traefik: without `endpoint`, inside a pod (KUBERNETES_SERVICE_HOST and _PORT set) the
// service account's token and CA under /var/run/secrets/kubernetes.io/serviceaccount; else the
// kubeconfig file named by KUBECONFIG; else `endpoint` with `token` and `certAuthFilePath`.
// False with `error` when none applies or the credentials cannot be read.
bool resolveAccess(const AccessOptions& options, ClusterAccess& out, std::string& error);

// The current context of a kubeconfig file: the cluster's server and CA (file or data,
// or insecure-skip-tls-verify), the user's token, token file or client certificate.
bool parseKubeconfig(std::string_view text, const std::string& path, ClusterAccess& out,
                     std::string& error);

// A resource of the API: {"", "v1", "services", "Service", true} → /api/v1/…/services.
struct Resource {
  std::string group;  // "" for the core group
  std::string version;
  std::string plural;
  std::string kind;
  bool namespaced = true;

  // The collection's path, in `ns` ("" for all namespaces or a cluster-scoped resource).
  std::string path(std::string_view ns) const;
  // One object's path.
  std::string objectPath(std::string_view ns, std::string_view name) const;
};

// Requests to one API server, at most `qps` per second on average and `burst` at once
// (client-go's token bucket; Traefik's defaults are 5 and 10 without options).
class Client {
 public:
  Client(ClusterAccess access, double qps, int burst);

  const ClusterAccess& access() const { return access_; }
  // A GET answered whole within `timeout`.
  awaitable<http::Answer> get(asio::io_context& io, std::string target, std::chrono::milliseconds timeout);
  // A watch: every piece of the body to `onData` until it ends, `stop` stops it or the
  // server sends nothing for `idle`.
  awaitable<http::Answer> watch(asio::io_context& io, std::string target, std::chrono::milliseconds idle,
                                std::function<bool(std::string_view)> onData,
                                std::shared_ptr<http::StreamStop> stop);
  // A write (PUT, PATCH with a merge patch, POST) with a JSON body.
  awaitable<http::Answer> write(asio::io_context& io, std::string method, std::string target, std::string body,
                                std::string contentType = "application/json");

 private:
  awaitable<void> admit(asio::io_context& io);
  http::Request request(std::string method, std::string target) const;

  ClusterAccess access_;
  double qps_;
  double burst_;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_;
};

// An object as a reflector keeps it: its JSON text, compressed, not a parsed document. A
// document costs about three times its text in memory (an IngressRoute, a Service and an
// EndpointSlice of four endpoints: 4.6 KiB parsed against 1.5 KiB of text), and the text
// compresses well against another object of its kind: zstd with the first object the reflector
// stored as a raw-content dictionary makes those 1.5 KiB about 0.25. A build parses the objects
// it reads (provider/kubernetes/kube_objects.h); what it needs of every object without reading
// it is kept beside the text.
struct StoredObject {
  std::string packed;  // the object's JSON, trimmed (trimObject); a zstd frame when `compressed`
  std::shared_ptr<const std::string> dictionary;  // what `packed` was compressed against (null: nothing)
  std::string version;  // metadata.resourceVersion
  std::string indexed;  // the value of the label ReflectorOptions::indexLabel ("" without one)
  bool compressed = false;

  // The JSON into `out` (replaced); false when it cannot be read back, which a build treats as
  // an object that is not JSON.
  bool text(std::string& out) const;
  std::string text() const;
};
using Object = std::shared_ptr<const StoredObject>;

// The objects of one resource, by "namespace/name" ("name" when cluster-scoped).
struct ObjectStore {
  std::map<std::string, Object> objects;
  std::string resourceVersion;  // where the next watch starts
  bool listed = false;          // a list has completed at least once
};

struct ReflectorOptions {
  std::string ns;             // "" for all namespaces
  std::string labelSelector;  // Kubernetes label selector syntax
  std::string fieldSelector;
  int pageSize = 500;
  std::chrono::seconds watchTimeout{300};  // the server ends a watch after this (timeoutSeconds)
  std::string indexLabel;  // a label whose value each StoredObject keeps (StoredObject::indexed)
};

// Keeps an ObjectStore of one resource up to date: list, then watch (see the top of this
// file). `changed` is called after every change to the store; `status` with why the resource
// cannot be read ("" once it can again). Runs until `stopped` is set and it wakes (stop()).
class Reflector {
 public:
  Reflector(std::shared_ptr<Client> client, Resource resource, ReflectorOptions options);

  const Resource& resource() const { return resource_; }
  const ObjectStore& store() const { return store_; }
  // Lists once (load()); "" or why not.
  awaitable<std::string> list(asio::io_context& io);
  // Lists (unless load() has), then watches until stop().
  awaitable<void> run(asio::io_context& io, std::function<void()> changed,
                      std::function<void(const std::string&)> status);
  void stop();
  // What is being read, for messages: "ingressroutes.traefik.io in all namespaces".
  std::string description() const;

  // The server's answers since the start, for tests of resumption.
  struct Counters {
    uint64_t lists = 0, watches = 0, expired = 0, bookmarks = 0, events = 0, absent = 0;
  };
  const Counters& counters() const { return counters_; }

 private:
  std::string query(bool watch, std::string_view resourceVersion, std::string_view continueToken) const;
  // Applies one watch event line; false when the watch must end (410: `expired` set; or garbage).
  bool apply(std::string_view line, bool& expired, std::string& error);

  std::shared_ptr<Client> client_;
  Resource resource_;
  ReflectorOptions options_;
  ObjectStore store_;
  // What this resource's objects are compressed against: the first one stored (storeObject).
  std::shared_ptr<const std::string> dictionary_;
  Counters counters_;
  bool stopped_ = false;
  bool absent_ = false;  // the API server does not serve the resource (404): read as empty
  std::shared_ptr<http::StreamStop> watchStop_;
  std::shared_ptr<asio::steady_timer> pause_;
};

// "namespace/name" of an object ("name" without a namespace).
std::string objectKey(const boost::json::value& object);
// The object as causeway keeps it: what no build reads is dropped from its metadata
// (managedFields, the last-applied-configuration annotation, uid, selfLink; resourceVersion is
// kept beside the text).
void trimObject(boost::json::value& object);
// The object trimmed and stored as compressed text, with its resourceVersion and the value of
// its label `indexLabel` (none when empty). With `dictionary`, the text is compressed against
// it; a null one is first made from this object (without a Secret's data: a deleted Secret's
// values must not live on in a dictionary).
Object storeObject(boost::json::value& object, std::string_view indexLabel = {},
                   std::shared_ptr<const std::string>* dictionary = nullptr);
// The message of a Status answer ("forbidden: …"), or the start of the body.
std::string statusMessage(const http::Answer& answer);

}  // namespace causeway::clients::kubernetes
