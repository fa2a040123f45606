#include "control/snapshot_build.h"

#include "tls/tls_stream.h"

namespace causeway::control {

namespace {

std::string describeErrors(const std::vector<config::ConfigError>& errors) {
  std::string out;
  for (const auto& e : errors) {
    if (e.warning) continue;
    if (!out.empty()) out += "; ";
    out += e.toString();
  }
  return out;
}

std::shared_ptr<upstream::Transport> transportFrom(std::string name, const config::ForwardingTimeouts& timeouts,
                                         int maxIdle) {
  auto t = std::make_shared<upstream::Transport>();
  t->name = std::move(name);
  t->dialTimeout = timeouts.dialTimeout.value;
  t->responseHeaderTimeout = timeouts.responseHeaderTimeout.value;
  t->idleConnTimeout = timeouts.idleConnTimeout.value;
  t->maxIdleConnsPerHost = maxIdle;
  return t;
}

// TLS towards https:// servers: trust, client certificates, SNI, versions, ALPN.
bool configureTls(upstream::Transport& t, const std::vector<std::string>& rootCAs,
                  const std::vector<config::CertificateFiles>& certificates, const std::string& serverName,
                  bool insecureSkipVerify, bool disableHTTP2, const std::string& minVersion,
                  const std::string& maxVersion, const std::vector<std::string>& cipherSuites, std::string& error) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& c : certificates) pairs.emplace_back(c.certFile, c.keyFile);
  if (rootCAs.empty() && pairs.empty() && minVersion.empty() && maxVersion.empty() && cipherSuites.empty()) {
    t.tls.sharedDefault = true;  // nothing to check now; built on the first https dial
  } else {
    t.tls.context = tls::makeClientContext(rootCAs, pairs, minVersion, maxVersion, cipherSuites, error);
    if (!t.tls.context) return false;
  }
  t.tls.serverName = serverName;
  t.tls.verify = !insecureSkipVerify;
  t.disableHTTP2 = disableHTTP2;
  static constexpr unsigned char kH2AndHttp11[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  static constexpr unsigned char kHttp11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  if (disableHTTP2) t.tls.alpn.assign(std::begin(kHttp11), std::end(kHttp11));
  else t.tls.alpn.assign(std::begin(kH2AndHttp11), std::end(kH2AndHttp11));
  return true;
}

}  // namespace

void SnapshotBuild::buildTransports() {
  // Transports are kept across builds while unchanged: pooled connections are keyed by
  // them, so a reload that does not touch a transport keeps its idle connections.
  const auto& st = in_.staticConfig->serversTransport;
  auto cachedDefault = caches_.transports.find("default@internal");
  if (cachedDefault != caches_.transports.end()) {
    transports_["default@internal"] = cachedDefault->second.second;
  } else {
    config::ForwardingTimeouts timeouts;
    timeouts.dialTimeout = st.forwardingTimeouts.dialTimeout;
    timeouts.responseHeaderTimeout = st.forwardingTimeouts.responseHeaderTimeout;
    timeouts.idleConnTimeout = st.forwardingTimeouts.idleConnTimeout;
    auto t = transportFrom("default@internal", timeouts, st.maxIdleConnsPerHost);
    std::string error;
    if (!configureTls(*t, st.rootCAs, {}, "", st.insecureSkipVerify, false, "", "", {}, error))
      runtime_.globalErrors.push_back("serversTransport: " + error);
    transports_["default@internal"] = t;
    caches_.transports["default@internal"] = {0, t};
  }
  for (const auto& [provider, config] : in_.providers) {
    for (const auto& [name, element] : config->http.serversTransports) {
      std::string qualified = qualify(name, provider);
      if (!element.ok()) {
        transportErrors_[qualified] = describeErrors(element.errors);
        continue;
      }
      auto cached = caches_.transports.find(qualified);
      if (cached != caches_.transports.end() && cached->second.first == element.fingerprint) {
        transports_[qualified] = cached->second.second;
        continue;
      }
      const config::ServersTransport& v = element.value;
      int maxIdle = v.maxIdleConnsPerHost == 0 ? 2 : v.maxIdleConnsPerHost;
      auto t = transportFrom(qualified, v.forwardingTimeouts, maxIdle);
      std::string error;
      if (!configureTls(*t, v.rootCAs, v.certificates, v.serverName, v.insecureSkipVerify, v.disableHTTP2,
                        v.minVersion, v.maxVersion, v.cipherSuites, error)) {
        transportErrors_[qualified] = error;
        continue;
      }
      transports_[qualified] = t;
      caches_.transports[qualified] = {element.fingerprint, t};
    }
  }
}

}  // namespace causeway::control
