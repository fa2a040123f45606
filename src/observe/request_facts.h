// Facts about a request that every observer derives the same way as Traefik: the method label
// (unknown methods folded into EXTENSION_METHOD), the protocol (http, grpc, grpc-web, sse,
// websocket), the gRPC status, the TLS version and cipher names. Pure; any thread.
#pragma once

#include <array>
#include <string>
#include <string_view>

#include "exchange/exchange.h"

namespace causeway::observe {

enum class Protocol : uint8_t { Http, Grpc, GrpcWeb, Sse, Websocket };
constexpr size_t kProtocolCount = 5;
std::string_view protocolName(Protocol protocol);

// Method label ids: the HTTP verbs Traefik keeps, then EXTENSION_METHOD.
constexpr size_t kMethodCount = 11;
uint8_t methodId(std::string_view method);
std::string_view methodName(uint8_t id);

Protocol requestProtocol(const exchange::Request& request);
// The gRPC status of a response (Grpc-Status in the head or the trailers; 2 "Unknown" when
// absent or unreadable).
int grpcStatus(const exchange::Response& response);

// "TLS 1.3" (ConnectionInfo) → "1.3" (Traefik's label); "unknown" otherwise.
std::string_view tlsVersionLabel(std::string_view connectionVersion);
// OpenSSL cipher name → the IANA name Go (and Traefik's labels) use, e.g.
// "ECDHE-RSA-AES128-GCM-SHA256" → "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"; TLS 1.3 names are
// the same in both. "unknown" when OpenSSL does not know the name.
std::string cipherLabel(std::string_view opensslName);

// Headers whose values are credentials (case-insensitive): Authorization, Proxy-Authorization,
// Cookie, Set-Cookie, and the headers the AI gateway carries provider keys in (X-Api-Key,
// Api-Key, X-Goog-Api-Key, X-Amz-Security-Token). Access logs and trace attributes show them
// as "REDACTED" whatever the configuration asks (docs/security.md).
bool secretHeader(std::string_view name);

// "HTTP/1.1", "HTTP/1.0", "HTTP/2.0" (Go's Request.Proto).
std::string_view protoText(const exchange::Request& request);
// "1.1", "1.0", "2" (OpenTelemetry network.protocol.version).
std::string_view protoVersion(const exchange::Request& request);

// net.SplitHostPort without errors: ("host", "port"), or (value, "-") when there is no port.
std::pair<std::string_view, std::string_view> splitHostPort(std::string_view value);

}  // namespace causeway::observe
