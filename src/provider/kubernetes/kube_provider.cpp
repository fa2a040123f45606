#include "provider/kubernetes/kube_provider.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <map>
#include <set>

#include "core/log.h"
#include "provider/source_watch.h"

namespace causeway::provider {

namespace k8s = clients::kubernetes;
using namespace std::chrono_literals;

struct KubernetesProvider::State : RemoteSource {
  std::string name, optionsPath;
  // Where the API server is cannot be found (no endpoint, not in a pod, no KUBECONFIG): not a
  // configuration error but the environment's, a warning as for an unreachable server.
  std::string accessError;
  Build build;
  std::shared_ptr<k8s::Client> client;
  std::vector<std::unique_ptr<k8s::Reflector>> reflectors;
  std::chrono::milliseconds throttle{5};  // one kubectl apply of several objects: one build
  asio::io_context* io = nullptr;
  bool pending = false;
  std::map<const k8s::Reflector*, std::string> failures;
  std::map<std::string, std::string> written;  // status path → the patch last written

  bool listed() const {
    for (const auto& r : reflectors)
      if (!r->store().listed) return false;
    return true;
  }

  LoadResult configuration() const {
    kube::KubeObjects objects;
    for (const auto& r : reflectors) objects.add(r->resource().kind, &r->store().objects);
    kube::KubeBuild built = build(objects);
    LoadResult result;
    result.ok = true;
    result.config.provider = name;
    if (built.shared) result.config.shared = std::move(built.shared);
    else result.config.root = std::move(built.root);
    result.config.notices = built.notices;
    result.errors = std::move(built.notices);
    pendingWrites = std::move(built.statusWrites);
    return result;
  }
  mutable std::vector<kube::StatusWrite> pendingWrites;
};

namespace {

awaitable<void> listAll(std::shared_ptr<KubernetesProvider::State> s, asio::io_context* io, std::string* error) {
  for (auto& r : s->reflectors) {
    *error = co_await r->list(*io);
    if (!error->empty()) co_return;
  }
}

awaitable<void> writeStatus(std::shared_ptr<KubernetesProvider::State> s, asio::io_context* io, kube::StatusWrite w) {
  std::string method = "PATCH", contentType = "application/merge-patch+json";
  clients::http::Answer answer = co_await s->client->write(*io, method, w.path, w.patch, contentType);
  if (answer.status >= 200 && answer.status < 300) co_return;
  s->written.erase(w.path);  // tried again at the next build
  log::warn(s->name + " provider: cannot write a status",
            {{"providerName", s->name},
             {"path", w.path},
             {"error", answer.status == 0 ? answer.error
                                          : std::to_string(answer.status) + " " + k8s::statusMessage(answer)}});
}

void emit(const std::shared_ptr<KubernetesProvider::State>& s) {
  if (s->stopped || !s->listed()) return;
  auto began = std::chrono::steady_clock::now();
  LoadResult built = s->configuration();
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - began).count();
  log::debug(s->name + " provider: configuration built from the objects",
             {{"providerName", s->name}, {"buildMicros", micros}});
  // While a resource cannot be read, its outage stays shown (a build from the others' changes
  // does not mean the API server answers again).
  s->watch->read(std::move(built), s->failures.empty());
  // A status no longer wanted is forgotten: an object deleted and created again gets its status.
  std::set<std::string> wanted;
  for (const kube::StatusWrite& w : s->pendingWrites) wanted.insert(w.path);
  std::erase_if(s->written, [&](const auto& entry) { return !wanted.count(entry.first); });
  for (kube::StatusWrite& w : s->pendingWrites) {
    auto& last = s->written[w.path];
    if (last == w.patch) continue;
    last = w.patch;
    asio::co_spawn(*s->io, writeStatus(s, s->io, std::move(w)), asio::detached);
  }
  s->pendingWrites.clear();
}

void schedule(const std::shared_ptr<KubernetesProvider::State>& s) {
  if (s->pending || s->stopped) return;
  s->pending = true;
  s->timer->expires_after(s->throttle);
  s->timer->async_wait([s](error_code) {
    s->pending = false;
    emit(s);
  });
}

awaitable<void> runReflector(std::shared_ptr<KubernetesProvider::State> s, k8s::Reflector* r, asio::io_context* io) {
  std::function<void()> changed = [s] { schedule(s); };
  std::function<void(const std::string&)> status = [s, r](const std::string& error) {
    if (s->stopped) return;
    if (!error.empty()) {
      s->failures[r] = error;
      s->watch->failed(error);
      return;
    }
    s->failures.erase(r);
    if (s->failures.empty()) s->watch->answering();
  };
  co_await r->run(*io, changed, status);
}

}  // namespace

KubernetesProvider::KubernetesProvider(std::string name, std::string optionsPath,
                                       const config::KubernetesOptions& options,
                                       std::vector<kube::WatchedResource> resources, Build build)
    : name_(name), state_(std::make_shared<State>()) {
  State& s = *state_;
  s.name = std::move(name);
  s.optionsPath = std::move(optionsPath);
  s.build = std::move(build);
  if (options.throttleDuration.value > 0ms)
    s.throttle = std::chrono::duration_cast<std::chrono::milliseconds>(options.throttleDuration.value);
  k8s::AccessOptions access{options.endpoint, options.token, options.certAuthFilePath};
  k8s::ClusterAccess cluster;
  if (!k8s::resolveAccess(access, cluster, s.accessError)) return;
  if (!options.labelSelector.empty()) {
    std::vector<std::function<bool(const boost::json::object*)>> parsed;
    std::string error;
    if (!kube::parseSelector(options.labelSelector, parsed, error)) {
      s.settingsError = "labelSelector: " + error;
      return;
    }
  }
  s.client = std::make_shared<k8s::Client>(std::move(cluster), options.qps, options.burst);
  std::vector<std::string> namespaces = options.namespaces;
  if (namespaces.empty()) namespaces.push_back("");
  for (const kube::WatchedResource& w : resources) {
    if (!w.resource.namespaced && options.disableClusterScopeResources) continue;
    for (const std::string& ns : w.resource.namespaced ? namespaces : std::vector<std::string>{""}) {
      k8s::ReflectorOptions ro;
      ro.ns = ns;
      if (w.selected) ro.labelSelector = options.labelSelector;
      if (w.resource.kind == "EndpointSlice") ro.indexLabel = kube::kServiceNameLabel;
      s.reflectors.push_back(std::make_unique<k8s::Reflector>(s.client, w.resource, ro));
    }
  }
}

KubernetesProvider::~KubernetesProvider() {
  state_->stop();
  for (auto& r : state_->reflectors) r->stop();
}

LoadResult KubernetesProvider::load() {
  LoadResult result;
  result.config.provider = name_;
  if (!state_->settingsError.empty()) {
    result.errors.push_back({{}, state_->optionsPath, state_->settingsError, false, false});
    return result;
  }
  if (!state_->accessError.empty()) {
    result.errors.push_back(unreachable(name_, state_->accessError, "not read until causeway starts where it can"));
    return result;
  }
  std::string error;
  runAlone([&](asio::io_context& io) { return listAll(state_, &io, &error); });
  if (!error.empty()) {
    result.errors.push_back(unreachable(name_, error, "tried again until the API server answers"));
    return result;
  }
  result = state_->configuration();
  // Status writes wait for the watch (the control loop); they are computed again there.
  state_->pendingWrites.clear();
  return result;
}

void KubernetesProvider::watch(asio::io_context& control, ConfigSink sink) {
  if (!state_->settingsError.empty()) return;  // load() reports it
  if (!state_->accessError.empty()) {
    reportStatus("cannot read the configuration: " + state_->accessError);
    return;
  }
  state_->start(control, name_, std::move(sink), statusReporter());
  state_->io = &control;
  for (auto& r : state_->reflectors) asio::co_spawn(control, runReflector(state_, r.get(), &control), asio::detached);
  // The first build of the loop writes the statuses (and emits only when load() saw otherwise).
  schedule(state_);
}

void KubernetesProvider::reload() {
  if (state_->timer) schedule(state_);
}

}  // namespace causeway::provider
