#include "config/dynamic_config.h"

#include "config/static_config.h"

namespace causeway::config {

namespace {

// A service is exactly one of its kinds: Traefik's words when it has none (the builder names
// the service with its provider in them), the kinds it has when it has several.
void validateOneKind(DecodeContext& context, std::initializer_list<std::pair<bool, std::string_view>> kinds) {
  std::string present, expected;
  int count = 0;
  for (const auto& [set, name] : kinds) {
    expected += (expected.empty() ? "" : ", ") + std::string(name);
    if (!set) continue;
    ++count;
    present += (present.empty() ? "" : ", ") + std::string(name);
  }
  if (count == 1) return;
  if (count == 0) context.error(std::string(kServiceWithoutType) + "; expected one of: " + expected);
  else context.error("expected exactly one of: " + expected + "; got " + present);
}

}  // namespace

void Service::validate(DecodeContext& context) const {
  validateOneKind(context, {{loadBalancer.has_value(), "loadBalancer"},
                            {weighted.has_value(), "weighted"},
                            {mirroring.has_value(), "mirroring"},
                            {failover.has_value(), "failover"},
                            {highestRandomWeight.has_value(), "highestRandomWeight"}});
}

void TcpService::validate(DecodeContext& context) const {
  validateOneKind(context, {{loadBalancer.has_value(), "loadBalancer"}, {weighted.has_value(), "weighted"}});
}

void UdpService::validate(DecodeContext& context) const {
  validateOneKind(context, {{loadBalancer.has_value(), "loadBalancer"}, {weighted.has_value(), "weighted"}});
}

void TcpMiddleware::validate(DecodeContext& context) const {
  int count = ipAllowList.has_value() + ipWhiteList.has_value() + inFlightConn.has_value();
  if (count == 1) {
    if (inFlightConn && inFlightConn->amount <= 0) context.error("inFlightConn.amount must be greater than 0");
    return;
  }
  context.error(count == 0 ? "expected one middleware type: ipAllowList, inFlightConn"
                           : "expected exactly one middleware type: ipAllowList, inFlightConn");
}

std::string TcpMiddleware::typeName() const {
  if (ipAllowList) return "ipallowlist";
  if (ipWhiteList) return "ipwhitelist";
  if (inFlightConn) return "inflightconn";
  return "";
}

void Middleware::decodeNode(const Node& node, DecodeContext& context) {
  const std::string expected =
      "expected exactly one middleware type (e.g. stripPrefix: {...}); got ";
  if (!node.isMap()) {
    context.error(expected + std::string(node.kindName()));
    return;
  }
  if (node.size() != 1) {
    std::string keys;
    for (const NodeEntry& entry : node.entries())
      keys += (keys.empty() ? "" : ", ") + entry.key;
    context.error(expected + (keys.empty() ? "none" : keys));
    return;
  }
  type = node.entries().front().key;
  options = node.entries().front().value;
}

DynamicConfig decodeDynamic(const Node& root, std::vector<ConfigError>& errors,
                            const DynamicConfig* previous) {
  DynamicConfig config;
  DecodeContext context;
  if (previous) {
    // Each path with the map of the same type in the previous decoding (decodeMap casts back).
    context.previous = [previous](std::string_view path) -> const void* {
      if (iequals(path, "http.routers")) return &previous->http.routers;
      if (iequals(path, "http.services")) return &previous->http.services;
      if (iequals(path, "http.middlewares")) return &previous->http.middlewares;
      if (iequals(path, "http.serversTransports")) return &previous->http.serversTransports;
      if (iequals(path, "tcp.routers")) return &previous->tcp.routers;
      if (iequals(path, "tcp.services")) return &previous->tcp.services;
      if (iequals(path, "tcp.middlewares")) return &previous->tcp.middlewares;
      if (iequals(path, "tcp.serversTransports")) return &previous->tcp.serversTransports;
      if (iequals(path, "udp.routers")) return &previous->udp.routers;
      if (iequals(path, "udp.services")) return &previous->udp.services;
      return nullptr;
    };
  }
  if (root.isMap()) {
    // A file may hold the static configuration too (Traefik's loaders each take their own
    // root keys): those keys are skipped here, and only a copy without them is decoded.
    std::vector<std::string_view> staticKeys;
    for (std::string_view key : fieldNames<StaticConfig>())
      if (root.find(key)) staticKeys.push_back(key);
    if (staticKeys.empty()) {
      decode(root, config, context);
    } else {
      Node dynamicPart = root;
      for (std::string_view key : staticKeys) dynamicPart.erase(key);
      decode(dynamicPart, config, context);
    }
  } else if (root.isNull()) {
    decode(root, config, context);
  } else {
    context.error(root.location(), "expected a map with keys: http, tcp, udp, tls, apiManagement; got " +
                                       std::string(root.kindName()));
  }
  std::vector<ConfigError> decodeErrors = context.takeErrors();
  for (const ConfigError& e : decodeErrors) {
    bool element = false;
    for (std::string_view kind : {"http.routers.", "http.services.", "http.middlewares.", "http.serversTransports.",
                                  "tcp.routers.", "tcp.services.", "tcp.middlewares.", "tcp.serversTransports.",
                                  "udp.routers.", "udp.services."})
      element = element || e.element.starts_with(kind);
    for (std::string_view kind : kApiManagementKinds)
      element = element || e.element.starts_with("apiManagement." + std::string(kind) + ".");
    if (e.warning && !element) config.notices.push_back(e);
  }
  errors.insert(errors.end(), decodeErrors.begin(), decodeErrors.end());
  return config;
}

} // namespace causeway::config
