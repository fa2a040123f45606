// Middlewares register themselves by type name (Traefik's `stripPrefix`, `headers`, ...).
// Adding one touches only its own file: a `MiddlewareRegistration` at namespace scope
// in that file adds it to the registry when the program starts.
//
// Lifecycle: when a configuration is built, the registry's creator turns a middleware's
// options into a MiddlewareFactory (validating them once; errors go to the element).
// The factory then wraps the next handler once for every router that uses the
// middleware, so per-router state (Traefik's rate-limit buckets are per router) lives in
// the wrapping handler.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/api_management.h"
#include "config/node.h"
#include "exchange/handler.h"

namespace causeway::upstream {
struct Transport;  // upstream/connection_pool.h
}  // namespace causeway::upstream

namespace causeway::exchange {

struct WrapContext {
  std::string_view routerName;      // qualified name of the router being built
  std::string_view middlewareName;  // qualified name of this middleware
  unsigned workers = 1;             // number of workers (for per-worker state)
};

class MiddlewareFactory {
 public:
  virtual ~MiddlewareFactory() = default;
  // Returns a handler that applies this middleware and then calls `next`.
  virtual HandlerPtr wrap(HandlerPtr next, const WrapContext& context) const = 0;
};
using MiddlewareFactoryPtr = std::shared_ptr<const MiddlewareFactory>;

// A middleware's reference to a service (errors.service, ...). Services are built after
// middlewares, so the reference is filled in when the snapshot is complete; handler() is
// never null once the snapshot is published (a missing service disables the middleware).
class ServiceRef {
 public:
  explicit ServiceRef(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  const HandlerPtr& handler() const { return handler_; }
  void resolve(HandlerPtr handler) { handler_ = std::move(handler); }

 private:
  std::string name_;
  HandlerPtr handler_;
};
using ServiceRefPtr = std::shared_ptr<ServiceRef>;

// What a creator gets: the middleware's options (the value under its type key), a place
// to report problems, and access to the rest of the configuration being built. A creator
// returns nullptr after reporting at least one error.
class MiddlewareBuildContext {
 public:
  MiddlewareBuildContext(std::string qualifiedName, std::string provider)
      : name_(std::move(qualifiedName)), provider_(std::move(provider)) {}
  const std::string& name() const { return name_; }
  const std::string& provider() const { return provider_; }
  // A problem with the options; without a location it is reported at the middleware's own.
  void error(std::string message) { errors_.push_back({{}, {}, std::move(message), false, false}); }
  void error(config::ConfigError error) { errors_.push_back(std::move(error)); }
  const std::vector<config::ConfigError>& errors() const { return errors_; }
  // An option accepted but without effect (not supported yet, deprecated): the middleware
  // still works, and the warning is shown with it (`causeway check`, the API, the dashboard).
  void warning(config::ConfigError warning) { warnings_.push_back(std::move(warning)); }
  const std::vector<config::ConfigError>& warnings() const { return warnings_; }

  // A reference to service `name` (qualified with this middleware's provider unless it
  // has an @). A middleware that asks for one is rebuilt on every configuration change.
  ServiceRefPtr service(std::string_view name);
  const std::vector<ServiceRefPtr>& serviceRefs() const { return serviceRefs_; }

  // The default servers transport (default@internal), for middlewares that call out
  // (forwardAuth).
  std::shared_ptr<const upstream::Transport> defaultTransport() const { return defaultTransport_; }
  void setDefaultTransport(std::shared_ptr<const upstream::Transport> t) { defaultTransport_ = std::move(t); }
  unsigned workers() const { return workers_; }
  void setWorkers(unsigned n) { workers_ = n; }
  // The API management resources of this build (config/api_management.h), for the `api`
  // middleware; valid while the middleware is built. A middleware that reads it is rebuilt on
  // every configuration change.
  const config::ApiCatalog* apiCatalog() {
    readsCatalog_ = true;
    return apiCatalog_;
  }
  void setApiCatalog(const config::ApiCatalog* catalog) { apiCatalog_ = catalog; }
  bool readsCatalog() const { return readsCatalog_; }

  // A middleware of `type` built from `options` inside this one (the api middleware's jwt, the
  // developer portal's oidc): its errors and warnings become this one's, each message after
  // `prefix`. Null with errors.
  MiddlewareFactoryPtr buildInner(std::string_view type, const config::Node& options, std::string_view prefix = {});

 private:
  std::string name_;
  std::string provider_;
  std::vector<config::ConfigError> errors_;
  std::vector<config::ConfigError> warnings_;
  std::vector<ServiceRefPtr> serviceRefs_;
  std::shared_ptr<const upstream::Transport> defaultTransport_;
  unsigned workers_ = 1;
  const config::ApiCatalog* apiCatalog_ = nullptr;
  bool readsCatalog_ = false;
};

using MiddlewareCreator =
    std::function<MiddlewareFactoryPtr(const config::Node& options, MiddlewareBuildContext& context)>;

class MiddlewareRegistry {
 public:
  static MiddlewareRegistry& instance();
  // `spanName` is the middleware's span name in detailed traces (Traefik's typeName
  // constant); empty derives it from the type ("stripPrefix" → "StripPrefix"). A middleware
  // with `ownSpans` records its spans itself (retry: one per attempt) and is not wrapped.
  void add(std::string type, MiddlewareCreator creator, std::string spanName = {}, bool ownSpans = false);
  // Case-insensitive lookup ("stripprefix" finds "stripPrefix"); nullptr if unknown.
  const MiddlewareCreator* find(std::string_view type) const;
  // The span name for `type` (case-insensitive); derived from it when not registered.
  std::string spanName(std::string_view type) const;
  bool recordsOwnSpans(std::string_view type) const;
  std::vector<std::string> types() const;

 private:
  struct Entry {
    std::string type;  // as registered
    MiddlewareCreator creator;
    std::string spanName;
    bool ownSpans = false;
  };
  const Entry* entry(std::string_view type) const;
  std::map<std::string, Entry> entries_;  // keyed by lower-case type
};

struct MiddlewareRegistration {
  MiddlewareRegistration(std::string type, MiddlewareCreator creator, std::string spanName = {},
                         bool ownSpans = false) {
    MiddlewareRegistry::instance().add(std::move(type), std::move(creator), std::move(spanName), ownSpans);
  }
};

// A factory that keeps `State` (a middleware's decoded options, or what it compiled from
// them) and wraps each router's next handler in a HandlerType(state, next, context).
template <class State, class HandlerType>
class SimpleMiddlewareFactory final : public MiddlewareFactory {
 public:
  explicit SimpleMiddlewareFactory(State state) : state_(std::move(state)) {}
  HandlerPtr wrap(HandlerPtr next, const WrapContext& context) const override {
    return std::make_shared<HandlerType>(state_, std::move(next), context);
  }

 private:
  State state_;
};

template <class HandlerType, class State>
MiddlewareFactoryPtr factoryOf(State state) {
  return std::make_shared<SimpleMiddlewareFactory<State, HandlerType>>(std::move(state));
}

}  // namespace causeway::exchange
