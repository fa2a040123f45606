// The names every middleware uses from the exchange contract (src/exchange), so that a
// middleware file reads as Traefik's own: a handler over an Exchange, built from decoded
// options by a factory.
#pragma once

#include "exchange/middleware_options.h"
#include "exchange/middleware_registry.h"

namespace causeway::middleware {

using causeway::awaitable;
using exchange::decodeOptions;
using exchange::Exchange;
using exchange::factoryOf;
using exchange::Handler;
using exchange::HandlerPtr;
using exchange::makeFactory;
using exchange::MiddlewareBuildContext;
using exchange::MiddlewareFactoryPtr;
using exchange::WrapContext;

}  // namespace causeway::middleware
