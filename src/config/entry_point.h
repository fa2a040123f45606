// Static configuration: `entryPoints.<name>` (reference §1.2), with Traefik's key names and
// defaults. Decoded by decode.h; see static_config.h for the whole static configuration.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/decode.h"
#include "config/domain.h"
#include "config/duration.h"
#include "config/router_tls.h"

namespace causeway::config {

struct RedirectEntryPoint {
  std::string to; // target entry point name, or ":443"
  std::string scheme = "https";
  bool permanent = true;
  int64_t priority = 9223372036854775806; // MaxInt64 - 1

  static void describe(auto& self, auto& v) {
    v("to", self.to);
    v("scheme", self.scheme);
    v("permanent", self.permanent);
    v("priority", self.priority);
  }
};

struct Redirections {
  std::optional<RedirectEntryPoint> entryPoint;

  static void describe(auto& self, auto& v) { v("entryPoint", self.entryPoint); }
};

// Default TLS for the routers on an entry point (the same keys as a router's `tls`);
// presence makes them TLS routers.
using EntryPointTls = RouterTls;

// Which percent-encoded characters are allowed in request paths (false → 400). The
// entryPoint's http.encodedCharacters allows each by default; the encodedCharacters
// middleware starts from `EncodedCharacters(false)`.
struct EncodedCharacters {
  EncodedCharacters() : EncodedCharacters(true) {}
  explicit EncodedCharacters(bool allowed)
      : allowEncodedSlash(allowed), allowEncodedBackSlash(allowed), allowEncodedNullCharacter(allowed),
        allowEncodedSemicolon(allowed), allowEncodedPercent(allowed), allowEncodedQuestionMark(allowed),
        allowEncodedHash(allowed) {}
  bool allowEncodedSlash;
  bool allowEncodedBackSlash;
  bool allowEncodedNullCharacter;
  bool allowEncodedSemicolon;
  bool allowEncodedPercent;
  bool allowEncodedQuestionMark;
  bool allowEncodedHash;

  static void describe(auto& self, auto& v) {
    v("allowEncodedSlash", self.allowEncodedSlash);
    v("allowEncodedBackSlash", self.allowEncodedBackSlash);
    v("allowEncodedNullCharacter", self.allowEncodedNullCharacter);
    v("allowEncodedSemicolon", self.allowEncodedSemicolon);
    v("allowEncodedPercent", self.allowEncodedPercent);
    v("allowEncodedQuestionMark", self.allowEncodedQuestionMark);
    v("allowEncodedHash", self.allowEncodedHash);
  }
};

struct EntryPointHttp {
  std::optional<Redirections> redirections;
  std::vector<std::string> middlewares; // fully qualified (name@provider), before router ones
  std::optional<EntryPointTls> tls;
  EncodedCharacters encodedCharacters;
  bool encodeQuerySemicolons = false;
  bool sanitizePath = true;
  int64_t maxHeaderBytes = 1048576;
  std::string underscoreHeadersStrategy = "keep";

  static void describe(auto& self, auto& v) {
    v("redirections", self.redirections);
    v("middlewares", self.middlewares);
    v("tls", self.tls);
    v("encodedCharacters", self.encodedCharacters);
    v("encodeQuerySemicolons", self.encodeQuerySemicolons);
    v("sanitizePath", self.sanitizePath);
    v("maxHeaderBytes", self.maxHeaderBytes);
    v("underscoreHeadersStrategy", self.underscoreHeadersStrategy,
      OneOf{"keep", "delete", "reject"});
  }
};

struct EntryPointHttp2 {
  int32_t maxConcurrentStreams = 250;
  int32_t maxDecoderHeaderTableSize = 4096;
  int32_t maxEncoderHeaderTableSize = 4096;

  static void describe(auto& self, auto& v) {
    v("maxConcurrentStreams", self.maxConcurrentStreams);
    v("maxDecoderHeaderTableSize", self.maxDecoderHeaderTableSize);
    v("maxEncoderHeaderTableSize", self.maxEncoderHeaderTableSize);
  }
};

struct EntryPointHttp3 {
  int advertisedPort = 0; // 0 → the entry point's own port

  static void describe(auto& self, auto& v) { v("advertisedPort", self.advertisedPort); }
};

struct ProxyProtocol {
  std::vector<std::string> trustedIPs; // IPs or CIDRs allowed to send a PROXY header
  bool insecure = false;               // trust everyone

  static void describe(auto& self, auto& v) {
    v("insecure", self.insecure);
    v("trustedIPs", self.trustedIPs);
  }
};

struct ForwardedHeaders {
  std::vector<std::string> trustedIPs;
  bool insecure = false;
  std::vector<std::string> connection; // Connection-listed headers kept through the chain
  bool notAppendXForwardedFor = false;
  bool addXForwardedSchemeHeaders = false;

  static void describe(auto& self, auto& v) {
    v("insecure", self.insecure);
    v("trustedIPs", self.trustedIPs);
    v("connection", self.connection);
    v("notAppendXForwardedFor", self.notAppendXForwardedFor);
    v("addXForwardedSchemeHeaders", self.addXForwardedSchemeHeaders);
  }
};

struct RespondingTimeouts {
  Duration readTimeout = std::chrono::seconds(60); // whole request incl. body; 0 = none
  Duration writeTimeout;                           // 0 = none
  Duration idleTimeout = std::chrono::seconds(180);
  // causeway extension: a response write that makes no progress for this long closes the
  // connection (a client that stopped reading); 0 = none (docs/security.md, H10).
  Duration sendTimeout = std::chrono::seconds(60);

  static void describe(auto& self, auto& v) {
    v("readTimeout", self.readTimeout);
    v("writeTimeout", self.writeTimeout);
    v("idleTimeout", self.idleTimeout);
    v("sendTimeout", self.sendTimeout);
  }
};

struct LifeCycle {
  Duration requestAcceptGraceTimeout;
  Duration graceTimeOut = std::chrono::seconds(10);

  static void describe(auto& self, auto& v) {
    v("requestAcceptGraceTimeout", self.requestAcceptGraceTimeout);
    v("graceTimeOut", self.graceTimeOut);
  }
};

struct EntryPointTransport {
  LifeCycle lifeCycle;
  RespondingTimeouts respondingTimeouts;
  Duration keepAliveMaxTime;    // 0 = unlimited
  int keepAliveMaxRequests = 0; // 0 = unlimited
  // causeway extensions (docs/security.md, H10):
  // open connections on this entryPoint; at the cap, accepting pauses (new clients wait in
  // the backlog). 0: derived from the open-file limit; negative: no cap.
  int64_t maxConnections = 0;
  // request bodies up to this size (with a Content-Length) are read before routing, so a
  // slow upload holds no upstream connection; 0 = stream every body.
  int64_t requestBodyPrefetchBytes = 65536;

  static void describe(auto& self, auto& v) {
    v("lifeCycle", self.lifeCycle);
    v("respondingTimeouts", self.respondingTimeouts);
    v("keepAliveMaxTime", self.keepAliveMaxTime);
    v("keepAliveMaxRequests", self.keepAliveMaxRequests);
    v("maxConnections", self.maxConnections);
    v("requestBodyPrefetchBytes", self.requestBodyPrefetchBytes);
  }
};

struct EntryPointUdp {
  Duration timeout = std::chrono::seconds(3);

  static void describe(auto& self, auto& v) { v("timeout", self.timeout); }
};

// Default per-router observability on this entry point.
struct EntryPointObservability {
  bool accessLogs = true;
  bool metrics = true;
  bool tracing = true;
  std::string traceVerbosity = "minimal";

  static void describe(auto& self, auto& v) {
    v("accessLogs", self.accessLogs);
    v("metrics", self.metrics);
    v("tracing", self.tracing);
    v("traceVerbosity", self.traceVerbosity, OneOf{"minimal", "detailed"});
  }
};

struct EntryPoint {
  std::string address; // "[host]:port[/tcp|/udp]"; required
  bool allowACMEByPass = false;
  bool reusePort = false;
  bool asDefault = false;
  EntryPointTransport transport;
  std::optional<ProxyProtocol> proxyProtocol;
  ForwardedHeaders forwardedHeaders;
  EntryPointHttp http;
  EntryPointHttp2 http2;
  std::optional<EntryPointHttp3> http3;
  EntryPointUdp udp;
  EntryPointObservability observability;

  static void describe(auto& self, auto& v) {
    v("address", self.address);
    v("allowACMEByPass", self.allowACMEByPass);
    v("reusePort", self.reusePort);
    v("asDefault", self.asDefault);
    v("transport", self.transport);
    v("proxyProtocol", self.proxyProtocol);
    v("forwardedHeaders", self.forwardedHeaders);
    v("http", self.http);
    v("http2", self.http2);
    v("http3", self.http3);
    v("udp", self.udp);
    v("observability", self.observability);
  }

  void validate(DecodeContext& context) const {
    if (address.empty()) context.error("missing address; expected e.g. \":80\" or \":443/udp\"");
  }
};

} // namespace causeway::config
