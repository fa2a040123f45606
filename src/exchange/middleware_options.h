// Decoding a middleware's options with the one configuration decoder (Traefik key names,
// defaults from member initializers), for every middleware, whether it needs a custom
// factory (decodeOptions) or only its options (makeFactory).
#pragma once

#include <memory>
#include <optional>

#include "config/decode.h"
#include "exchange/middleware_registry.h"

namespace causeway::exchange {

// Decodes `node` into Options and, if Options has `void check(MiddlewareBuildContext&) const`,
// validates it. Errors go to `context`; nullopt when there was at least one.
template <class Options>
std::optional<Options> decodeOptions(const config::Node& node, MiddlewareBuildContext& context) {
  Options options;
  config::DecodeContext decode;
  config::decode(node, options, decode);
  for (const auto& error : decode.errors()) {
    if (error.warning) context.warning(error);
    else context.error(error);
  }
  if (!context.errors().empty()) return std::nullopt;
  if constexpr (requires(const Options& o) { o.check(context); }) options.check(context);
  if (!context.errors().empty()) return std::nullopt;
  return options;
}

// A factory that wraps each router's next handler in a HandlerType(options, next, context),
// or nullptr after reporting the option errors.
template <class Options, class HandlerType>
MiddlewareFactoryPtr makeFactory(const config::Node& node, MiddlewareBuildContext& context) {
  std::optional<Options> options = decodeOptions<Options>(node, context);
  if (!options) return nullptr;
  return std::make_shared<SimpleMiddlewareFactory<Options, HandlerType>>(std::move(*options));
}

}  // namespace causeway::exchange
