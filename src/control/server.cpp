#include "control/server.h"

#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <thread>

#include "core/log.h"
#include "core/memory_budget.h"
#include "core/strings.h"

namespace causeway::control {
namespace {

config::ConfigError entryPointError(const std::string& name, std::string message) {
  config::ConfigError e;
  e.element = "entryPoints." + name;
  e.message = std::move(message);
  return e;
}

// "[host]:port[/tcp|/udp]" → endpoint. ":8080" means every address (dual-stack).
bool parseAddress(const std::string& name, std::string address, runtime::EntryPoint& ep,
                  std::vector<config::ConfigError>& errors, bool& udp) {
  udp = false;
  if (auto slash = address.rfind('/'); slash != std::string::npos) {
    std::string protocol = toLower(address.substr(slash + 1));
    if (protocol == "udp") udp = true;
    else if (protocol != "tcp") {
      errors.push_back(entryPointError(name, "invalid address \"" + address + "\": unknown protocol \"" +
                                                 protocol + "\"; expected tcp or udp"));
      return false;
    }
    address = address.substr(0, slash);
  }
  size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    errors.push_back(entryPointError(name, "invalid address \"" + address + "\"; expected [host]:port"));
    return false;
  }
  std::string host = address.substr(0, colon);
  std::string portText = address.substr(colon + 1);
  auto port = parseDecimal(portText);
  if (!port || *port > 65535) {
    errors.push_back(entryPointError(name, "invalid port in address \"" + address + "\""));
    return false;
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) {
    ep.endpoint = tcp::endpoint(tcp::v6(), uint16_t(*port));
    ep.dualStack = true;
    return true;
  }
  error_code ec;
  auto ip = asio::ip::make_address(host, ec);
  if (!ec) {
    ep.endpoint = tcp::endpoint(ip, uint16_t(*port));
    return true;
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &result) != 0 || !result) {
    errors.push_back(entryPointError(name, "cannot resolve host \"" + host + "\" in address \"" + address + "\""));
    return false;
  }
  tcp::endpoint resolved;
  std::memcpy(resolved.data(), result->ai_addr, result->ai_addrlen);
  freeaddrinfo(result);
  resolved.port(uint16_t(*port));
  ep.endpoint = resolved;
  return true;
}

// The open-file limit, raised to the hard limit first as Go (and so Traefik) does at start.
uint64_t openFileLimit() {
  static const uint64_t limit = [] {
    rlimit nofile{};
    if (getrlimit(RLIMIT_NOFILE, &nofile) != 0) return uint64_t(1024);
    if (nofile.rlim_cur < nofile.rlim_max) {
      rlimit raised = nofile;
      raised.rlim_cur = nofile.rlim_max;
      if (setrlimit(RLIMIT_NOFILE, &raised) == 0) nofile = raised;
    }
    return nofile.rlim_cur == RLIM_INFINITY ? uint64_t(1) << 20 : uint64_t(nofile.rlim_cur);
  }();
  return limit;
}

bool ipv6Available() {
  int fd = ::socket(AF_INET6, SOCK_STREAM, 0);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

}  // namespace

std::vector<runtime::EntryPoint> resolveEntryPoints(const config::StaticConfig& config,
                                           std::vector<config::ConfigError>& errors) {
  std::vector<runtime::EntryPoint> out;
  for (const auto& [name, cfg] : config.entryPoints) {
    runtime::EntryPoint ep;
    ep.name = name;
    ep.address = cfg.address;
    bool udp = false;
    if (!parseAddress(name, cfg.address, ep, errors, udp)) continue;
    if (udp) {
      ep.udp = true;
      ep.udpTimeout = cfg.udp.timeout.value;
      if (ep.udpTimeout <= std::chrono::nanoseconds(0)) {
        errors.push_back(entryPointError(name, "udp.timeout must be greater than 0"));
        continue;
      }
    }
    if (ep.dualStack && !ipv6Available()) {
      ep.endpoint = tcp::endpoint(tcp::v4(), ep.endpoint.port());
      ep.dualStack = false;
    }
    ep.reusePort = cfg.reusePort;
    ep.asDefault = cfg.asDefault;
    for (const auto& text : cfg.forwardedHeaders.trustedIPs) {
      if (auto network = net::IpNetwork::parse(text)) ep.trustedIPs.push_back(*network);
      else errors.push_back(entryPointError(name, "forwardedHeaders.trustedIPs: invalid IP or CIDR \"" + text + "\""));
    }
    ep.forwardedInsecure = cfg.forwardedHeaders.insecure;
    if (cfg.proxyProtocol) {
      ep.proxyProtocol = true;
      ep.proxyProtocolInsecure = cfg.proxyProtocol->insecure;
      for (const auto& text : cfg.proxyProtocol->trustedIPs) {
        if (auto network = net::IpNetwork::parse(text)) ep.proxyProtocolTrustedIPs.push_back(*network);
        else errors.push_back(entryPointError(name, "proxyProtocol.trustedIPs: invalid IP or CIDR \"" + text + "\""));
      }
    }
    ep.keepConnectionHeaders = cfg.forwardedHeaders.connection;
    ep.notAppendXForwardedFor = cfg.forwardedHeaders.notAppendXForwardedFor;
    ep.addXForwardedSchemeHeaders = cfg.forwardedHeaders.addXForwardedSchemeHeaders;
    const auto& timeouts = cfg.transport.respondingTimeouts;
    ep.readTimeout = timeouts.readTimeout.value;
    ep.writeTimeout = timeouts.writeTimeout.value;
    ep.idleTimeout = timeouts.idleTimeout.value;
    ep.requestAcceptGraceTimeout = cfg.transport.lifeCycle.requestAcceptGraceTimeout.value;
    ep.graceTimeout = cfg.transport.lifeCycle.graceTimeOut.value;
    ep.keepAliveMaxRequests = uint64_t(std::max(0, cfg.transport.keepAliveMaxRequests));
    ep.keepAliveMaxTime = cfg.transport.keepAliveMaxTime.value;
    ep.sendTimeout = timeouts.sendTimeout.value;
    // Derived cap: a proxied connection uses two descriptors (client and upstream); some are
    // kept for listeners, logs, providers and health checks.
    const uint64_t files = openFileLimit();
    ep.maxConnections = cfg.transport.maxConnections > 0   ? uint64_t(cfg.transport.maxConnections)
                        : cfg.transport.maxConnections < 0 ? 0
                                                           : std::max<uint64_t>(256, files > 256 ? (files - 128) / 2 : 128);
    ep.requestBodyPrefetchBytes = uint64_t(std::max<int64_t>(0, cfg.transport.requestBodyPrefetchBytes));
    // Go reads a head up to maxHeaderBytes plus 4 KiB ("bufio slop", http.Server's
    // initialReadLimitSize): the request line and headers a Traefik user sized to the limit pass.
    if (cfg.http.maxHeaderBytes > 0) ep.limits.maxHeadBytes = size_t(cfg.http.maxHeaderBytes) + 4096;
    ep.sanitizePath = cfg.http.sanitizePath;
    const auto& enc = cfg.http.encodedCharacters;
    ep.allowEncoded.slash = enc.allowEncodedSlash;
    ep.allowEncoded.backslash = enc.allowEncodedBackSlash;
    ep.allowEncoded.nul = enc.allowEncodedNullCharacter;
    ep.allowEncoded.semicolon = enc.allowEncodedSemicolon;
    ep.allowEncoded.percent = enc.allowEncodedPercent;
    ep.allowEncoded.questionMark = enc.allowEncodedQuestionMark;
    ep.allowEncoded.hash = enc.allowEncodedHash;
    ep.encodeQuerySemicolons = cfg.http.encodeQuerySemicolons;
    if (cfg.http.underscoreHeadersStrategy == "delete") ep.underscoreHeaders = runtime::EntryPoint::UnderscoreHeaders::Delete;
    else if (cfg.http.underscoreHeadersStrategy == "reject") ep.underscoreHeaders = runtime::EntryPoint::UnderscoreHeaders::Reject;
    for (const auto& middleware : cfg.http.middlewares) {
      if (middleware.find('@') == std::string::npos) {
        errors.push_back(entryPointError(name, "http.middlewares: \"" + middleware +
                                                   "\" must be fully qualified (name@provider)"));
        continue;
      }
      ep.defaultMiddlewares.push_back(middleware);
    }
    if (cfg.http.tls) {
      ep.defaultTls = true;
      ep.defaultTlsOptions = cfg.http.tls->options;
    }
    ep.http2MaxConcurrentStreams = uint32_t(std::max(1, cfg.http2.maxConcurrentStreams));
    ep.http2MaxDecoderHeaderTableSize = uint32_t(std::max(0, cfg.http2.maxDecoderHeaderTableSize));
    ep.http2MaxEncoderHeaderTableSize = uint32_t(std::max(0, cfg.http2.maxEncoderHeaderTableSize));
    if (cfg.http3) {
      if (ep.udp) {
        errors.push_back(entryPointError(name, "http3: a UDP entryPoint cannot serve HTTP/3 (it already has its UDP port)"));
      } else {
        ep.http3 = true;
        int advertised = cfg.http3->advertisedPort > 0 ? cfg.http3->advertisedPort : int(ep.endpoint.port());
        ep.altSvc = "h3=\":" + std::to_string(advertised) + "\"; ma=2592000";
      }
    }
    ep.index = out.size();
    out.push_back(std::move(ep));
  }
  return out;
}

Server::Server(const config::StaticConfig& config, std::vector<runtime::EntryPoint> entryPoints)
    : config_(config), entryPoints_(std::move(entryPoints)) {
  unsigned count = config.workers > 0 ? unsigned(config.workers) : std::thread::hardware_concurrency();
  if (count == 0) count = 1;
  requestHeadBudget().setLimit(size_t(config.limits.requestHeadMemory));
  for (unsigned i = 0; i < count; ++i) {
    workers_.push_back(std::make_unique<runtime::Worker>(i, snapshots_, observers_, entryPoints_.size()));
    listeners_.push_back(std::make_unique<downstream::Listener>(*workers_.back(), count));
  }
}

Server::~Server() {
  stop();
  for (int lock : portLocks_) ::close(lock);
}

bool Server::bind(std::string& error) {
  // SO_REUSEPORT lets our workers share a port, but would also let a second process share
  // it silently. Unless the user asked for reusePort: first take a per-port lock (an
  // abstract Unix socket, held for the life of the process, so two causeway processes
  // starting at the same moment cannot both pass), then probe with a plain bind, which
  // fails when any other program holds the port.
  for (const auto& ep : entryPoints_) {
    if (ep.reusePort) continue;
    int lock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string name = std::string(ep.udp ? "causeway-listen-udp-" : "causeway-listen-") +
                       ep.endpoint.address().to_string() + "-" + std::to_string(ep.endpoint.port());
    std::memcpy(address.sun_path + 1, name.data(), std::min(name.size(), sizeof(address.sun_path) - 2));
    socklen_t length = socklen_t(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (lock < 0 || ::bind(lock, reinterpret_cast<sockaddr*>(&address), length) != 0) {
      if (lock >= 0) ::close(lock);
      error = "entryPoint " + ep.name + ": cannot listen on " + ep.address +
              ": the port is in use by another causeway process";
      return false;
    }
    portLocks_.push_back(lock);
    try {
      asio::io_context probeContext;
      if (ep.udp) {
        asio::ip::udp::socket probe(probeContext);
        asio::ip::udp::endpoint endpoint(ep.endpoint.address(), ep.endpoint.port());
        probe.open(endpoint.protocol());
        if (endpoint.protocol() == asio::ip::udp::v6()) probe.set_option(asio::ip::v6_only(!ep.dualStack));
        probe.bind(endpoint);
        continue;
      }
      tcp::acceptor probe(probeContext);
      probe.open(ep.endpoint.protocol());
      probe.set_option(asio::socket_base::reuse_address(true));
      if (ep.endpoint.protocol() == tcp::v6()) probe.set_option(asio::ip::v6_only(!ep.dualStack));
      probe.bind(ep.endpoint);
    } catch (const boost::system::system_error& e) {
      error = "entryPoint " + ep.name + ": cannot listen on " + ep.address + ": " + e.code().message();
      return false;
    }
  }
  std::vector<const runtime::EntryPoint*> all;
  for (const auto& ep : entryPoints_) all.push_back(&ep);
  try {
    for (auto& listener : listeners_) listener->bind(all);
    // The QUIC sockets of one entryPoint pass each other the datagrams of the connections
    // they own (a client that migrated lands on another worker's socket).
    std::vector<std::vector<downstream::QuicListener*>> quic;
    for (auto& listener : listeners_) quic.push_back(listener->quicListeners());
    for (size_t i = 0; !quic.empty() && i < quic[0].size(); ++i) {
      std::vector<downstream::QuicListener*> peers;
      for (auto& perWorker : quic) peers.push_back(perWorker[i]);
      for (auto* listener : peers) listener->setPeers(peers);
    }
  } catch (const boost::system::system_error& e) {
    error = std::string("cannot listen: ") + e.code().message();
    return false;
  } catch (const std::exception& e) {
    error = std::string("cannot listen: ") + e.what();
    return false;
  }
  return true;
}

void Server::start() {
  for (auto& listener : listeners_) listener->start();
  for (auto& worker : workers_) worker->start();
}

void Server::stopAccepting() {
  for (auto& listener : listeners_) listener->close();
}

void Server::drain() {
  for (auto& worker : workers_) worker->drainConnections();
}

int64_t Server::openConnections(size_t entryPointIndex, bool quic) const {
  int64_t n = 0;
  for (const auto& worker : workers_) n += worker->openConnections(entryPointIndex, quic);
  return n;
}

size_t Server::activeConnections() const {
  size_t n = 0;
  for (const auto& worker : workers_) n += worker->activeConnections();
  return n;
}

void Server::stop() {
  for (auto& worker : workers_) worker->stop();
}

}  // namespace causeway::control
