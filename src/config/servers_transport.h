// Dynamic configuration: `http.serversTransports.<name>` (reference §2.3).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/decode.h"
#include "config/duration.h"
#include "config/dynamic_tls.h"
#include "config/node.h"

namespace causeway::config {

struct ForwardingTimeouts {
  Duration dialTimeout = std::chrono::seconds(30);
  Duration responseHeaderTimeout; // 0 = none
  Duration idleConnTimeout = std::chrono::seconds(90);
  Duration readIdleTimeout; // HTTP/2 ping after this much silence; 0 = never
  Duration pingTimeout = std::chrono::seconds(15);

  static void describe(auto& self, auto& v) {
    v("dialTimeout", self.dialTimeout);
    v("responseHeaderTimeout", self.responseHeaderTimeout);
    v("idleConnTimeout", self.idleConnTimeout);
    v("readIdleTimeout", self.readIdleTimeout);
    v("pingTimeout", self.pingTimeout);
  }
};

struct ServersTransport {
  std::string serverName; // SNI sent upstream
  bool insecureSkipVerify = false;
  std::vector<std::string> rootCAs;           // file paths or PEM
  std::vector<CertificateFiles> certificates; // client certificates (mTLS)
  std::vector<std::string> cipherSuites;
  std::string minVersion;
  std::string maxVersion;
  // Kept as written: 0 means Go's default of 2 idle connections per host (unlike the static
  // serversTransport whose default is 200); negative disables connection reuse.
  int maxIdleConnsPerHost = 0;
  bool disableHTTP2 = false;
  std::string peerCertURI;          // deprecated by peerCertSANs
  std::optional<Node> peerCertSANs; // raw: [{type: URI|DNSName, value}]
  ForwardingTimeouts forwardingTimeouts;
  std::optional<Node> spiffe; // raw: {ids, trustDomain}; empty = any SPIFFE ID

  static void describe(auto& self, auto& v) {
    v("serverName", self.serverName);
    v("insecureSkipVerify", self.insecureSkipVerify);
    v("rootCAs", self.rootCAs);
    v("certificates", self.certificates);
    v("cipherSuites", self.cipherSuites);
    v("minVersion", self.minVersion, kTlsVersions);
    v("maxVersion", self.maxVersion, kTlsVersions);
    v("maxIdleConnsPerHost", self.maxIdleConnsPerHost);
    v("disableHTTP2", self.disableHTTP2);
    v("peerCertURI", self.peerCertURI);
    v("peerCertSANs", self.peerCertSANs);
    v("forwardingTimeouts", self.forwardingTimeouts);
    v("spiffe", self.spiffe);
  }
};

} // namespace causeway::config
