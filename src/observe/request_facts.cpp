#include "observe/request_facts.h"

#include <openssl/ssl.h>

#include <map>
#include <mutex>

#include "core/strings.h"

namespace causeway::observe {
namespace {

constexpr std::array<std::string_view, kMethodCount> kMethods = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "PRI", "EXTENSION_METHOD"};

bool hasToken(const http::Headers& headers, std::string_view name, std::string_view token) {
  // Traefik: strings.Split(Header.Get(name), ","), trimmed, lower-cased, compared.
  return listContainsToken(headers.get(name), token);
}

// OpenSSL name → standard name, built once from OpenSSL's own cipher list.
const std::map<std::string, std::string, std::less<>>& cipherNames() {
  static const std::map<std::string, std::string, std::less<>> names = [] {
    std::map<std::string, std::string, std::less<>> out;
    SSL_CTX* ctx = SSL_CTX_new(TLS_method());
    if (!ctx) return out;
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_cipher_list(ctx, "ALL:COMPLEMENTOFALL");
    SSL* ssl = SSL_new(ctx);
    if (ssl) {
      STACK_OF(SSL_CIPHER)* list = SSL_get_ciphers(ssl);
      for (int i = 0; list && i < sk_SSL_CIPHER_num(list); ++i) {
        const SSL_CIPHER* cipher = sk_SSL_CIPHER_value(list, i);
        const char* standard = SSL_CIPHER_standard_name(cipher);
        if (standard) out.emplace(SSL_CIPHER_get_name(cipher), standard);
      }
      SSL_free(ssl);
    }
    SSL_CTX_free(ctx);
    return out;
  }();
  return names;
}

}  // namespace

std::string_view protocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::Grpc: return "grpc";
    case Protocol::GrpcWeb: return "grpc-web";
    case Protocol::Sse: return "sse";
    case Protocol::Websocket: return "websocket";
    default: return "http";
  }
}

uint8_t methodId(std::string_view method) {
  for (size_t i = 0; i + 1 < kMethods.size(); ++i)
    if (kMethods[i] == method) return uint8_t(i);
  return uint8_t(kMethods.size() - 1);
}

std::string_view methodName(uint8_t id) { return id < kMethods.size() ? kMethods[id] : kMethods.back(); }

Protocol requestProtocol(const exchange::Request& request) {
  const http::Headers& h = request.headers;
  if (request.upgrade && request.websocket) return Protocol::Websocket;
  if (hasToken(h, "Connection", "upgrade") && hasToken(h, "Upgrade", "websocket")) return Protocol::Websocket;
  if (hasToken(h, "Accept", "text/event-stream")) return Protocol::Sse;
  std::string_view type = h.get("Content-Type");
  if (type.starts_with("application/grpc-web")) return Protocol::GrpcWeb;
  if (type.starts_with("application/grpc")) return Protocol::Grpc;
  return Protocol::Http;
}

int grpcStatus(const exchange::Response& response) {
  const http::HeaderField* field = response.headers.find("Grpc-Status");
  if (!field && response.body) {
    if (const http::Headers* trailers = response.body->trailers()) field = trailers->find("Grpc-Status");
  }
  if (!field) return 2;
  auto value = parseDecimal(trim(field->value));
  if (!value || *value > 16) return 2;
  return int(*value);
}

std::string_view tlsVersionLabel(std::string_view v) {
  if (v == "TLS 1.3") return "1.3";
  if (v == "TLS 1.2") return "1.2";
  if (v == "TLS 1.1") return "1.1";
  if (v == "TLS 1.0") return "1.0";
  return "unknown";
}

std::string cipherLabel(std::string_view opensslName) {
  if (opensslName.starts_with("TLS_")) return std::string(opensslName);
  const auto& names = cipherNames();
  auto it = names.find(opensslName);
  return it == names.end() ? std::string("unknown") : it->second;
}

bool secretHeader(std::string_view name) {
  for (std::string_view secret : {"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie", "X-Api-Key",
                                  "Api-Key", "X-Goog-Api-Key", "X-Amz-Security-Token"})
    if (iequals(name, secret)) return true;
  return false;
}

std::string_view protoText(const exchange::Request& request) {
  if (request.versionMajor == 3) return "HTTP/3.0";
  if (request.versionMajor == 2) return "HTTP/2.0";
  if (request.versionMajor == 1 && request.versionMinor == 0) return "HTTP/1.0";
  return "HTTP/1.1";
}

std::string_view protoVersion(const exchange::Request& request) {
  if (request.versionMajor == 3) return "3";
  if (request.versionMajor == 2) return "2";
  if (request.versionMajor == 1 && request.versionMinor == 0) return "1.0";
  return "1.1";
}

std::pair<std::string_view, std::string_view> splitHostPort(std::string_view value) {
  if (!value.empty() && value[0] == '[') {
    size_t close = value.find(']');
    if (close != std::string_view::npos && close + 1 < value.size() && value[close + 1] == ':')
      return {value.substr(1, close - 1), value.substr(close + 2)};
    return {value, "-"};
  }
  size_t colon = value.rfind(':');
  if (colon == std::string_view::npos || value.find(':') != colon) return {value, "-"};
  return {value.substr(0, colon), value.substr(colon + 1)};
}

}  // namespace causeway::observe
