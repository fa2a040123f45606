#include "admin/json_encode.h"

#include <charconv>

#include "core/strings.h"

namespace causeway::admin {
namespace {

json::value scalarToJson(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  if (!text.empty() && text.size() < 19) {
    const char* begin = text.data();
    const char* end = begin + text.size();
    bool digits = (*begin == '-' && text.size() > 1) || (*begin >= '0' && *begin <= '9');
    // No leading zeros ("007" stays a string, as do codes like "0x1f").
    auto digit = [&](size_t i) { return i < text.size() && text[i] >= '0' && text[i] <= '9'; };
    bool leadingZero = (text[0] == '0' && digit(1)) || (text[0] == '-' && text[1] == '0' && digit(2));
    if (digits && !leadingZero) {
      int64_t number = 0;
      auto [at, ec] = std::from_chars(begin, end, number);
      if (ec == std::errc() && at == end) return number;
      if (text.find('.') != std::string::npos) {
        double real = 0;
        auto [at2, ec2] = std::from_chars(begin, end, real);
        if (ec2 == std::errc() && at2 == end) return real;
      }
    }
  }
  return json::string(text);
}

// Middleware options whose values are strings in Traefik's types even when they look like
// numbers (header values, status ranges, paths, addresses...): kept as strings below them.
bool stringValued(std::string_view key) {
  static constexpr std::string_view keys[] = {
      "customRequestHeaders", "customResponseHeaders", "sslProxyHeaders", "status", "prefix",
      "prefixes", "regex", "replacement", "path", "query", "users", "address", "sourceRange",
      "excludedIPs", "trustedIPs", "headerField", "realm", "authResponseHeaders",
      "authRequestHeaders", "addAuthCookiesToResponse", "accessControlAllowHeaders",
      "accessControlExposeHeaders", "accessControlAllowOrigin", "accessControlAllowOriginList",
      "accessControlAllowOriginListRegex", "accessControlAllowMethods", "allowedHosts",
      "hostsProxyHeaders", "contentSecurityPolicy", "expression", "port", "scheme", "service",
      "excludedContentTypes", "includedContentTypes", "encodings", "defaultEncoding", "key",
      "value", "name"};
  for (std::string_view k : keys)
    if (iequals(k, key)) return true;
  return false;
}

json::value toJson(const config::Node& node, bool asString) {
  switch (node.kind()) {
    case config::Node::Kind::Null:
      return nullptr;
    case config::Node::Kind::Scalar:
      return asString ? json::value(json::string(node.text())) : scalarToJson(node.text());
    case config::Node::Kind::List: {
      json::array out;
      out.reserve(node.items().size());
      for (const auto& item : node.items()) out.push_back(toJson(item, asString));
      return out;
    }
    case config::Node::Kind::Map: {
      json::object out;
      for (const auto& entry : node.entries())
        out[entry.key] = toJson(entry.value, asString || stringValued(entry.key));
      return out;
    }
  }
  return nullptr;
}

}  // namespace

json::value nodeToJson(const config::Node& node) { return toJson(node, false); }

}  // namespace causeway::admin
