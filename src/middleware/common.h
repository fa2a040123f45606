// Helpers shared by middleware implementations: decoding options with the one config
// decoder and building the factory.
#pragma once

#include <memory>

#include "config/decode.h"
#include "server/middleware.h"

namespace causeway::middleware {

using server::Exchange;
using server::Handler;
using server::HandlerPtr;
using server::MiddlewareBuildContext;
using server::MiddlewareFactoryPtr;
using server::WrapContext;
using causeway::awaitable;

// Decodes `node` into Options (Traefik key names, defaults from member initializers) and,
// if Options has `void check(MiddlewareBuildContext&) const`, validates it. Returns a
// factory that wraps each router's next handler in a HandlerType(options, next, context).
template <class Options, class HandlerType>
MiddlewareFactoryPtr makeFactory(const config::Node& node, MiddlewareBuildContext& context) {
  Options options;
  config::DecodeContext decode;
  config::decode(node, options, decode);
  for (const auto& error : decode.errors())
    if (!error.warning) context.error(error.message.empty() ? error.toString() : error.toString());
  if (!context.errors().empty()) return nullptr;
  if constexpr (requires(const Options& o) { o.check(context); }) options.check(context);
  if (!context.errors().empty()) return nullptr;
  return std::make_shared<server::SimpleMiddlewareFactory<Options, HandlerType>>(std::move(options));
}

}  // namespace causeway::middleware
