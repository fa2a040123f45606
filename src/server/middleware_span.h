// Middleware spans for traceVerbosity detailed (reference §6.3): when a router's traces are
// detailed, the snapshot builder wraps each of its middlewares in a MiddlewareSpan and its
// service in a ServiceSpanMark. They record, in the exchange's trace notes, when each
// middleware ran and which one enclosed it; the tracer turns the records into spans named
// after Traefik's type name (INTERNAL, attribute traefik.middleware.name) between the Router
// and the Service span. Routers without detailed traces get neither wrapper, so they cost
// nothing there; an unsampled exchange passes straight through.
#pragma once

#include <string>

#include "server/handler.h"

namespace causeway::server {

class MiddlewareSpan final : public Handler {
 public:
  MiddlewareSpan(std::string name, std::string spanName, HandlerPtr inner)
      : name_(std::move(name)), spanName_(std::move(spanName)), inner_(std::move(inner)) {}
  awaitable<void> handle(Exchange& ex) const override;

 private:
  std::string name_;
  std::string spanName_;
  HandlerPtr inner_;  // the middleware itself (it calls the rest of the chain)
};

class ServiceSpanMark final : public Handler {
 public:
  explicit ServiceSpanMark(HandlerPtr service) : service_(std::move(service)) {}
  awaitable<void> handle(Exchange& ex) const override;

 private:
  HandlerPtr service_;
};

}  // namespace causeway::server
