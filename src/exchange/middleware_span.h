// Middleware spans for traceVerbosity detailed (reference §6.3): when a router's traces are
// detailed, the snapshot builder puts a DetailedTraceMark in front of its chain, wraps each
// of its middlewares in a MiddlewareSpan and its service in a ServiceSpanMark. They record,
// in the exchange's trace notes, when each middleware ran and which one enclosed it; the
// tracer turns the records into spans named after Traefik's type name (INTERNAL, attribute
// traefik.middleware.name) between the Router and the Service span. A middleware registered
// with its own spans (retry: one per attempt) records them with openMiddlewareSpan. Routers
// without detailed traces get none of this, so it costs them nothing; an unsampled exchange
// passes straight through.
#pragma once

#include <string>
#include <string_view>

#include "exchange/handler.h"

namespace causeway::exchange {

// Starts a span record for a middleware of `ex` when its router traces in detail and the
// exchange is sampled; returns its index, or -1 (nothing recorded). Every index opened is
// closed, innermost first.
int openMiddlewareSpan(Exchange& ex, std::string_view name, std::string_view type, uint16_t resendCount = 0);
void closeMiddlewareSpan(Exchange& ex, int index);

class DetailedTraceMark final : public Handler {
 public:
  explicit DetailedTraceMark(HandlerPtr chain) : chain_(std::move(chain)) {}
  awaitable<void> handle(Exchange& ex) const override;

 private:
  HandlerPtr chain_;
};

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

}  // namespace causeway::exchange
