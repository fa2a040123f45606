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
    v("readIdleTimeout", self.readIdleTimeout, NotYet{"forwardingTimeouts.readIdleTimeout is not supported yet; no HTTP/2 pings are sent to idle upstreams"});
    v("pingTimeout", self.pingTimeout, NotYet{"forwardingTimeouts.pingTimeout is not supported yet; no HTTP/2 pings are sent to idle upstreams"});
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
    v("peerCertURI", self.peerCertURI, NotYet{"peerCertURI is not supported yet; the upstream certificate is verified against rootCAs and serverName only"});
    v("peerCertSANs", self.peerCertSANs, NotYet{"peerCertSANs is not supported yet; the upstream certificate is verified against rootCAs and serverName only"});
    v("forwardingTimeouts", self.forwardingTimeouts);
    v("spiffe", self.spiffe, NotYet{"serversTransport spiffe is not supported yet; upstream TLS uses rootCAs and certificates"});
  }
};

} // namespace causeway::config
