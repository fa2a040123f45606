#include "provider/docker_provider.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "clients/http/http_client.h"
#include "core/bytes.h"
#include "provider/docker_labels.h"
#include "provider/source_watch.h"

namespace causeway::provider {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

constexpr int64_t kMaxAnswer = 64 << 20;
constexpr auto kRelist = 30s;  // the safety net under the events stream

std::string stringAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}
const json::object* objectAt(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}

// One container from GET /containers/{id}/json.
bool parseInspect(const json::value& v, DockerContainer& c) {
  const json::object* o = v.if_object();
  if (!o) return false;
  c.id = stringAt(*o, "Id");
  c.name = stringAt(*o, "Name");
  if (!c.name.empty() && c.name.front() == '/') c.name.erase(0, 1);
  if (const json::object* config = objectAt(*o, "Config")) {
    if (const json::object* labels = objectAt(*config, "Labels"))
      for (const auto& [k, value] : *labels)
        if (value.is_string()) c.labels[std::string(k)] = std::string(value.as_string());
    if (const json::object* exposed = objectAt(*config, "ExposedPorts"))
      for (const auto& [k, value] : *exposed) {
        std::string port(k);
        if (port.ends_with("/tcp") || port.find('/') == std::string::npos)
          if (int n = std::atoi(port.c_str()); n > 0) c.exposedPorts.push_back(n);
      }
    std::sort(c.exposedPorts.begin(), c.exposedPorts.end());
  }
  if (const json::object* state = objectAt(*o, "State")) {
    c.state = stringAt(*state, "Status");
    if (const json::object* health = objectAt(*state, "Health")) c.health = stringAt(*health, "Status");
  }
  if (const json::object* host = objectAt(*o, "HostConfig")) c.networkMode = stringAt(*host, "NetworkMode");
  if (const json::object* settings = objectAt(*o, "NetworkSettings")) {
    if (const json::object* networks = objectAt(*settings, "Networks"))
      for (const auto& [name, value] : *networks)
        if (value.is_object()) {
          std::string ip = stringAt(value.as_object(), "IPAddress");
          if (ip.empty()) ip = stringAt(value.as_object(), "GlobalIPv6Address");
          c.networks[std::string(name)] = ip;
        }
    if (const json::object* ports = objectAt(*settings, "Ports"))
      for (const auto& [k, value] : *ports) {
        if (!value.is_array()) continue;
        for (const json::value& b : value.as_array()) {
          if (!b.is_object()) continue;
          DockerPortBinding binding;
          binding.containerPort = std::atoi(std::string(k).c_str());
          binding.hostIp = stringAt(b.as_object(), "HostIp");
          binding.hostPort = std::atoi(stringAt(b.as_object(), "HostPort").c_str());
          c.bindings.push_back(binding);
        }
      }
  }
  return !c.id.empty();
}

}  // namespace

struct DockerProvider::State : RemoteSource {
  config::DockerProvider options;
  DockerOptions build;
  clients::http::Endpoint endpoint;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds timeout{10000};

  std::shared_ptr<clients::http::StreamStop> events;
  bool dirty = true;
  bool coalescing = false;

  clients::http::Request get(std::string target) const {
    clients::http::Request request;
    request.target = std::move(target);
    request.headers = headers;
    return request;
  }

  awaitable<std::string> fetchJson(asio::io_context& io, std::string target, json::value& out) const {
    auto answer = co_await clients::http::fetch(io, endpoint, get(target), timeout, kMaxAnswer);
    if (answer.status == 0) co_return "the Docker engine at " + options.endpoint + ": " + answer.error;
    if (answer.status != 200)
      co_return "the Docker engine answered " + std::to_string(answer.status) + " to " + target + ": " +
          answer.body.substr(0, 200);
    error_code ec;
    out = json::parse(answer.body, ec);
    if (ec) co_return "the Docker engine's answer to " + target + " is not JSON";
    co_return "";
  }

  // Lists and inspects the containers. "" or why not.
  awaitable<std::string> list(asio::io_context& io, std::vector<DockerContainer>& out) const {
    json::value listed;
    std::string error = co_await fetchJson(io, "/containers/json", listed);
    if (!error.empty()) co_return error;
    if (!listed.is_array()) co_return "the Docker engine's container list is not a list";
    out.clear();
    for (const json::value& item : listed.as_array()) {
      const json::object* o = item.if_object();
      std::string id = o ? stringAt(*o, "Id") : "";
      if (id.empty() || id.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
        co_return "the Docker engine's container list has an entry without a valid Id";
      json::value inspected;
      error = co_await fetchJson(io, "/containers/" + id + "/json", inspected);
      if (error.find("answered 404") != std::string::npos) continue;  // gone since the list
      if (!error.empty()) co_return error;
      DockerContainer c;
      if (!parseInspect(inspected, c)) co_return "the Docker engine's description of " + id + " is malformed";
      out.push_back(std::move(c));
    }
    co_return "";
  }

  LoadResult configuration(const std::vector<DockerContainer>& containers) const {
    LoadResult result;
    result.ok = true;
    result.config.provider = "docker";
    result.config.root = buildDockerConfig(containers, build, result.errors);
    return result;
  }
};

DockerProvider::DockerProvider(config::DockerProvider options) : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.options = std::move(options);
  std::string url = s.options.endpoint;
  if (url.starts_with("tcp://")) url = (s.options.tls ? "https://" : "http://") + url.substr(6);
  if (!clients::http::parseEndpoint(url, s.options.tls ? &*s.options.tls : nullptr, s.endpoint, s.settingsError))
    return;
  if (!s.options.username.empty())
    s.headers.emplace_back("Authorization", "Basic " + base64Encode(s.options.username + ":" + s.options.password));
  if (s.options.httpClientTimeout.value > 0ms)
    s.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(s.options.httpClientTimeout.value);
  s.build.exposedByDefault = s.options.exposedByDefault;
  s.build.defaultRule = s.options.defaultRule;
  s.build.network = s.options.network;
  s.build.useBindPortIP = s.options.useBindPortIP;
  s.build.allowEmptyServices = s.options.allowEmptyServices;
  s.build.constraints = s.options.constraints;
  if (std::string why = checkConstraints(s.options.constraints); !why.empty())
    s.settingsError = "providers.docker.constraints: " + why;
}

DockerProvider::~DockerProvider() {
  state_->stop();
  if (state_->events) state_->events->stop();
}

namespace {

awaitable<void> listOnce(std::shared_ptr<DockerProvider::State> s, asio::io_context* io,
                         std::vector<DockerContainer>* out, std::string* error) {
  *error = co_await s->list(*io, *out);
}

// Lists when something changed (an event, a reconnection), after a failure (with a backoff)
// and every kRelist in any case.
awaitable<void> listLoop(std::shared_ptr<DockerProvider::State> s, asio::io_context* io) {
  Backoff backoff;
  while (!s->stopped) {
    std::chrono::milliseconds wait = kRelist;
    if (s->dirty) {
      s->dirty = false;
      std::vector<DockerContainer> containers;
      std::string error = co_await s->list(*io, containers);
      if (s->stopped) break;
      if (error.empty()) {
        backoff.reset();
        s->watch->read(s->configuration(containers));
        if (!s->options.watch) break;  // read once, as Traefik without watch
      } else {
        s->watch->failed(error);
        wait = backoff.next();
      }
    }
    if (s->dirty && wait == kRelist) continue;  // an event came while listing: list again now
    s->timer->expires_after(wait);
    auto [ec] = co_await s->timer->async_wait(nothrow);
    if (!ec) s->dirty = true;  // the interval or the backoff ran out; a cancel comes with dirty set
  }
}

// The events that change what is served (not exec_* and the like, which every health check
// makes).
bool relevant(std::string_view line) {
  error_code ec;
  json::value v = json::parse(line, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (!o) return true;  // not understood: list again rather than miss something
  std::string action = stringAt(*o, "Action");
  if (action.empty()) action = stringAt(*o, "status");
  for (std::string_view a : {"start", "die", "stop", "kill", "destroy", "rename", "update", "pause", "unpause", "create"})
    if (action == a) return true;
  return action.starts_with("health_status");
}

void changed(const std::shared_ptr<DockerProvider::State>& s, asio::io_context& io) {
  s->dirty = true;
  if (s->coalescing) return;
  s->coalescing = true;
  auto t = std::make_shared<asio::steady_timer>(io, 100ms);
  t->async_wait([s, t](error_code) {
    s->coalescing = false;
    if (!s->stopped && s->timer) s->timer->cancel();
  });
}

// The events stream; the events that change what is served list again.
awaitable<void> eventsLoop(std::shared_ptr<DockerProvider::State> s, asio::io_context* io) {
  Backoff backoff;
  // filters={"type":["container"]}, percent-encoded.
  const std::string target = "/events?filters=%7B%22type%22%3A%5B%22container%22%5D%7D";
  while (!s->stopped) {
    s->events = std::make_shared<clients::http::StreamStop>();
    clients::http::LineSplitter lines;
    bool any = false;
    std::function<bool(std::string_view)> onData = [&](std::string_view data) {
      any = true;
      backoff.reset();
      lines.feed(data, [&](std::string_view line) {
        if (relevant(line)) changed(s, *io);
      });
      return true;
    };
    auto answer = co_await clients::http::stream(*io, s->endpoint, s->get(target), s->timeout, onData, s->events);
    s->events = nullptr;
    if (s->stopped) break;
    // Whatever ended the stream, events may have been missed: list again.
    changed(s, *io);
    if (answer.status != 200 && !any) {
      s->watch->failed(answer.status == 0 ? "the Docker engine's events: " + answer.error
                                          : "the Docker engine answered " + std::to_string(answer.status) + " to /events");
    }
    asio::steady_timer pause(*io, backoff.next());
    co_await pause.async_wait(nothrow);
  }
}

}  // namespace

LoadResult DockerProvider::loadInspect(const std::string& path) const {
  LoadResult result;
  result.config.provider = "docker";
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  error_code ec;
  json::value v = json::parse(text.str(), ec);
  if (!file || ec || !v.is_array()) {
    result.errors.push_back({{}, "--dockerInspect", path + ": expected the JSON list `docker inspect` prints", false, false});
    return result;
  }
  std::vector<DockerContainer> containers;
  for (const json::value& item : v.as_array()) {
    DockerContainer c;
    if (!parseInspect(item, c)) {
      result.errors.push_back({{}, "--dockerInspect", path + ": an entry without an Id", false, false});
      return result;
    }
    containers.push_back(std::move(c));
  }
  return state_->configuration(containers);
}

LoadResult DockerProvider::load() {
  LoadResult result;
  result.config.provider = "docker";
  if (!state_->settingsError.empty()) {
    result.errors.push_back({{}, "providers.docker", state_->settingsError, false, false});
    return result;
  }
  std::vector<DockerContainer> containers;
  std::string error;
  runAlone([&](asio::io_context& io) { return listOnce(state_, &io, &containers, &error); });
  if (!error.empty()) {
    result.errors.push_back(unreachable("docker", error, "tried again until the engine answers"));
    return result;
  }
  return state_->configuration(containers);
}

void DockerProvider::watch(asio::io_context& control, ConfigSink sink) {
  if (!state_->settingsError.empty()) return;  // load() reports it
  state_->start(control, "docker", std::move(sink), statusReporter());
  asio::co_spawn(control, listLoop(state_, &control), asio::detached);
  if (state_->options.watch) asio::co_spawn(control, eventsLoop(state_, &control), asio::detached);
}

void DockerProvider::reload() {
  state_->dirty = true;
  if (state_->timer) state_->timer->cancel();
}

}  // namespace causeway::provider
